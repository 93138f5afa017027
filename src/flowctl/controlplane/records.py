"""What the registry keeps about one registered service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flowctl._proto import flowctl as pb

from .attachment import Attachment, PeerInfo
from .run_note import RunNote
from .service_types import describe_service_type


@dataclass(frozen=True, eq=False)
class ServiceRecord:
    """One registration. Immutable: changes replace the record in storage.

    `info` is the message exactly as received (its service_id may be empty, unknown
    fields and nameless enum numbers are kept); `service_id` is the id in use.
    """

    service_id: str
    info: pb.ServiceInfo
    healthy: bool
    last_heartbeat: datetime  # server time, timezone-aware UTC
    metrics: Mapping[str, float] = field(default_factory=dict)
    attachment: Attachment | None = None
    peer: PeerInfo | None = None
    unattached_reason: str | None = None  # why `attachment` is None, when the attacher said
    # What the run says of its component (restarting, completed), when more than health;
    # set by the runner, kept in memory only (never stored in the registry file).
    run_note: RunNote | None = None

    @property
    def component_id(self) -> str | None:
        return self.attachment.component_id if self.attachment else None

    @property
    def service_type(self) -> str:
        """Proto name of the type, or its number as text when it has no name."""
        return describe_service_type(self.info.service_type)

    def satisfies(self, wanted_id: str) -> bool:
        """Whether this record stands for `wanted_id` (a component id) at the barrier."""
        if self.attachment is not None:
            return self.attachment.component_id == wanted_id
        return self.service_id == wanted_id

    def to_status(self) -> pb.ServiceStatus:
        return pb.ServiceStatus(
            service_id=self.service_id,
            # The enum member as received, so a number without a name is echoed as is.
            service_type=self.info.service_type,
            is_healthy=self.healthy,
            last_heartbeat=self.last_heartbeat,
            metrics=dict(self.metrics),
        )

    def describe(self) -> str:
        """One line for error messages: id, type, event types, metadata, and why it is
        attached to no component when that is known."""
        parts = [self.service_type]
        if self.info.input_event_types:
            parts.append("inputs: " + ", ".join(self.info.input_event_types))
        if self.info.output_event_types:
            parts.append("outputs: " + ", ".join(self.info.output_event_types))
        if self.info.metadata:
            pairs = ", ".join(f"{key}={value!r}" for key, value in self.info.metadata.items())
            parts.append(f"metadata: {pairs}")
        text = f"{self.service_id} ({'; '.join(parts)})"
        if self.attachment is None and self.unattached_reason:
            text += f": {self.unattached_reason}"
        return text
