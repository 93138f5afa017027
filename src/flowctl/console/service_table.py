"""The table `flowctl list` prints: one row per registered service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from flowctl._proto import flowctl as pb

HEADERS = ("SERVICE ID", "TYPE", "HEALTH", "LAST HEARTBEAT", "METRICS")
MAX_METRICS = 4


def service_type_label(value: int) -> str:
    """SOURCE, PROCESSOR, SINK, or the bare number for a type this build has no name for."""
    try:
        return pb.ServiceType(value).name or str(int(value))
    except ValueError:
        return str(int(value))


def heartbeat_age(last: datetime | None, now: datetime | None = None) -> str:
    if last is None or last.timestamp() <= 0:
        return "never"
    now = now or datetime.now(UTC)
    seconds = max(0.0, (now - last).total_seconds())
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m ago"
    return f"{seconds // 3600:.0f}h ago"


def format_metrics(metrics: dict[str, float]) -> str:
    shown = [f"{key}={value:g}" for key, value in sorted(metrics.items())[:MAX_METRICS]]
    if len(metrics) > MAX_METRICS:
        shown.append(f"(+{len(metrics) - MAX_METRICS} more)")
    return " ".join(shown)


def render_service_table(services: Sequence[pb.ServiceStatus]) -> str:
    if not services:
        return "no services registered"
    rows = [
        (
            service.service_id,
            service_type_label(service.service_type),
            "healthy" if service.is_healthy else "unhealthy",
            heartbeat_age(service.last_heartbeat),
            format_metrics(service.metrics),
        )
        for service in services
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [HEADERS, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
