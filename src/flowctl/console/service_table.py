"""The table `flowctl list` prints: one row per registered service, in the live view's
columns where a ServiceStatus can fill them. Imports no trio and no rich (list is quick)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from flowctl.console.status_rows import SERVICE_COLUMNS, StatusRow, service_row
from flowctl.console.text_table import Column, render_text_table
from flowctl.controlplane.service_types import SERVICE_TYPE_NAMES

if TYPE_CHECKING:
    from flowctl._proto import flowctl as pb
    from flowctl.controlplane.list_decoding import ListedService


def service_type_label(value: int) -> str:
    """source, processor, sink, or the bare number for a type this build has no name for."""
    name = SERVICE_TYPE_NAMES.get(int(value))
    return name.lower() if name else str(int(value))


def service_rows(
    services: Sequence[pb.ServiceStatus] | Sequence[ListedService], now: datetime | None = None
) -> list[StatusRow]:
    return [
        service_row(
            service.service_id,
            service_type_label(service.service_type),
            service.is_healthy,
            service.last_heartbeat,
            service.metrics,
            now,
        )
        for service in services
    ]


def render_service_table(
    services: Sequence[pb.ServiceStatus] | Sequence[ListedService],
    columns: Sequence[Column[StatusRow]] = SERVICE_COLUMNS,
) -> str:
    """`columns` lets a command add its own (with values from `StatusRow.extra`)."""
    if not services:
        return "no services registered"
    return render_text_table(service_rows(services), columns)
