"""Option types shared by the commands."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import Annotated, Any

from cyclopts import Parameter

from flowctl.durations import format_duration, parse_duration


def _to_seconds(type_: Any, tokens: Sequence[Any]) -> float:
    return parse_duration(tokens[0].value)


# A duration written like 500ms, 10s or 1m, held as seconds.
Duration = Annotated[
    float, Parameter(converter=_to_seconds, metavar="DURATION", show_default=format_duration)
]


# What stops `flowctl run` and `flowctl server` gracefully, with status 0.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
