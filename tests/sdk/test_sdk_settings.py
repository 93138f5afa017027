"""ComponentSettings.from_env: the FLOWCTL_* environment as flowctl (and users) write it."""

from __future__ import annotations

import pytest

from flowctl.sdk import ComponentSettings


def test_an_empty_environment_means_disabled_with_the_defaults() -> None:
    settings = ComponentSettings.from_env({})

    assert settings.enabled is False
    assert settings.endpoint == "localhost:8080"
    assert settings.heartbeat_interval == 10.0
    assert settings.service_id == ""
    assert settings.component_id == ""


def test_the_environment_flowctl_gives_a_component() -> None:
    settings = ComponentSettings.from_env(
        {
            "ENABLE_FLOWCTL": "true",
            "FLOWCTL_ENDPOINT": "127.0.0.1:41234",
            "FLOWCTL_HEARTBEAT_INTERVAL": "500ms",
            "FLOWCTL_SERVICE_ID": "ttp-processor",
            "FLOWCTL_COMPONENT_ID": "ttp-processor",
        }
    )

    assert settings.enabled is True
    assert (settings.host, settings.port) == ("127.0.0.1", 41234)
    assert settings.heartbeat_interval == 0.5
    assert settings.service_id == "ttp-processor"
    assert settings.component_id == "ttp-processor"


@pytest.mark.parametrize(
    ("text", "host", "port", "endpoint"),
    [
        ("localhost:8080", "localhost", 8080, "localhost:8080"),
        ("10.0.0.7:9090", "10.0.0.7", 9090, "10.0.0.7:9090"),
        ("http://localhost:8080", "localhost", 8080, "localhost:8080"),
        ("https://cp.example.org:443/", "cp.example.org", 443, "cp.example.org:443"),
        ("HTTP://cp:1", "cp", 1, "cp:1"),
        ("[::1]:8080", "::1", 8080, "[::1]:8080"),
        ("http://[::1]:8080", "::1", 8080, "[::1]:8080"),
        ("  localhost:8080  ", "localhost", 8080, "localhost:8080"),
        ("", "localhost", 8080, "localhost:8080"),
    ],
)
def test_endpoint_forms(text: str, host: str, port: int, endpoint: str) -> None:
    settings = ComponentSettings.from_env({"FLOWCTL_ENDPOINT": text})

    assert (settings.host, settings.port, settings.endpoint) == (host, port, endpoint)


@pytest.mark.parametrize(
    "text",
    ["localhost", "localhost:", ":8080", "localhost:http", "localhost:0", "localhost:70000",
     "::1:8080", "[::1]", "[::1]8080", "http://", "http://host:80/path"],
)  # fmt: skip
def test_bad_endpoints_name_the_variable_and_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="FLOWCTL_ENDPOINT") as caught:
        ComponentSettings.from_env({"FLOWCTL_ENDPOINT": text})

    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("500ms", 0.5), ("1m", 60.0), ("1m30s", 90.0), ("2", 2.0), ("", 10.0)],
)
def test_heartbeat_interval_is_a_go_duration(text: str, seconds: float) -> None:
    settings = ComponentSettings.from_env({"FLOWCTL_HEARTBEAT_INTERVAL": text})

    assert settings.heartbeat_interval == seconds


@pytest.mark.parametrize("text", ["often", "10 parsecs", "-1s", "0s", "0"])
def test_bad_heartbeat_intervals_name_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="FLOWCTL_HEARTBEAT_INTERVAL") as caught:
        ComponentSettings.from_env({"FLOWCTL_HEARTBEAT_INTERVAL": text})

    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("text", "enabled"),
    [("true", True), ("TRUE", True), ("1", True), ("false", False), ("False", False),
     ("0", False), ("", False)],
)  # fmt: skip
def test_enable_flowctl(text: str, enabled: bool) -> None:
    assert ComponentSettings.from_env({"ENABLE_FLOWCTL": text}).enabled is enabled


def test_a_bad_enable_flowctl_names_the_variable() -> None:
    with pytest.raises(ValueError, match=r"ENABLE_FLOWCTL='maybe': expected true or false"):
        ComponentSettings.from_env({"ENABLE_FLOWCTL": "maybe"})
