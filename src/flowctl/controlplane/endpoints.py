"""Control plane endpoints as users write them: `host:port`, `https://host:port`, `[::1]`.

No gRPC here: `flowctl list` reads its endpoint before it knows which client it needs.
"""

from __future__ import annotations

from flowctl.errors import UsageError

DEFAULT_PORT = 8080

_SCHEMES = ("http://", "https://", "grpc://", "dns:///")


def endpoint_wants_tls(endpoint: str) -> bool:
    """`https://host:port` asks for TLS."""
    return endpoint.strip().lower().startswith("https://")


def normalize_endpoint(endpoint: str) -> tuple[str, int]:
    """Split `host:port`, `http://host:port`, `[::1]:8080` or `host` (port 8080).

    Raises UsageError for something that is not an endpoint.
    """
    text = endpoint.strip()
    for scheme in _SCHEMES:
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.rstrip("/")
    if text.startswith("["):  # [IPv6]:port or [IPv6]
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"bad control plane endpoint {endpoint!r}: unclosed '['")
        port_text = rest[1:]
    elif text.count(":") > 1:  # a bare IPv6 address, no port
        host, port_text = text, ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise UsageError(f"bad control plane endpoint {endpoint!r}: no host")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"bad control plane endpoint {endpoint!r}: port {port_text!r}")
    return host, int(port_text)
