"""How one line looks: plain, coloured through rich, and as JSON."""

from __future__ import annotations

import io
import json
from datetime import datetime

import trio
from rich.console import Console

from flowctl.console.clean_text import plain_text
from flowctl.console.line_format import MAX_SHOWN, LineLayout, json_line
from flowctl.console.log_record import LogRecord
from flowctl.console.run_console import colour_allowed
from flowctl.console.writers import RichWriter

TIME = datetime(2025, 1, 2, 12, 4, 5, 120_000).astimezone()


def test_plain_lines_line_up_and_mark_stderr() -> None:
    layout = LineLayout(["src", "a-long-sink"])
    out = layout.plain(LogRecord(TIME, "INFO", "hello", "src", "stdout"))
    err = layout.plain(LogRecord(TIME, "INFO", "oops", "a-long-sink", "stderr"))
    own = layout.plain(LogRecord(TIME, "WARNING", "src is unhealthy", "src"))
    assert out == "12:04:05.120 src         | hello"
    assert err == "12:04:05.120 a-long-sink ! oops"
    assert own == "12:04:05.120 flowctl     | warning: src is unhealthy"


def test_component_text_is_shown_not_obeyed() -> None:
    assert plain_text("\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x08") == "red ok"
    assert plain_text("10%\r55%\r") == "55%"
    layout = LineLayout(["src"])
    long = layout.plain(LogRecord(TIME, "INFO", "y" * (MAX_SHOWN + 10), "src", "stdout"))
    assert long.endswith("y... (10 more characters in its log)")


def test_json_names_the_component_and_stream() -> None:
    record = json.loads(json_line(LogRecord(TIME, "INFO", "\x1b[1mhi\x1b[0m", "src", "stderr")))
    assert record == {
        "time": "2025-01-02T12:04:05.120" + TIME.strftime("%z")[:3] + ":" + TIME.strftime("%z")[3:],
        "level": "INFO",
        "message": "hi",
        "component": "src",
        "stream": "stderr",
    }
    own = json.loads(json_line(LogRecord(TIME, "INFO", "stopped")))
    assert "component" not in own and own["message"] == "stopped"


def test_colour_needs_a_terminal_and_no_no_color() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert colour_allowed(Tty(), True, {})
    assert not colour_allowed(Tty(), True, {"NO_COLOR": "1"})
    assert colour_allowed(Tty(), True, {"NO_COLOR": ""}), "empty NO_COLOR does not count"
    assert not colour_allowed(Tty(), False, {})
    assert not colour_allowed(io.StringIO(), True, {})


async def test_lines_written_between_checkpoints_are_printed_together() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    writer = RichWriter(LineLayout(["src"]), console)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        await trio.testing.wait_all_tasks_blocked()
        for number in range(3):
            writer.write(LogRecord(TIME, "INFO", f"line {number}", "src", "stdout"))
        assert out.getvalue() == "", "held until the writer's task runs"
        await trio.testing.wait_all_tasks_blocked()
        assert out.getvalue().count("line") == 3
        writer.write(LogRecord(TIME, "INFO", "last", "src", "stdout"))
        nursery.cancel_scope.cancel()
    assert "last" in out.getvalue(), "what is pending is printed on the way out"


def test_a_stray_registration_is_logged_with_the_reason_it_attached_to_nothing() -> None:
    from flowctl.console.event_log import describe_event
    from flowctl.events import ServiceRegistered

    line = describe_event(
        ServiceRegistered(
            service_id="SERVICE_TYPE_SOURCE-1",
            service_type="SERVICE_TYPE_SOURCE",
            component_id=None,
            attached_by=None,
            unattached_reason="registered from a process outside the pipeline",
        )
    )
    assert line is not None and line.level == "WARNING"
    assert line.text == (
        "registered SERVICE_TYPE_SOURCE-1 (SERVICE_TYPE_SOURCE), not part of this pipeline: "
        "registered from a process outside the pipeline"
    )
