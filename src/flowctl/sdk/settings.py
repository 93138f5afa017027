"""What a component learns from its environment: the FLOWCTL_* variables flowctl sets for it."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flowctl.controlplane.tls import ENV_NAMES, TlsFileError, client_context
from flowctl.durations import parse_duration

DEFAULT_ENDPOINT = "localhost:8080"
DEFAULT_HEARTBEAT_INTERVAL = 10.0
DEFAULT_REGISTRATION_TIMEOUT = 30.0

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
# Some users copy a URL where a gRPC target is expected; Go and Node dialers break on it,
# this client forgives it.
_URL_PREFIXES = ("http://", "https://")


@dataclass(frozen=True)
class ComponentSettings:
    """How (and whether) a component talks to its control plane."""

    enabled: bool = False
    host: str = "localhost"
    port: int = 8080
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    service_id: str = ""
    component_id: str = ""
    # Not an environment variable: how long registration keeps retrying before giving up.
    registration_timeout: float = DEFAULT_REGISTRATION_TIMEOUT
    # TLS: on with a CA to trust (FLOWCTL_TLS_CA_CERT) or an https:// endpoint (the
    # system's CAs); the client certificate and key for mutual TLS.
    tls: bool = False
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS client context to dial with, None for plain text. Raises TlsFileError
        naming the FLOWCTL_TLS_* variable whose file cannot be used."""
        if not self.tls:
            return None
        return client_context(
            self.tls_ca_file, self.tls_cert_file, self.tls_key_file, names=ENV_NAMES
        )

    @property
    def endpoint(self) -> str:
        """The control plane as a gRPC target, `host:port` (`[::1]:8080` for IPv6)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ComponentSettings:
        """Read ENABLE_FLOWCTL, FLOWCTL_ENDPOINT, FLOWCTL_HEARTBEAT_INTERVAL,
        FLOWCTL_SERVICE_ID, FLOWCTL_COMPONENT_ID and FLOWCTL_TLS_CA_CERT,
        FLOWCTL_TLS_CERT, FLOWCTL_TLS_KEY.

        Raises ValueError naming the variable and its value when one cannot be used (a
        TLS file is checked here: missing, not PEM, a key not matching, expired).
        """
        endpoint = environ.get("FLOWCTL_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
        host, port = parse_endpoint(endpoint, "FLOWCTL_ENDPOINT")
        cert_name, key_name, ca_name = ENV_NAMES
        ca_file, cert_file, key_file = (
            _path(environ, name) for name in (ca_name, cert_name, key_name)
        )
        if (cert_file is None) != (key_file is None):
            given, missing = (cert_name, key_name) if key_file is None else (key_name, cert_name)
            raise ValueError(f"{given} is set but {missing} is not: they go together")
        settings = cls(
            enabled=_parse_bool(environ.get("ENABLE_FLOWCTL", ""), "ENABLE_FLOWCTL"),
            host=host,
            port=port,
            heartbeat_interval=_parse_interval(
                environ.get("FLOWCTL_HEARTBEAT_INTERVAL", ""), "FLOWCTL_HEARTBEAT_INTERVAL"
            ),
            service_id=environ.get("FLOWCTL_SERVICE_ID", "").strip(),
            component_id=environ.get("FLOWCTL_COMPONENT_ID", "").strip(),
            tls=bool(ca_file or cert_file or endpoint.lower().startswith("https://")),
            tls_ca_file=ca_file,
            tls_cert_file=cert_file,
            tls_key_file=key_file,
        )
        try:
            settings.ssl_context()
        except TlsFileError as error:
            raise ValueError(str(error)) from None
        return settings


def _path(environ: Mapping[str, str], variable: str) -> Path | None:
    value = environ.get(variable, "").strip()
    return Path(value) if value else None


def parse_endpoint(text: str, variable: str = "endpoint") -> tuple[str, int]:
    """Split `host:port`, `[::1]:port` or `http(s)://host:port[/]` into (host, port)."""
    value = text.strip()
    for prefix in _URL_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    value = value.rstrip("/")
    expected = "expected host:port, e.g. localhost:8080 or [::1]:8080"
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ValueError(f"{variable}={text!r}: {expected}")
        port_text = rest[1:]
    else:
        host, colon, port_text = value.rpartition(":")
        if not colon or ":" in host:
            # No port at all, or an IPv6 address without brackets.
            raise ValueError(f"{variable}={text!r}: {expected}")
    if not host or "/" in host:
        raise ValueError(f"{variable}={text!r}: {expected}")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{variable}={text!r}: port must be a number from 1 to 65535")
    return host, int(port_text)


def _parse_bool(text: str, variable: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{variable}={text!r}: expected true or false")


def _parse_interval(text: str, variable: str) -> float:
    if not text.strip():
        return DEFAULT_HEARTBEAT_INTERVAL
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise ValueError(f"{variable}: {error}") from None
    if seconds <= 0:
        raise ValueError(f"{variable}={text!r}: must be longer than zero")
    return seconds
