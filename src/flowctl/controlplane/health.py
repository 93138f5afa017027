"""The standard gRPC health service (grpc.health.v1.Health), from grpclib.

Load balancers, `grpc_health_probe`, Kubernetes probes and grpcurl ask it whether the
server serves: the whole server (service "") and each of its services by name answer
SERVING while the control plane is up; another name is NOT_FOUND. It needs the protobuf
runtime, so it is imported only where the server is, never by `flowctl list`.
"""

from __future__ import annotations

from collections.abc import Iterable

from grpclib._typing import IServable
from grpclib.health.service import Health


def health_service(services: Iterable[IServable]) -> Health:
    # No checks: a service is SERVING for as long as the server that serves it is up.
    return Health({service: [] for service in services})
