"""What one client may send the control plane: every limit in one place.

Components are written by other teams, and some are careless (a heartbeat 175 times a
second) or worse. Each limit is checked before the work it bounds is done: a message's
size before it is read, counts and lengths before it is decoded, the registry's size
before anything is stored. The README's "Limits and security" section lists them; keep
the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    # The whole request, as grpc-go and grpcio limit what they receive by default.
    max_message_bytes: int = 4 * MIB
    # service_id, in ServiceInfo and ServiceHeartbeat: ids are names, not payloads.
    max_id_bytes: int = 256
    # Event type names, metadata keys, metric names, health_endpoint.
    max_name_bytes: int = 1 * KIB
    # input_event_types and output_event_types, each.
    max_event_types: int = 64
    max_metadata_entries: int = 64
    # Keys and values of all metadata entries together.
    max_metadata_bytes: int = 64 * KIB
    max_metrics: int = 256
    # Fields this revision of the proto has no name for: kept and echoed, so bounded.
    max_unknown_fields: int = 64
    # Registered services; re-registering an id that is stored is always allowed.
    max_services: int = 10_000


DEFAULT_LIMITS = Limits()

# Client text echoed in a status message or a log line is cut to this many characters:
# an unbounded echo costs the HPACK encoder (and the reader) more than it is worth.
ECHO_CHARS = 64


def clipped(text: str, limit: int = ECHO_CHARS) -> str:
    """`text` cut to `limit` characters, with the original length when it was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"
