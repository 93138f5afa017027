"""The run's word for each component, put on its registrations for `flowctl list`.

The live view learns that a component is restarting, or a job completed, from the run's
events; `flowctl list`, in another terminal, only sees the registry. This listener turns
the same events into a RunNote on the registrations attached to the component, which
flowctl.inspect serves: so both show `restarting (2/5) in 4s` and `completed`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flowctl.controlplane.registry import ServiceRegistry
from flowctl.controlplane.run_note import COMPLETED, RESTARTING, WAITING_TO_REGISTER, RunNote
from flowctl.events import ComponentCompleted, ComponentRestarting, ComponentStarted, Event

WallClock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RunNotes:
    """An EventBus listener (`events.listen(RunNotes(registry).apply)`): quick, never raises."""

    def __init__(self, registry: ServiceRegistry, clock: WallClock = _utc_now) -> None:
        self._registry = registry
        self._clock = clock
        # Components noted restarting: only their next start changes a note (a start looks
        # through every registration, so the others' starts are left alone).
        self._restarting: set[str] = set()

    def apply(self, event: Event) -> None:
        match event:
            case ComponentRestarting(component_id=cid):
                # The wall-clock time of the next start, not the delay: a list shown later
                # counts down from it, so its "in 4s" is never stale.
                due = self._clock() + timedelta(seconds=event.delay)
                note = RunNote(RESTARTING, event.attempt, event.max_restarts, due)
                self._restarting.add(cid)
                self._registry.note_run_state(cid, note)
            case ComponentStarted(component_id=cid) if cid in self._restarting:
                self._restarting.discard(cid)
                # Started again: the registrations still listed are the exited process's
                # until the new one registers, which replaces them and has no note (so a
                # registration quicker than this event keeps none: only_over).
                self._registry.note_run_state(
                    cid, RunNote(WAITING_TO_REGISTER), only_over=RESTARTING
                )
            case ComponentCompleted(component_id=cid):
                self._registry.note_run_state(cid, RunNote(COMPLETED))
