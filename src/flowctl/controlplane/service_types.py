"""Names of service types as the proto spells them, safe for numbers that have no name.

betterproto strips the enum prefix (`ServiceType.SOURCE`) and parses numbers from newer
revisions of the proto into nameless members, so every place that shows a type goes
through here instead of `.name`.
"""

from __future__ import annotations

_PREFIX = "SERVICE_TYPE_"
# flowctl.ServiceType, as control_plane.proto names it (written out, so that `flowctl list`
# need not import the generated messages; tests/controlplane/test_cp_hand_decoding.py
# checks it against them).
SERVICE_TYPE_NAMES = {0: "UNSPECIFIED", 1: "SOURCE", 2: "PROCESSOR", 3: "SINK"}


def service_type_name(value: int) -> str | None:
    """The proto name (`SERVICE_TYPE_SOURCE`), or None for a number without a name."""
    name = SERVICE_TYPE_NAMES.get(int(value))
    return f"{_PREFIX}{name}" if name else None


def describe_service_type(value: int) -> str:
    """The proto name, or the number as text when this revision has no name for it."""
    return service_type_name(value) or str(int(value))


def service_type_label(value: int) -> str:
    """A name usable in generated ids: the proto name or `SERVICE_TYPE_<number>`."""
    return service_type_name(value) or f"{_PREFIX}{int(value)}"
