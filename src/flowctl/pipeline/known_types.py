"""Component types the original flowctl knew, and the command each one runs by default."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

KNOWN_COMPONENT_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "stellar-live-source-datalake": ("./bin/stellar-live-source-datalake",),
        "ttp-processor": ("npm", "start", "--", "1234", "2345"),
        "consumer-app": ("./bin/consumer-app",),
    }
)
