"""The registration timeout's error: who never registered, and who was never started
because what it waits for had not registered."""

from __future__ import annotations

from collections.abc import Collection

from flowctl.controlplane import ServiceRegistry
from flowctl.errors import RegistrationTimeout
from flowctl.pipeline import Pipeline


def registration_timeout(
    pipeline: Pipeline,
    started: Collection[str],
    registry: ServiceRegistry,
    timeout: float,
    registering: Collection[str] | None = None,
) -> RegistrationTimeout:
    """The error for a start that ran out of time, e.g. "proc and sink were not started:
    waiting for src to register" when src started and never registered.

    Only started components are named as waited for: the one holding up a chain of
    dependents is the first one that is running and silent. `registering`: the components
    that must register (default: all).
    """
    ids = [component.id for component in pipeline.components]
    # Jobs need not register: only the others can be missing.
    missing = registry.missing([cid for cid in ids if registering is None or cid in registering])
    not_started = [c for c in pipeline.start_order() if c.id not in started]
    waiting_for = dict.fromkeys(
        other
        for component in not_started
        for other in component.waits_for
        if other in started and other in missing
    )
    return RegistrationTimeout(
        timeout,
        missing=missing,
        unattached=[record.describe() for record in registry.unattached(ids)],
        not_started=[component.id for component in not_started],
        waiting_for=list(waiting_for),
    )
