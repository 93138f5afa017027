"""The canonical proto3 JSON mapping of a ServiceList, written by hand.

betterproto's to_dict()/to_json() raise ValueError on an enum number without a name,
which clients built from other proto revisions do send, so this never calls them.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .service_types import describe_service_type, service_type_name

if TYPE_CHECKING:
    from flowctl._proto import flowctl as pb

    from .list_decoding import ListedService, ServiceListing

__all__ = ["describe_service_type", "service_list_to_dict", "service_list_to_json"]


def service_list_to_json(services: pb.ServiceList | ServiceListing) -> str:
    return json.dumps(service_list_to_dict(services), indent=2, allow_nan=False)


def service_list_to_dict(services: pb.ServiceList | ServiceListing) -> dict[str, Any]:
    # Every field is always present, defaults included, so jq filters can rely on them.
    return {"services": [_status_to_dict(status) for status in services.services]}


def _status_to_dict(status: pb.ServiceStatus | ListedService) -> dict[str, Any]:
    return {
        "serviceId": status.service_id,
        "serviceType": _enum_value(status.service_type),
        "isHealthy": status.is_healthy,
        "lastHeartbeat": _timestamp(status.last_heartbeat),
        "metrics": {key: _double(status.metrics[key]) for key in sorted(status.metrics)},
    }


def _enum_value(value: int) -> str | int:
    """The enum's name, or its number when this revision has no name for it."""
    return service_type_name(value) or int(value)


def _double(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, and 0, 3 or 6 fraction digits as proto3 JSON prints."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    micros = moment.microsecond
    if micros % 1_000_000 == 0:
        fraction = ""
    elif micros % 1_000 == 0:
        fraction = f".{micros // 1_000:03d}"
    else:
        fraction = f".{micros:06d}"
    return f"{text}{fraction}Z"
