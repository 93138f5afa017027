"""Everything `flowctl run` shows in its terminal, chosen once from where stdout goes.

- a terminal: coloured lines and the live status view (unless --no-status);
- anything else (CI, a pipe, a file): plain lines with no escape codes, state changes as
  lines, and a one-line summary every SUMMARY_INTERVAL;
- `--log-format json`: one JSON object per line, wherever stdout goes.

Given a StdoutBuffer as its stream, a slow reader holds component output back (each line
waits for room) and nothing else; see stdout_buffer.py.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal, TextIO, cast

import trio
from loguru import logger

from flowctl.console.component_status import PipelineStatus
from flowctl.console.event_log import describe_event
from flowctl.console.line_format import LineLayout, json_line
from flowctl.console.live_view import LiveStatusView
from flowctl.console.log_record import LogRecord
from flowctl.console.stdout_buffer import StdoutBuffer
from flowctl.console.terminal_modes import echoes_control_keys, is_terminal
from flowctl.console.writers import LineWriter, RichWriter, StreamWriter
from flowctl.events import ComponentExited, ComponentStopping, Event, HeartbeatReceived

SUMMARY_INTERVAL = 10.0


@dataclass(frozen=True)
class ConsoleOptions:
    log_format: Literal["text", "json"] = "text"
    colour: bool = True  # False for --no-color; NO_COLOR and a non-terminal also disable it
    status_view: bool = True  # False for --no-status
    summary_interval: float = SUMMARY_INTERVAL
    # False for `flowctl server`: registrations are then no stranger to any pipeline.
    pipeline: bool = True
    # Components meant to finish (`job: true`): their exit 0 is no error line.
    jobs: frozenset[str] = frozenset()


def colour_allowed(stream: TextIO, wanted: bool, env: Mapping[str, str] = os.environ) -> bool:
    # https://no-color.org: NO_COLOR set to anything but the empty string.
    return wanted and not env.get("NO_COLOR") and is_terminal(stream)


class RunConsole:
    """The status of every component, and the one writer every line goes through."""

    def __init__(
        self,
        components: Iterable[tuple[str, str]],
        options: ConsoleOptions = ConsoleOptions(),
        stream: TextIO | StdoutBuffer | None = None,
    ) -> None:
        components = list(components)
        output = stream if isinstance(stream, StdoutBuffer) else None
        # A StdoutBuffer is file-like enough for every writer and for rich's Console.
        stream = cast(TextIO, stream or sys.stdout)
        self._output = output
        self._stream = stream
        self._left_off = 0  # component lines not shown: the run was stopping, stdout full
        self.options = options
        self.status = PipelineStatus(components)
        self.layout = LineLayout(cid for cid, _ in components)
        colour = colour_allowed(stream, options.colour)
        self.live = options.log_format == "text" and options.status_view and is_terminal(stream)
        self._echoing = not self.live and echoes_control_keys(stream)
        self._view: LiveStatusView | None = None
        self.writer: LineWriter
        if options.log_format == "json":
            self.writer = StreamWriter(json_line, stream)
        elif colour or self.live:
            from rich.console import Console

            console = Console(
                file=stream, no_color=not colour, highlight=False, emoji=False, markup=False
            )
            self.writer = RichWriter(self.layout, console)
            if self.live:
                behind = (lambda: output.behind) if output is not None else (lambda: False)
                self._view = LiveStatusView(console, self.status, self.layout.palette, behind)
        else:
            self.writer = StreamWriter(self.layout.plain, stream)

    # -- lines in -------------------------------------------------------------------------

    def write(self, record: LogRecord) -> None:
        self.writer.write(record)

    async def component_line(self, component_id: str, stream: str, line: str) -> None:
        """The runner's output sink: one line a component printed. Waits while stdout's
        reader is too far behind: the component's pipe fills and it waits in turn."""
        if self._output is not None and not await self._output.wait_for_room():
            self._left_off += 1
            return
        now = datetime.now().astimezone()
        self.writer.write(LogRecord(now, "INFO", line, component_id, stream))

    # -- while trio runs ------------------------------------------------------------------

    async def run(
        self,
        events: trio.MemoryReceiveChannel[Event],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Follow the events, batch the lines, and draw the view or print summaries, until
        cancelled. Events still queued then are applied, so the final table is right."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.writer.run)
                if self._view is not None:
                    nursery.start_soon(self._view.run)
                elif self.options.summary_interval > 0:
                    nursery.start_soon(self._print_summaries)
                task_status.started()
                async for event in events:
                    self._apply(event)
        finally:
            while True:
                try:
                    self._apply(events.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                    break
            if self._left_off:
                logger.warning(
                    f"{self._left_off} lines of component output not shown: stdout was not "
                    "read while the run stopped (the log files have every line)"
                )
            self.writer.flush()

    def start_fresh_line(self) -> None:
        """Ctrl+C was pressed (SIGINT came): a terminal that echoes it left `^C` where the next
        line would start, so that line starts on a line of its own. The live view needs no
        help: its next redraw erases the echo with the table."""
        if not self._echoing:
            return
        self.writer.flush()
        with contextlib.suppress(BrokenPipeError, ValueError):
            self._stream.write("\n")
            self._stream.flush()

    def stop_waiting(self) -> None:
        """The run is stopping: component output no longer waits for a slow reader, so that
        every component's output can be drained to its log and the stop stays bounded."""
        if self._output is not None:
            self._output.stop_waiting()

    def heartbeat(self, event: HeartbeatReceived) -> None:
        """Take a heartbeat: `run`'s channel hands them over, or the EventBus calls this
        directly when the channel is empty (`EventBus.subscribe(heartbeats=...)`)."""
        self.status.apply(event)
        # One per heartbeat and shown with --log-level debug only: formatted only then.
        _HEARTBEAT_LOG.log("DEBUG", "{}", partial(_text, event))

    def _apply(self, event: Event) -> None:
        if isinstance(event, HeartbeatReceived):
            self.heartbeat(event)
            return
        self.status.apply(event)
        if isinstance(event, ComponentStopping | ComponentExited):
            self.stop_waiting()  # a stop, or a failure that will stop the run
        line = describe_event(
            event,
            in_pipeline=self.options.pipeline,
            jobs=self.options.jobs,
            completed=self.status.completed(),
        )
        if line is not None:
            logger.bind(component=line.component).log(line.level, line.text)
        if self._view is not None:
            self._view.changed()

    async def _print_summaries(self) -> None:
        while True:
            await trio.sleep(self.options.summary_interval)
            logger.info(self.status.summary())


# Bound once: a heartbeat's debug line is asked for at every heartbeat, and mostly dropped.
_HEARTBEAT_LOG = logger.opt(lazy=True).bind(component=None)


def _text(event: Event) -> str:
    line = describe_event(event)
    return line.text if line is not None else ""
