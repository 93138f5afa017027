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
    """Remote address of the TCP connection a registration arrived on."""

    host: str
    port: int


@dataclass(frozen=True)
class Attachment:
    """A registration attached to a pipeline component, and the rule that matched."""

    component_id: str
    how: str  # one of ATTACHED_BY


class Attacher(Protocol):
    def attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: AbstractSet[str]
    ) -> Attachment | None:
        """Return the component this registration belongs to, or None.

        `attached` holds the component ids already attached to some other registration,
        so that "a component that has not registered yet" can be decided.
        """
        ...
