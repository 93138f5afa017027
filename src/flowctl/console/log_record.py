"""One line flowctl writes: its own message or a line a component printed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FLOWCTL_NAME = "flowctl"  # the name column of flowctl's own lines


@dataclass(frozen=True, slots=True)
class LogRecord:
    time: datetime  # timezone-aware, local
    level: str  # loguru's level names: DEBUG, INFO, WARNING, ERROR
    message: str
    component: str | None = None  # the component concerned, if any
    stream: str | None = None  # "stdout" or "stderr" when a component printed it

    @property
    def source(self) -> str:
        """Who wrote it: the component for its own output, else flowctl."""
        if self.stream is not None and self.component is not None:
            return self.component
        return FLOWCTL_NAME
