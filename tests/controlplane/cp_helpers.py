"""Shared helpers for the control-plane tests (module name unique across tests/)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from trio_asyncio import aio_as_trio

from flowctl._proto import flowctl as pb
from flowctl.controlplane import Attachment, PeerInfo, open_stub

T = TypeVar("T")

START = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)


@dataclass
class SteppedClock:
    """A clock the test moves by hand, so janitor tests never sleep."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class MetadataAttacher:
    """Attaches by metadata["component_id"] among known components; remembers what it saw."""

    components: AbstractSet[str]
    seen: list[tuple[PeerInfo | None, frozenset[str]]] = field(default_factory=list)

    def attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: AbstractSet[str]
    ) -> Attachment | None:
        self.seen.append((peer, frozenset(attached)))
        component_id = info.metadata.get("component_id", "")
        if component_id in self.components:
            return Attachment(component_id, "by metadata")
        return None


def source_info(**fields: object) -> pb.ServiceInfo:
    defaults: dict[str, object] = {
        "service_type": pb.ServiceType.SOURCE,
        "output_event_types": ["ledger"],
    }
    return pb.ServiceInfo(**{**defaults, **fields})


async def call(endpoint: str, rpc: Callable[[pb.ControlPlaneStub], Awaitable[T]]) -> T:
    """Run one grpclib call (asyncio side) from trio, on a fresh channel."""

    async def on_asyncio() -> T:
        async with open_stub(endpoint) as stub:
            return await rpc(stub)

    return await aio_as_trio(on_asyncio)()
