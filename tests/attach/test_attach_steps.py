"""PipelineAttacher's four steps, their order, and why a registration stays unattached.

The /proc lookup is replaced by a fixed answer here (it is tested against real sockets in
test_attach_process_identity.py); what is under test is the order and the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flowctl._proto import flowctl as pb
from flowctl.controlplane import Attachment, NotAttached, PeerInfo
from flowctl.pipeline import load_pipeline
from flowctl.process_identity import (
    CannotTell,
    ConnectionOwner,
    NotDescendant,
    OwnedBy,
    ProcessLink,
)
from flowctl.runner.attach import PipelineAttacher
from flowctl.testing import write_pipeline

PEER = PeerInfo("127.0.0.1", 40001, server=("127.0.0.1", 8080), connection=11)
# Main pids of the running components (each leads its own session).
PIDS = {"left": 100, "right": 200, "proc": 300}


@dataclass
class Running:
    pid: int


@dataclass
class FixedLocator:
    """Answers every lookup with `owner`, and counts the lookups."""

    owner: ConnectionOwner
    asked: list[PeerInfo] = field(default_factory=list)

    def __call__(self, peer: PeerInfo) -> ConnectionOwner:
        self.asked.append(peer)
        return self.owner


def owned_by(*links: tuple[int, int, int]) -> OwnedBy:
    """(pid, ppid, session) of the socket's owner, then of its ancestors."""
    return OwnedBy(tuple(ProcessLink(pid, ppid, session) for pid, ppid, session in links))


# A grandchild of `proc`: node (301) <- sh (300, proc's main pid), in proc's session.
IN_PROC = owned_by((301, 300, 300), (300, 1, 300))
CANNOT_TELL = CannotTell("no /proc here")


def attacher_for(tmp_path: Path, owner: ConnectionOwner) -> tuple[PipelineAttacher, FixedLocator]:
    """Two sources declaring the same, and a processor."""
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {"id": "left", "command": ["x"], "output_event_types": ["ledger"]},
            {"id": "right", "command": ["x"], "output_event_types": ["ledger"]},
        ],
        processors=[
            {
                "id": "proc",
                "command": ["x"],
                "inputs": ["left", "right"],
                "inputEventTypes": ["ledger"],
                "outputEventTypes": ["trade"],
            }
        ],
    )
    locator = FixedLocator(owner)
    attacher = PipelineAttacher(load_pipeline(path), locate=locator)
    attacher.follow({cid: Running(pid) for cid, pid in PIDS.items()})
    return attacher, locator


def source(**fields: object) -> pb.ServiceInfo:
    return pb.ServiceInfo(
        service_type=pb.ServiceType.SOURCE, output_event_types=["ledger"], **fields
    )


def processor(**fields: object) -> pb.ServiceInfo:
    return pb.ServiceInfo(
        service_type=pb.ServiceType.PROCESSOR,
        input_event_types=["ledger"],
        output_event_types=["trade"],
        **fields,
    )


def test_by_id_comes_first_and_asks_no_process(tmp_path: Path) -> None:
    attacher, locator = attacher_for(tmp_path, IN_PROC)
    info = source(service_id="left", metadata={"component_id": "right"})
    assert attacher.attach(info, PEER, set()) == Attachment("left", "by id")
    assert locator.asked == []


def test_by_metadata_comes_before_the_process(tmp_path: Path) -> None:
    attacher, locator = attacher_for(tmp_path, IN_PROC)
    info = source(metadata={"component_id": "right"})
    assert attacher.attach(info, PEER, set()) == Attachment("right", "by metadata")
    assert locator.asked == []


def test_by_process_comes_before_the_declaration(tmp_path: Path) -> None:
    # It declares what only proc declares, but its process is in left's tree: process wins.
    attacher, _ = attacher_for(tmp_path, owned_by((101, 100, 100)))
    assert attacher.attach(processor(), PEER, set()) == Attachment("left", "by process")


def test_a_grandchild_attaches_to_the_component_of_its_ancestor(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, IN_PROC)
    assert attacher.attach(source(), PEER, set()) == Attachment("proc", "by process")


def test_an_unknown_service_id_still_goes_through_the_other_steps(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, IN_PROC)
    assert attacher.attach(processor(service_id="mine"), PEER, set()) == Attachment(
        "proc", "by process"
    )


def test_a_process_reparented_away_is_found_by_its_session(tmp_path: Path) -> None:
    # Its parent died; it now hangs off flowctl (a subreaper) but stays in right's session.
    attacher, _ = attacher_for(tmp_path, owned_by((250, 7, 200)))
    assert attacher.attach(source(), PEER, set()) == Attachment("right", "by process")


def test_by_declaration_when_the_process_cannot_be_told(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, CANNOT_TELL)
    assert attacher.attach(processor(), PEER, set()) == Attachment("proc", "by declaration")
    assert attacher.attach(processor(), None, set()) == Attachment("proc", "by declaration")


def test_two_candidates_by_declaration_stay_unattached_and_say_why(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, CANNOT_TELL)
    verdict = attacher.attach(source(), PEER, set())
    assert verdict == NotAttached(
        "matches 2 components by declaration: left, right (process unknown: no /proc here)"
    )


def test_one_candidate_left_by_declaration_is_attached(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, CANNOT_TELL)
    assert attacher.attach(source(), PEER, {"left"}) == Attachment("right", "by declaration")


def test_a_declaration_whose_components_all_registered_says_so(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, CANNOT_TELL)
    verdict = attacher.attach(source(), PEER, {"left", "right"})
    assert isinstance(verdict, NotAttached)
    assert verdict.reason.startswith("declares the same as left, right, already registered")


def test_a_declaration_nobody_makes_matches_nothing(tmp_path: Path) -> None:
    attacher, _ = attacher_for(tmp_path, CANNOT_TELL)
    verdict = attacher.attach(pb.ServiceInfo(service_type=pb.ServiceType.SINK), PEER, set())
    assert isinstance(verdict, NotAttached)
    assert verdict.reason.startswith("matches no component by id, metadata or declaration")


@pytest.mark.parametrize(
    ("owner", "why"),
    [
        (NotDescendant(), "registered from a process outside the pipeline"),
        (owned_by((999, 1, 999)), "registered by pid 999, part of no component"),
    ],
)
def test_a_known_outside_process_never_attaches_by_declaration(
    tmp_path: Path, owner: ConnectionOwner, why: str
) -> None:
    # Its declaration matches exactly one waiting component, and still it is not taken.
    attacher, _ = attacher_for(tmp_path, owner)
    assert attacher.attach(processor(), PEER, set()) == NotAttached(why)


def test_the_process_is_looked_up_once_per_connection(tmp_path: Path) -> None:
    attacher, locator = attacher_for(tmp_path, IN_PROC)
    attacher.attach(processor(), PEER, set())
    attacher.attach(processor(), PEER, {"proc"})  # the same connection registers again
    other = PeerInfo("127.0.0.1", 40002, server=("127.0.0.1", 8080), connection=12)
    attacher.attach(processor(), other, set())
    assert locator.asked == [PEER, other]


def test_a_component_started_after_the_lookup_is_still_found(tmp_path: Path) -> None:
    # The lineage is remembered per connection, the main pids are read at each call.
    attacher, _ = attacher_for(tmp_path, IN_PROC)
    attacher.follow({})
    assert isinstance(attacher.attach(source(), PEER, set()), NotAttached)
    attacher.follow({"proc": Running(300)})
    assert attacher.attach(source(), PEER, set()) == Attachment("proc", "by process")
