"""flowctl.inspect.Inspect: what the registry knows beyond the wire contract.

The contract's ServiceStatus has no field for attachment and must never get one, so
`flowctl list` asks this second service, served by the same server, for it. Its list is
served like ListServices: the request read within the limits, the answer from bytes
cached per record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import grpclib.const
from betterproto.lib.google.protobuf import Empty

from flowctl._proto.flowctl import inspect as pb_inspect

from . import wire_check
from .intake import receive_or_refuse
from .limits import DEFAULT_LIMITS, Limits
from .registry import ServiceRegistry
from .status_encoding import EncodedListCache, encode_attachment, encode_in_batches

if TYPE_CHECKING:
    from grpclib.server import Stream


class InspectService(pb_inspect.InspectBase):
    def __init__(self, registry: ServiceRegistry, limits: Limits = DEFAULT_LIMITS) -> None:
        self.registry = registry
        self.limits = limits
        self._attachments = EncodedListCache(encode_attachment)

    async def list_attachments(
        self, betterproto_lib_google_protobuf_empty: Empty
    ) -> pb_inspect.AttachmentList:
        return pb_inspect.AttachmentList().parse(await self.encoded_attachments())

    async def encoded_attachments(self) -> bytes:
        return await encode_in_batches(self._attachments, self.registry.listed())

    async def _rpc_list_attachments(self, stream: Stream[Empty, pb_inspect.AttachmentList]) -> None:
        await receive_or_refuse(stream, Empty, wire_check.EMPTY, self.limits)
        # Bytes, sent as they are by the server's PreEncodedProtoCodec.
        await stream.send_message(cast(pb_inspect.AttachmentList, await self.encoded_attachments()))

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        return {
            "/flowctl.inspect.Inspect/ListAttachments": grpclib.const.Handler(
                self._rpc_list_attachments,
                grpclib.const.Cardinality.UNARY_UNARY,
                Empty,
                pb_inspect.AttachmentList,
            ),
        }
