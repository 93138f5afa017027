"""The live status table at 60, 80 and 120 columns: what gives way first, and how."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from flowctl.console.component_status import PipelineStatus
from flowctl.console.live_view import status_table, table_width
from flowctl.console.palette import Palette
from flowctl.console.table_fit import shorten_metrics
from flowctl.events import ComponentStarted, HeartbeatReceived, ServiceRegistered

COMPONENTS = [
    ("stellar-live-source-datalake", "source"),
    ("ttp-processor", "processor"),
    ("consumer-app", "sink"),
]
METRICS = {"total_processed": 10, "ledgers_received": 56000002, "errors": 0, "beats": 3}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def running_pipeline(metrics: dict[str, float] | None = METRICS) -> PipelineStatus:
    clock = Clock()
    status = PipelineStatus(COMPONENTS, clock=clock)
    for number, (cid, _) in enumerate(COMPONENTS):
        status.apply(ComponentStarted(cid, 4_000_000 + number))
        status.apply(ServiceRegistered(cid, "SERVICE_TYPE_SOURCE", cid, "by id"))
        if metrics is not None:
            status.apply(HeartbeatReceived(cid, dict(metrics)))
    clock.now += 75  # an uptime of 1m15s, a heartbeat 1m15s ago
    return status


def drawn(status: PipelineStatus, columns: int) -> list[str]:
    console = Console(file=io.StringIO(), width=columns, color_system=None)
    console.print(
        status_table(status, Palette([cid for cid, _ in COMPONENTS]), table_width(columns))
    )
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def cells(lines: list[str]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The header, and each row as {header: cell}, cut at the header's column starts."""
    header_line = lines[1]
    headers = header_line.split()
    starts = [header_line.index(h) for h in headers]
    rows = {}
    for line in lines[3:]:
        values = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows[values[0]] = dict(zip(headers, values, strict=True))
    return headers, rows


@pytest.mark.parametrize(
    ("columns", "header", "metrics"),
    [
        (
            120,
            ["ID", "TYPE", "STATE", "PID", "UPTIME", "HEARTBEAT", "METRICS"],
            "total_processed=10 …",
        ),
        # A 28-character id and a 7-digit pid: TYPE, UPTIME and PID all make way.
        (80, ["ID", "STATE", "HEARTBEAT", "METRICS"], "total_processed=10 …"),
        # Then the metrics are cut inside their first item, marked.
        (60, ["ID", "STATE", "HEARTBEAT", "METRICS"], "total_p…"),
        # Then they go; ID, STATE and HEARTBEAT stay whole.
        (56, ["ID", "STATE", "HEARTBEAT"], None),
    ],
)
def test_the_metrics_give_way_first_then_type_uptime_pid(
    columns: int, header: list[str], metrics: str | None
) -> None:
    lines = drawn(running_pipeline(), columns)
    assert lines[0].startswith("3/3 healthy")
    headers, rows = cells(lines)
    assert headers == header
    assert set(rows) == {cid for cid, _ in COMPONENTS}, "no id is cut"
    for row in rows.values():
        assert row["STATE"] == "healthy"
        assert row["HEARTBEAT"] == "1m15s ago"
        assert row.get("METRICS") == metrics
    # Every line leaves room for the terminal's ^C echo.
    assert max(len(line) for line in lines) <= columns - 2


def test_wide_enough_everything_shows_whole() -> None:
    _, rows = cells(drawn(running_pipeline(), 160))
    assert rows["ttp-processor"] == {
        "ID": "ttp-processor",
        "TYPE": "processor",
        "STATE": "healthy",
        "PID": "4000001",
        "UPTIME": "1m15s",
        "HEARTBEAT": "1m15s ago",
        "METRICS": "total_processed=10 ledgers_received=56000002 errors=0 +1",
    }


def test_no_metrics_yet_takes_no_room_from_the_other_columns() -> None:
    headers, _ = cells(drawn(running_pipeline(metrics=None), 80))
    assert headers == ["ID", "TYPE", "STATE", "PID", "UPTIME", "HEARTBEAT"]


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (60, "total_processed=10 ledgers_received=56000002 errors=0 +1"),
        (50, "total_processed=10 ledgers_received=56000002 …"),
        (45, "total_processed=10 …"),  # never a number cut: 10 is not shown as 1
        (20, "total_processed=10 …"),
        (19, "total_processed=10…"),
        (8, "total_p…"),
        (0, ""),
    ],
)
def test_metrics_are_cut_at_whole_items_and_marked(width: int, shown: str) -> None:
    text = "total_processed=10 ledgers_received=56000002 errors=0 +1"
    assert shorten_metrics(text, width) == shown
