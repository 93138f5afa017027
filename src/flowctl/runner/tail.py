"""The last lines each component printed, for failure messages."""

from __future__ import annotations

from collections import deque


class OutputTail:
    def __init__(self, lines: int = 20) -> None:
        self._lines = lines
        self._tails: dict[str, deque[str]] = {}

    def add(self, component_id: str, line: str) -> None:
        tail = self._tails.get(component_id)
        if tail is None:
            tail = self._tails[component_id] = deque(maxlen=self._lines)
        tail.append(line)

    def last(self, component_id: str) -> list[str]:
        return list(self._tails.get(component_id, ()))
