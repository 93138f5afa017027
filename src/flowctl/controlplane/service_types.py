"""Names of service types as the proto spells them, safe for numbers that have no name.

betterproto strips the enum prefix (`ServiceType.SOURCE`) and parses numbers from newer
revisions of the proto into nameless members, so every place that shows a type goes
through here instead of `.name`.
"""

from __future__ import annotations

from flowctl._proto import flowctl as pb

_PREFIX = "SERVICE_TYPE_"


def service_type_name(value: int) -> str | None:
    """The proto name (`SERVICE_TYPE_SOURCE`), or None for a number without a name."""
    member = value if isinstance(value, pb.ServiceType) else pb.ServiceType.try_value(int(value))
    return f"{_PREFIX}{member.name}" if member.name else None


def describe_service_type(value: int) -> str:
    """The proto name, or the number as text when this revision has no name for it."""
    return service_type_name(value) or str(int(value))


def service_type_label(value: int) -> str:
    """A name usable in generated ids: the proto name or `SERVICE_TYPE_<number>`."""
    return service_type_name(value) or f"{_PREFIX}{int(value)}"
