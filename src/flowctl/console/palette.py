"""A stable colour per component: the same component has the same colour in every run."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

# Readable on dark and light backgrounds; red is kept for errors and stderr markers.
COLOURS = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_blue",
    "bright_yellow",
)


class Palette:
    """Components of the pipeline get distinct colours in declaration order (no clash in
    the first ten); any other name gets one from a hash of it, still stable."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._assigned = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}

    def colour(self, name: str) -> str:
        found = self._assigned.get(name)
        if found is None:
            found = COLOURS[zlib.crc32(name.encode()) % len(COLOURS)]
        return found
