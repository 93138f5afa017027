"""The words for a component waiting to be started again, shared by the live view and
`flowctl list`, so both say `restarting (2/5) in 4s`. Imports nothing heavy (list is quick).
"""

from __future__ import annotations

import math


def restarting_words(attempt: int, limit: int, seconds_left: float | None) -> str:
    """`restarting (2/5) in 4s`: which restart, of how many, and how long until it (whole
    seconds rounded up, as a countdown reads; under one, in tenths). Without a known time
    (`seconds_left` None), `restarting (2/5)`; without a count either, `restarting`."""
    words = f"restarting ({attempt}/{limit})" if limit > 0 else "restarting"
    if seconds_left is None:
        return words
    left = max(0.0, seconds_left)
    shown = f"{math.ceil(left)}s" if left >= 1 else f"{math.ceil(left * 10) / 10:g}s"
    return f"{words} in {shown}"
