"""Short human forms of durations, heartbeat ages and metrics, for tables and summaries."""

from __future__ import annotations

import math
from collections.abc import Mapping

# Substrings of metric names, most telling first: throughput, then trouble, then position.
TELLING = (
    "processed",
    "received",
    "sent",
    "events",
    "error",
    "fail",
    "lag",
    "latency",
    "rate",
    "ledger",
    "sequence",
    "count",
    "bytes",
)
SKIPPED = ("uptime",)  # the table has its own uptime


def count_of(count: int, noun: str) -> str:
    """`1 component`, `3 components`: a count with its noun (regular plurals only)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_duration(seconds: float) -> str:
    """45s, 3m05s, 2h03m."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_age(seconds: float | None) -> str:
    return "never" if seconds is None else f"{format_duration(seconds)} ago"


def format_number(value: float) -> str:
    if not math.isfinite(value):  # a component may send NaN or ±Infinity: said as such
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}" if abs(value) >= 1000 else f"{value:.2f}".rstrip("0").rstrip(".")


def _rank(key: str) -> tuple[int, str]:
    lowered = key.lower()
    for position, word in enumerate(TELLING):
        if word in lowered:
            return position, key
    return len(TELLING), key


def telling_metrics(metrics: Mapping[str, float], limit: int = 3) -> str:
    """The few metrics that say the most (throughput, errors), `key=value`, then a count of
    the rest."""
    keys = sorted((k for k in metrics if not any(s in k.lower() for s in SKIPPED)), key=_rank)
    shown = [f"{key}={format_number(metrics[key])}" for key in keys[:limit]]
    if len(keys) > limit:
        shown.append(f"+{len(keys) - limit}")
    return " ".join(shown)
