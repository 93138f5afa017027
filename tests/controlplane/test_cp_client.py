"""Endpoint parsing of the client helpers."""

from __future__ import annotations

import pytest

from flowctl.controlplane.client import normalize_endpoint
from flowctl.errors import UsageError


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("localhost:8080", ("localhost", 8080)),
        ("127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("http://127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("http://localhost:9001/", ("localhost", 9001)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::1]", ("::1", 8080)),
        ("::1", ("::1", 8080)),
        ("example.org", ("example.org", 8080)),
        (" localhost:7000 ", ("localhost", 7000)),
    ],
)
def test_endpoints_in_every_spelling(endpoint: str, expected: tuple[str, int]) -> None:
    assert normalize_endpoint(endpoint) == expected


@pytest.mark.parametrize("endpoint", ["", ":8080", "host:http", "host:70000", "[::1:8080"])
def test_bad_endpoints_are_usage_errors(endpoint: str) -> None:
    with pytest.raises(UsageError, match="bad control plane endpoint"):
        normalize_endpoint(endpoint)
