"""The --tls-* options of `flowctl server`, `run` and `list`: which combinations make
sense (a usage error, exit 2, otherwise). The files themselves are checked when they are
loaded (controlplane/tls.py: one line naming the file, exit 1)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flowctl.errors import UsageError

if TYPE_CHECKING:  # imports ssl: not for `flowctl list` without TLS
    from flowctl.controlplane.tls import ServerTls


def server_tls(
    cert: Path | None,
    key: Path | None,
    ca_cert: Path | None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
) -> ServerTls | None:
    """The server's TLS from its options, None without them; UsageError for a half pair."""
    check_pair(cert, key, "--tls-cert", "--tls-key")
    check_pair(client_cert, client_key, "--tls-client-cert", "--tls-client-key")
    if cert is None or key is None:
        for option, value in (("--tls-ca-cert", ca_cert), ("--tls-client-cert", client_cert)):
            if value is not None:
                raise UsageError(f"{option} needs --tls-cert and --tls-key: it adds to TLS")
        return None
    if client_cert is not None and ca_cert is None:
        raise UsageError(
            "--tls-client-cert is for mutual TLS: it needs --tls-ca-cert, the CA that signed it"
        )
    from flowctl.controlplane.tls import ServerTls

    return ServerTls(cert, key, ca_cert, client_cert, client_key)


def check_pair(cert: Path | None, key: Path | None, cert_option: str, key_option: str) -> None:
    """A certificate and its key are given together or not at all."""
    if (cert is None) != (key is None):
        given, missing = (cert_option, key_option) if key is None else (key_option, cert_option)
        raise UsageError(f"{given} needs {missing}: the certificate and its key go together")
