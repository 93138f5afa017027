"""proto3 JSON of a ServiceList, and type names for tables."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from flowctl._proto import flowctl as pb
from flowctl.controlplane.json_format import describe_service_type, service_list_to_json


def parse_type(number: int) -> pb.ServiceType:
    """A ServiceType as the wire delivers it, also for numbers without a name."""
    return pb.ServiceStatus().parse(bytes([0x10, number])).service_type


def test_every_field_is_printed_with_lower_camel_case_names() -> None:
    status = pb.ServiceStatus(
        service_id="src",
        service_type=pb.ServiceType.SOURCE,
        is_healthy=True,
        last_heartbeat=datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC),
        metrics={"total_processed": 12.0, "error_count": 0.0},
    )
    assert json.loads(service_list_to_json(pb.ServiceList(services=[status]))) == {
        "services": [
            {
                "serviceId": "src",
                "serviceType": "SERVICE_TYPE_SOURCE",
                "isHealthy": True,
                "lastHeartbeat": "2026-11-26T10:00:00.123456Z",
                "metrics": {"error_count": 0.0, "total_processed": 12.0},
            }
        ]
    }


def test_defaults_are_printed_too() -> None:
    printed = json.loads(service_list_to_json(pb.ServiceList(services=[pb.ServiceStatus()])))
    assert printed == {
        "services": [
            {
                "serviceId": "",
                "serviceType": "SERVICE_TYPE_UNSPECIFIED",
                "isHealthy": False,
                "lastHeartbeat": "1970-01-01T00:00:00Z",
                "metrics": {},
            }
        ]
    }
    assert json.loads(service_list_to_json(pb.ServiceList())) == {"services": []}


def test_an_enum_number_without_a_name_is_printed_as_the_number() -> None:
    status = pb.ServiceStatus(service_id="future", service_type=parse_type(7))
    [printed] = json.loads(service_list_to_json(pb.ServiceList(services=[status])))["services"]
    assert printed["serviceType"] == 7


def test_non_finite_doubles_are_strings() -> None:
    status = pb.ServiceStatus(metrics={"a": math.nan, "b": math.inf, "c": -math.inf})
    [printed] = json.loads(service_list_to_json(pb.ServiceList(services=[status])))["services"]
    assert printed["metrics"] == {"a": "NaN", "b": "Infinity", "c": "-Infinity"}


def test_timestamps_use_zero_three_or_six_fraction_digits_in_utc() -> None:
    def printed(moment: datetime) -> str:
        status = pb.ServiceStatus(last_heartbeat=moment)
        services = json.loads(service_list_to_json(pb.ServiceList(services=[status])))
        return services["services"][0]["lastHeartbeat"]

    assert printed(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert printed(datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)) == "2026-01-02T03:04:05.250Z"
    assert printed(datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC)) == "2026-01-02T03:04:05.000007Z"


def test_describe_service_type_gives_the_name_or_the_number() -> None:
    assert describe_service_type(pb.ServiceType.SINK) == "SERVICE_TYPE_SINK"
    assert describe_service_type(parse_type(7)) == "7"
    assert describe_service_type(2) == "SERVICE_TYPE_PROCESSOR"
    assert describe_service_type(42) == "42"
