"""The table `flowctl list` prints: one row per registered service, in the live view's
columns where a ServiceStatus can fill them. Imports no trio and no rich (list is quick)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flowctl._proto import flowctl as pb
from flowctl.console.status_rows import SERVICE_COLUMNS, StatusRow, service_row
from flowctl.console.text_table import Column, render_text_table


def service_type_label(value: int) -> str:
    """source, processor, sink, or the bare number for a type this build has no name for."""
    try:
        name = pb.ServiceType(value).name
    except ValueError:
        name = None
    return name.lower() if name else str(int(value))


def service_rows(
    services: Sequence[pb.ServiceStatus], now: datetime | None = None
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
    services: Sequence[pb.ServiceStatus],
    columns: Sequence[Column[StatusRow]] = SERVICE_COLUMNS,
) -> str:
    """`columns` lets a command add its own (with values from `StatusRow.extra`)."""
    if not services:
        return "no services registered"
    return render_text_table(service_rows(services), columns)
