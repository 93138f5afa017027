"""grpclib's protobuf codec, letting a handler send a reply it has already encoded.

ListServices answers with bytes cached per record (status_encoding.py); every other reply
is a betterproto message, encoded as grpclib always does.
"""

from __future__ import annotations

from typing import Any

from grpclib.encoding.proto import ProtoCodec


class PreEncodedProtoCodec(ProtoCodec):
    def encode(self, message: Any, message_type: Any) -> bytes:
        if isinstance(message, bytes):
            return message
        return super().encode(message, message_type)
