"""Durations written the Go way (`500ms`, `10s`, `1m30s`), as FLOWCTL_HEARTBEAT_INTERVAL
and the command-line options use them."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Return seconds for `500ms`, `10s`, `1m`, `1h2m3.5s`; a bare number means seconds.

    Raises ValueError with a message fit for a user.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value):
            raise ValueError(
                f"invalid duration '{text}' (write it like 500ms, 10s, 1m or 1m30s)"
            ) from None
    if seconds < 0:
        raise ValueError(f"invalid duration '{text}': must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """The inverse, in Go syntax: 0.5 -> '500ms', 10 -> '10s', 90 -> '1m30s'."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, secs = divmod(seconds, 60)
    secs_text = f"{secs:g}s" if secs else ""
    if minutes:
        return f"{int(minutes)}m{secs_text}"
    return secs_text
