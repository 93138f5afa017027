"""Option types shared by the commands, checked when the command line is read: a bad
value is a usage error (exit 2) naming the option, before anything starts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from cyclopts import Parameter

from flowctl.cli.early_signals import STOP_SIGNALS
from flowctl.durations import format_duration, parse_duration

__all__ = ["STOP_SIGNALS", "Duration", "Port", "PositiveDuration", "TlsFile"]

MAX_PORT = 65535


def _to_seconds(type_: Any, tokens: Sequence[Any]) -> float:
    return parse_duration(tokens[0].value)


def _to_positive_seconds(type_: Any, tokens: Sequence[Any]) -> float:
    seconds = parse_duration(tokens[0].value)
    if seconds <= 0:
        # 0 would make components flip between healthy and unhealthy, or a loop spin.
        raise ValueError(f"'{tokens[0].value}' must be more than 0 (e.g. 500ms, 10s)")
    return seconds


def _to_port(type_: Any, tokens: Sequence[Any]) -> int:
    text = tokens[0].value
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a port number (0 to {MAX_PORT})") from None
    if not 0 <= port <= MAX_PORT:
        raise ValueError(f"{port} is not a port number (0 to {MAX_PORT}; 0 picks a free one)")
    return port


# A duration written like 500ms, 10s or 1m, held as seconds; 0 allowed.
Duration = Annotated[
    float, Parameter(converter=_to_seconds, metavar="DURATION", show_default=format_duration)
]
# The same, for a period or a timeout that must be longer than nothing.
PositiveDuration = Annotated[
    float,
    Parameter(converter=_to_positive_seconds, metavar="DURATION", show_default=format_duration),
]
# A TCP port, 0 to 65535 (0: the system picks a free one).
Port = Annotated[int, Parameter(converter=_to_port, metavar="PORT")]
# A PEM file of TLS (certificate, key or CA); checked when loaded, naming the option.
TlsFile = Annotated[Path, Parameter(metavar="FILE")]
