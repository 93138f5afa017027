"""Dependency order over what components wait for (`inputs` and `depends_on`): start levels
and cycle finding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowctl.pipeline.model import Component


def start_levels(components: Sequence[Component]) -> list[list[Component]]:
    """Level 0 waits for nothing; level n has all it waits for in levels < n; declaration
    order within.

    Raises ValueError when some component can never start (a cycle or an unknown id),
    which a validated pipeline never has.
    """
    levels, stuck = _levels(components)
    if stuck:
        names = ", ".join(component.id for component in stuck)
        raise ValueError(f"these components wait for components that never start: {names}")
    return levels


def find_cycle(components: Sequence[Component]) -> list[Component] | None:
    """One cycle in start order (each one is waited for by the next, the last by the first).

    It starts at its earliest-declared member. Assumes every id waited for names a component.
    """
    _, stuck = _levels(components)
    if not stuck:
        return None
    # Every stuck component waits for one that is stuck too, so walking from one to the next
    # among them must come back to a component already seen: that loop is a cycle.
    stuck_by_id = {component.id: component for component in stuck}
    walk: list[Component] = []
    current = stuck[0]
    while current not in walk:
        walk.append(current)
        current = next(stuck_by_id[i] for i in current.waits_for if i in stuck_by_id)
    cycle = walk[walk.index(current) :]
    cycle.reverse()  # the walk goes against the start order
    first = min(cycle, key=components.index)
    at = cycle.index(first)
    return cycle[at:] + cycle[:at]


def _levels(components: Sequence[Component]) -> tuple[list[list[Component]], list[Component]]:
    """The start levels, and the components left over that can never start."""
    started: set[str] = set()
    waiting = list(components)
    levels: list[list[Component]] = []
    while waiting:
        level = [c for c in waiting if all(i in started for i in c.waits_for)]
        if not level:
            break
        levels.append(level)
        started.update(c.id for c in level)
        waiting = [c for c in waiting if c.id not in started]
    return levels, waiting
