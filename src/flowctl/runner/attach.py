"""Which pipeline component is this registration? (design.md, "Registration").

Steps, first match wins:
  1. `service_id` equals a component id (the component honoured FLOWCTL_SERVICE_ID);
  2. `metadata["component_id"]` equals a component id;
  3. the registering connection belongs to a process in a component's process tree, or,
     for a process that left every tree (a daemon), carrying this run's mark for a component
     in its environment (FLOWCTL_RUN_ID, orchestrator/run_tag.py);
  4. exactly one component that has not registered yet declares the same service type and
     event types.

Step 4 is a guess, so it is taken only when step 3 cannot tell (no /proc, a peer in another
network namespace): when step 3 knows the process and it belongs to no component (another
terminal, a test client), the registration stays unattached and never satisfies the
barrier. Every registration attached to nothing says why.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Set
from dataclasses import replace
from functools import partial
from typing import Protocol

from flowctl._proto import flowctl as pb
from flowctl.controlplane.attachment import Attachment, NotAttached, PeerInfo
from flowctl.orchestrator.run_tag import run_prefix
from flowctl.pipeline import Component, Pipeline
from flowctl.process_identity import (
    CannotTell,
    ConnectionOwner,
    NotDescendant,
    OwnedBy,
    find_connection_owner,
)

BY_ID = "by id"
BY_METADATA = "by metadata"
BY_PROCESS = "by process"
BY_DECLARATION = "by declaration"

# Connections whose owner is remembered; a registration normally comes once per connection,
# so this only bounds the memory of a client that reconnects over and over.
_REMEMBERED_CONNECTIONS = 1024

PeerLocator = Callable[[PeerInfo], ConnectionOwner]


class HasPid(Protocol):
    @property
    def pid(self) -> int: ...


def locate_peer(peer: PeerInfo, mark: bytes = b"") -> ConnectionOwner:
    """Step 3's question, asked of /proc among flowctl's own descendants, then among the
    processes carrying `mark` (this run's FLOWCTL_RUN_ID prefix; b"": none)."""
    return find_connection_owner((peer.host, peer.port), peer.server, mark=mark)


class PipelineAttacher:
    """Attaches registrations to the components of one pipeline.

    `run_id`: the run whose FLOWCTL_RUN_ID marks its components' processes; without it,
    step 3 goes by the process tree alone.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        run_id: str | None = None,
        locate: PeerLocator | None = None,
    ) -> None:
        self._components = {component.id: component for component in pipeline.components}
        mark = run_prefix(run_id) if run_id else b""
        self._locate = locate or partial(locate_peer, mark=mark)
        self._running: Mapping[str, HasPid] = {}
        self._owners: OrderedDict[PeerInfo, ConnectionOwner] = OrderedDict()
        # Components started again by their restart policy: a registration attached to one
        # replaces the earlier ones (one service per component), and step 4 may pick it
        # although its earlier registration is still listed.
        self._restarted: set[str] = set()

    def mark_restarted(self, component_id: str) -> None:
        self._restarted.add(component_id)

    def follow(self, running: Mapping[str, HasPid]) -> None:
        """Read each component's main pid from `running` (a live mapping, filled as
        components start); without it, step 3 finds no component."""
        self._running = running

    def attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: Set[str]
    ) -> Attachment | NotAttached:
        verdict = self._attach(info, peer, attached - self._restarted)
        if isinstance(verdict, Attachment) and verdict.component_id in self._restarted:
            return replace(verdict, replaces_earlier=True)
        return verdict

    def _attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: Set[str]
    ) -> Attachment | NotAttached:
        if info.service_id in self._components:
            return Attachment(info.service_id, BY_ID)
        claimed = info.metadata.get("component_id", "")
        if claimed in self._components:
            return Attachment(claimed, BY_METADATA)
        owner = self._owner_of(peer)
        match owner:
            case OwnedBy():
                component_id = self._component_of(owner)
                if component_id is not None:
                    return Attachment(component_id, BY_PROCESS)
                return NotAttached(f"registered by pid {owner.pid}, part of no component")
            case NotDescendant():
                return NotAttached("registered from a process outside the pipeline")
            case CannotTell(reason=why_unknown):
                return self._by_declaration(info, attached, why_unknown)

    # -- step 3 ---------------------------------------------------------------------------

    def _owner_of(self, peer: PeerInfo | None) -> ConnectionOwner:
        """The process behind the connection, looked up once per connection."""
        if peer is None:
            return CannotTell("the connection has no TCP peer address")
        owner = self._owners.get(peer)
        if owner is None:
            owner = self._owners[peer] = self._locate(peer)
            if len(self._owners) > _REMEMBERED_CONNECTIONS:
                self._owners.popitem(last=False)
        return owner

    def _component_of(self, owner: OwnedBy) -> str | None:
        """The component whose main process is the owner or one of its ancestors, or leads
        the session of one of them (a component leads its own session, so a descendant
        reparented away from it is still found). Failing that, the component named by this
        run's mark in the owner's environment: flowctl set it, so it is the process's
        identity too, and it survives setsid and a double fork."""
        by_pid = {running.pid: cid for cid, running in self._running.items() if running.pid}
        for link in owner.lineage:
            component_id = by_pid.get(link.pid) or by_pid.get(link.session)
            if component_id is not None:
                return component_id
        if owner.mark in self._components:
            return owner.mark
        return None

    # -- step 4 ---------------------------------------------------------------------------

    def _by_declaration(
        self, info: pb.ServiceInfo, attached: Set[str], why_unknown: str
    ) -> Attachment | NotAttached:
        declaring = [c.id for c in self._components.values() if _declares_same(c, info)]
        waiting = [component_id for component_id in declaring if component_id not in attached]
        if len(waiting) == 1:
            return Attachment(waiting[0], BY_DECLARATION)
        if waiting:
            reason = f"matches {len(waiting)} components by declaration: {', '.join(waiting)}"
        elif declaring:
            reason = f"declares the same as {', '.join(declaring)}, already registered"
        else:
            reason = "matches no component by id, metadata or declaration"
        return NotAttached(f"{reason} (process unknown: {why_unknown})")


def _declares_same(component: Component, info: pb.ServiceInfo) -> bool:
    # Compare enum numbers, so that a number with no name simply matches nothing.
    wanted_type = pb.ServiceType[component.role.name].value
    return (
        int(info.service_type) == wanted_type
        and set(info.input_event_types) == set(component.input_event_types)
        and set(info.output_event_types) == set(component.output_event_types)
    )
