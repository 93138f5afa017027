"""The control plane: service registry, gRPC service, embedded server and client.

Knows nothing of processes, terminals or the pipeline model; attachment of registrations
to pipeline components is injected through `Attacher`.

Names are imported lazily so that `flowctl.controlplane.client` and `.json_format`
(used by `flowctl list` and by components) do not pull in trio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Attacher": "attachment",
    "Attachment": "attachment",
    "NotAttached": "attachment",
    "PeerInfo": "attachment",
    "EmbeddedControlPlane": "embedded_server",
    "open_control_plane": "embedded_server",
    "ServiceRecord": "records",
    "ServiceNotFound": "registry",
    "ServiceRegistry": "registry",
    "topic_names": "registry",
    "ControlPlaneService": "service",
    "describe_service_type": "service_types",
    "service_type_name": "service_types",
    "SqliteStorage": "sqlite_storage",
    "InMemoryStorage": "storage",
    "Storage": "storage",
    "fetch_attachments": "client",
    "fetch_services": "client",
    "normalize_endpoint": "client",
    "open_stub": "client",
    "service_list_to_json": "json_format",
}

__all__ = [
    "Attacher",
    "Attachment",
    "ControlPlaneService",
    "EmbeddedControlPlane",
    "InMemoryStorage",
    "NotAttached",
    "PeerInfo",
    "ServiceNotFound",
    "ServiceRecord",
    "ServiceRegistry",
    "SqliteStorage",
    "Storage",
    "describe_service_type",
    "fetch_attachments",
    "fetch_services",
    "normalize_endpoint",
    "open_control_plane",
    "open_stub",
    "service_list_to_json",
    "service_type_name",
    "topic_names",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


if TYPE_CHECKING:
    from .attachment import Attacher, Attachment, NotAttached, PeerInfo
    from .client import fetch_attachments, fetch_services, normalize_endpoint, open_stub
    from .embedded_server import EmbeddedControlPlane, open_control_plane
    from .json_format import service_list_to_json
    from .records import ServiceRecord
    from .registry import ServiceNotFound, ServiceRegistry, topic_names
    from .service import ControlPlaneService
    from .service_types import describe_service_type, service_type_name
    from .sqlite_storage import SqliteStorage
    from .storage import InMemoryStorage, Storage
