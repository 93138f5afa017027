"""Turning typed errors into the one message a user reads (stderr), in one place."""

from __future__ import annotations

import contextlib
import sys

from flowctl.errors import ComponentFailed, FlowctlError


def report_error(error: FlowctlError) -> None:
    lines = [f"flowctl: error: {error.message}"]
    if isinstance(error, ComponentFailed):
        if error.last_lines:
            lines.append(f"last {len(error.last_lines)} lines from '{error.component_id}':")
            lines.extend(f"  {line}" for line in error.last_lines)
        else:
            lines.append(f"'{error.component_id}' printed nothing.")
        if error.log_path:
            lines.append(f"full output: {error.log_path}")
    with contextlib.suppress(BrokenPipeError, ValueError):
        print("\n".join(lines), file=sys.stderr, flush=True)
