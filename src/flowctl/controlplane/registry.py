"""The service registry: the contract's behaviour, the janitor and the registration wait.

Every mutation is synchronous (no await inside) because it runs from grpclib handlers on
the asyncio side of trio-asyncio; publishing events and waking waiters are synchronous
trio calls that are safe from there (same thread).
"""

from __future__ import annotations

import builtins  # `list` is also a method here: annotations below it use this one
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import trio

from flowctl._proto import flowctl as pb
from flowctl.errors import RegistryUnavailable
from flowctl.events import EventBus, HealthChanged, HeartbeatReceived, ServiceRegistered

from .attachment import Attacher, Attachment, NotAttached, PeerInfo
from .limits import DEFAULT_LIMITS, clipped
from .records import ServiceRecord
from .run_note import RunNote
from .service_types import service_type_label
from .storage import InMemoryStorage, Storage

Clock = Callable[[], datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Only these types publish topics, one per output event type (the original's rule).
_TYPES_WITH_TOPICS = (pb.ServiceType.SOURCE, pb.ServiceType.PROCESSOR)


class ServiceNotFound(LookupError):
    def __init__(self, service_id: str) -> None:
        self.service_id = service_id
        # The id is the client's: echoed only in part (it goes into a gRPC header).
        super().__init__(f"service {clipped(service_id)} not found")

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0])


class RegistryFull(Exception):
    """A registration of a new id when the registry holds `limit` services already."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"the control plane holds {limit} services, its limit: a new id is refused "
            "(registering again with an id it holds is still accepted)"
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


def topic_names(info: pb.ServiceInfo) -> list[str]:
    if info.service_type in _TYPES_WITH_TOPICS:
        return [f"{event_type}.v1" for event_type in info.output_event_types]
    return []


class ServiceRegistry:
    def __init__(
        self,
        *,
        heartbeat_ttl: float = 30.0,
        attacher: Attacher | None = None,
        events: EventBus | None = None,
        storage: Storage | None = None,
        clock: Clock = utc_now,
        max_services: int = DEFAULT_LIMITS.max_services,
        component_order: Sequence[str] = (),
    ) -> None:
        self.heartbeat_ttl = heartbeat_ttl
        self.max_services = max_services
        # Pipeline order: attached services are listed in it, the others after them.
        self._rank = {component_id: rank for rank, component_id in enumerate(component_order)}
        self._attacher = attacher
        self._events = events
        self._storage: Storage = storage if storage is not None else InMemoryStorage()
        self._clock = clock
        self._changed = trio.Event()

    # -- the contract ---------------------------------------------------------------

    def register(self, info: pb.ServiceInfo, peer: PeerInfo | None = None) -> ServiceRecord:
        """Store a registration (replacing one with the same id) and return its record.

        RegistryFull when it would add a service past `max_services`.
        """
        now = self._clock()
        if self._storage.count() >= self.max_services and (
            not info.service_id or self._storage.get(info.service_id) is None
        ):
            raise RegistryFull(self.max_services)
        with self._storage.transaction():
            verdict = self._attach(info, peer)
            attachment = verdict if isinstance(verdict, Attachment) else None
            if attachment is not None and attachment.replaces_earlier:
                self._drop_earlier(attachment.component_id, keep=info.service_id)
            record = ServiceRecord(
                service_id=info.service_id or self._assign_id(info, attachment, now),
                info=info,
                healthy=True,
                last_heartbeat=now,
                attachment=attachment,
                peer=peer,
                unattached_reason=verdict.reason if isinstance(verdict, NotAttached) else None,
            )
            self._storage.put(record)
        self._publish(
            ServiceRegistered(
                service_id=record.service_id,
                service_type=record.service_type,
                component_id=record.component_id,
                attached_by=attachment.how if attachment else None,
                unattached_reason=record.unattached_reason,
            )
        )
        self._notify()
        return record

    def heartbeat(self, service_id: str, metrics: Mapping[str, float]) -> ServiceRecord:
        """Replace the metrics and mark healthy; ServiceNotFound for an unknown id."""
        now = self._clock()
        with self._storage.transaction():
            previous = self.get(service_id)
            record = replace(previous, healthy=True, last_heartbeat=now, metrics=dict(metrics))
            self._storage.update(record)
        self._publish(HeartbeatReceived(service_id=service_id, metrics=dict(metrics)))
        if not previous.healthy:
            self._publish(
                HealthChanged(
                    service_id=service_id,
                    component_id=record.component_id,
                    healthy=True,
                    silent_for=_seconds_between(previous.last_heartbeat, now),
                )
            )
        self._notify()
        return record

    def get(self, service_id: str) -> ServiceRecord:
        record = self._storage.get(service_id)
        if record is None:
            raise ServiceNotFound(service_id)
        return record

    def list(self) -> list[ServiceRecord]:
        """Every record, in registration order."""
        return self._storage.list()

    def listed(self) -> builtins.list[ServiceRecord]:
        """Every record in the order `flowctl list` shows them, as the live view does: the
        services of the pipeline's components in pipeline order, then the others in
        registration order (a standalone server has no pipeline: registration order)."""
        records = self._storage.list()
        if not self._rank:
            return records
        last = len(self._rank)
        return sorted(records, key=lambda record: self._rank.get(record.component_id or "", last))

    # -- the janitor ----------------------------------------------------------------

    def mark_silent_unhealthy(self) -> builtins.list[ServiceRecord]:
        """Mark healthy services silent for longer than heartbeat_ttl unhealthy.

        Returns the records that changed. Services are kept: a later heartbeat revives them.
        """
        now = self._clock()
        changed: list[tuple[ServiceRecord, float]] = []
        for record in self._storage.list():
            silent_for = _seconds_between(record.last_heartbeat, now)
            if record.healthy and silent_for > self.heartbeat_ttl:
                changed.append((replace(record, healthy=False), silent_for))
        if not changed:
            return []
        try:
            with self._storage.transaction():
                for updated, _ in changed:
                    self._storage.update(updated)
        except RegistryUnavailable:
            # The file cannot be written (a full disk; the storage says so once). Health
            # is served from memory and recomputed after a restart: keep it there.
            for updated, _ in changed:
                self._storage.update_in_memory(updated)
        for record, silent_for in changed:
            self._publish(
                HealthChanged(
                    service_id=record.service_id,
                    component_id=record.component_id,
                    healthy=False,
                    silent_for=silent_for,
                )
            )
        if changed:
            self._notify()
        return [record for record, _ in changed]

    async def run_janitor(self, interval: float) -> NoReturn:
        while True:
            await trio.sleep(interval)
            self.mark_silent_unhealthy()

    # -- what the run says --------------------------------------------------------------

    def note_run_state(
        self, component_id: str, note: RunNote | None, *, only_over: str | None = None
    ) -> None:
        """Put the run's `note` (None: none) on the records attached to `component_id`,
        for flowctl.inspect; with `only_over`, on those whose note has that state only. A
        new registration starts without one. In memory only: the note is the run's."""
        for record in self._storage.list():
            if record.component_id != component_id or record.run_note == note:
                continue
            if only_over is None or (record.run_note and record.run_note.state == only_over):
                # A new record: the encodings cached per record see the change.
                self._storage.update_in_memory(replace(record, run_note=note))

    # -- waiting for registrations ----------------------------------------------------

    def attached_components(self) -> set[str]:
        """Component ids that some registration is attached to."""
        return {r.attachment.component_id for r in self.list() if r.attachment is not None}

    def missing(self, ids: Collection[str]) -> builtins.list[str]:
        """The wanted ids that no record stands for yet, in the order given."""
        records = self.list()
        return [wanted for wanted in ids if not any(r.satisfies(wanted) for r in records)]

    def unattached(self, ids: Collection[str] = ()) -> builtins.list[ServiceRecord]:
        """Records attached to no component (and not standing for one of `ids` by id)."""
        return [r for r in self.list() if r.attachment is None and r.service_id not in ids]

    async def wait_for(self, ids: Collection[str]) -> None:
        """Return once every id in `ids` has a record standing for it. Event-driven."""
        while self.missing(ids):
            await self._changed.wait()

    # -- internals ------------------------------------------------------------------

    def _attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None
    ) -> Attachment | NotAttached | None:
        if self._attacher is None:
            return None
        replaced = info.service_id  # a re-registration must not count against itself
        attached = {
            r.attachment.component_id
            for r in self._storage.list()
            if r.attachment is not None and r.service_id != replaced
        }
        return self._attacher.attach(info, peer, attached)

    def _drop_earlier(self, component_id: str, keep: str) -> None:
        """Forget the registrations attached to a restarted component, but the one with the
        id `keep` (replaced in place); the component id itself is freed for an anonymous one."""
        for record in self._storage.list():
            attached = record.attachment
            mine = attached is not None and attached.component_id == component_id
            if mine and record.service_id != keep:
                self._storage.delete(record.service_id)

    def _assign_id(self, info: pb.ServiceInfo, attachment: Attachment | None, now: datetime) -> str:
        if attachment is not None and self._storage.get(attachment.component_id) is None:
            return attachment.component_id
        # The original's `<SERVICE_TYPE name>-<unix nanos>`, bumped until unused.
        nanos = (now - _EPOCH) // timedelta(microseconds=1) * 1_000
        label = service_type_label(info.service_type)
        while self._storage.get(candidate := f"{label}-{nanos}") is not None:
            nanos += 1
        return candidate

    def _publish(self, event: ServiceRegistered | HeartbeatReceived | HealthChanged) -> None:
        if self._events is not None:
            self._events.publish(event)

    def _notify(self) -> None:
        # Wake every waiter, then arm a fresh event for the next change.
        changed, self._changed = self._changed, trio.Event()
        changed.set()


def _seconds_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds()
