"""Which pipeline component a registration belongs to.

The control plane knows nothing of pipelines: whoever runs one (the runner) injects an
`Attacher` that decides, and the registry only records the answer.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol

from flowctl._proto import flowctl as pb

ATTACHED_BY = ("by id", "by metadata", "by process", "by declaration")


@dataclass(frozen=True)
class PeerInfo:
    """The TCP connection a registration arrived on: the remote address, and what an
    attacher needs to recognise the connection again (attachment by process runs once per
    connection, not once per call)."""

    host: str
    port: int
    # The server's end of the connection, as (host, port): with the peer's address it names
    # exactly one socket on the peer's side.
    server: tuple[str, int] | None = None
    # Unique to this connection while it lives (the inode of the server's socket).
    connection: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A registration attached to a pipeline component, and the rule that matched."""

    component_id: str
    how: str  # one of ATTACHED_BY
    # The component was started again (a restart): this registration replaces whatever
    # was attached to it before, so it stays one service.
    replaces_earlier: bool = False


@dataclass(frozen=True)
class NotAttached:
    """A registration attached to no component, and why: shown in logs, `flowctl list` and
    the barrier's timeout message, e.g. "matches 2 components by declaration: a, b"."""

    reason: str


class Attacher(Protocol):
    def attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: AbstractSet[str]
    ) -> Attachment | NotAttached | None:
        """Return the component this registration belongs to, or why there is none.

        `attached` holds the component ids already attached to some other registration,
        so that "a component that has not registered yet" can be decided.
        """
        ...
