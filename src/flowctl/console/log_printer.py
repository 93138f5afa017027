"""Aggregated, prefixed component output in one terminal, as honcho and compose print it.

stellar-live-source-datalake | processed ledger 1200
ttp-processor                | ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

FLOWCTL_PREFIX = "flowctl"


class LogPrinter:
    """Writes each line with its source's name, padded so that the columns line up."""

    def __init__(self, names: Iterable[str] = (), stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._width = max((len(name) for name in [FLOWCTL_PREFIX, *names]), default=0)

    def prefix(self, name: str) -> str:
        return f"{name:<{self._width}} | "

    async def component_line(self, component_id: str, stream: str, line: str) -> None:
        self.write(component_id, line)

    def write(self, name: str, line: str) -> None:
        try:
            self._stream.write(self.prefix(name) + line + "\n")
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            # The reader went away (`flowctl run | head`); the log files still have it all.
            pass
