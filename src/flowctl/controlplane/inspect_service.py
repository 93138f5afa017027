"""flowctl.inspect.Inspect: what the registry knows beyond the wire contract.

The contract's ServiceStatus has no field for attachment and must never get one, so
`flowctl list` asks this second service, served by the same server, for it.
"""

from __future__ import annotations

from betterproto.lib.google.protobuf import Empty

from flowctl._proto.flowctl import inspect as pb_inspect

from .records import ServiceRecord
from .registry import ServiceRegistry


class InspectService(pb_inspect.InspectBase):
    def __init__(self, registry: ServiceRegistry) -> None:
        self.registry = registry

    async def list_attachments(
        self, betterproto_lib_google_protobuf_empty: Empty
    ) -> pb_inspect.AttachmentList:
        return pb_inspect.AttachmentList(
            attachments=[attachment_of(record) for record in self.registry.list()]
        )


def attachment_of(record: ServiceRecord) -> pb_inspect.ServiceAttachment:
    attachment = record.attachment
    return pb_inspect.ServiceAttachment(
        service_id=record.service_id,
        component_id=attachment.component_id if attachment else "",
        attached_by=attachment.how if attachment else "",
        unattached_reason=record.unattached_reason or "",
    )
