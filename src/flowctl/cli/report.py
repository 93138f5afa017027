"""Turning typed errors into the one message a user reads (stderr), in one place.

After a failed run the message names the component and the cause, repeats the last lines
it printed, and ends with a short table of every component's final state.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flowctl.console.clean_text import plain_text
from flowctl.console.figures import count_of
from flowctl.console.status_rows import HEARTBEAT, ID, STATE, TYPE, UPTIME, StatusRow
from flowctl.console.text_table import render_text_table
from flowctl.errors import ComponentFailed, FlowctlError

FINAL_COLUMNS = (ID, TYPE, STATE, UPTIME, HEARTBEAT)


def report_error(
    error: FlowctlError, final_states: Sequence[StatusRow] = (), log_format: str = "text"
) -> None:
    if log_format == "json":
        text = json.dumps(_error_object(error, final_states), ensure_ascii=False)
    else:
        text = "\n".join(_error_lines(error, final_states))
    with contextlib.suppress(BrokenPipeError, ValueError):
        print(text, file=sys.stderr, flush=True)


def report_notice(message: str, log_format: str = "text") -> None:
    """One line on stderr that is not an error (e.g. the reader of stdout went away)."""
    if log_format == "json":
        text = json.dumps(
            {"time": _now(), "level": "WARNING", "message": message}, ensure_ascii=False
        )
    else:
        text = f"flowctl: {message}"
    with contextlib.suppress(BrokenPipeError, ValueError):  # stderr may have gone too
        print(text, file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _error_lines(error: FlowctlError, final_states: Sequence[StatusRow]) -> list[str]:
    lines = [f"flowctl: error: {error.message}"]
    if isinstance(error, ComponentFailed):
        if error.last_lines:
            last = count_of(len(error.last_lines), "line")
            lines.append(f"last {last} from '{error.component_id}':")
            # Shown, not obeyed: a stray escape sequence must not eat the message.
            lines.extend(f"  {plain_text(line)}" for line in error.last_lines)
        else:
            lines.append(f"'{error.component_id}' printed nothing.")
        if error.log_path:
            lines.append(f"full output: {error.log_path}")
    if final_states:
        lines.append("final state of each component:")
        table = render_text_table(final_states, FINAL_COLUMNS)
        lines.extend(f"  {line}" for line in table.splitlines())
    return lines


def _error_object(error: FlowctlError, final_states: Sequence[StatusRow]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "time": _now(),
        "level": "ERROR",
        "message": error.message,
    }
    if isinstance(error, ComponentFailed):
        data.update(
            component=error.component_id,
            cause=error.cause,
            last_lines=[plain_text(line) for line in error.last_lines],
            log_path=error.log_path,
        )
    if final_states:
        data["components"] = [
            {"id": row.id, "type": row.type, "state": row.state, "uptime": row.uptime}
            for row in final_states
        ]
    return data
