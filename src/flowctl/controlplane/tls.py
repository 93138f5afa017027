"""TLS for the control plane: the PEM files a user names, checked and loaded into
`ssl.SSLContext`s for the server and for its clients (`flowctl list`, flowctl.sdk).

Standard library only: `flowctl list` and components import it without trio.

Every problem with a file is one TlsFileError naming the file, where it was given
(`--tls-cert`, `FLOWCTL_TLS_KEY`...) and the cause, raised before anything listens or
dials. OpenSSL's own words (`[SSL] PEM lib (_ssl.c:3900)`) name neither.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from flowctl.errors import FlowctlError

# gRPC is HTTP/2: grpcio and grpc-go refuse a TLS server that does not agree on "h2" by ALPN.
ALPN_PROTOCOLS = ["h2"]


class TlsFileError(FlowctlError):
    """A TLS file that cannot be used: names the file, where it was given, and why."""

    def __init__(self, given_as: str, path: Path | str, problem: str) -> None:
        self.given_as = given_as
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{given_as} {path}: {problem}")


@dataclass(frozen=True)
class ServerTls:
    """The control plane's TLS: its certificate and key; with `client_ca_file`, mutual TLS
    (only clients with a certificate signed by that CA get through the handshake).

    `client_cert_file` and `client_key_file` are not the server's: `flowctl run` hands
    them to its components (FLOWCTL_TLS_CERT, FLOWCTL_TLS_KEY) for mutual TLS.
    """

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A server context, after checking every file (TlsFileError names the bad one)."""
        context = server_context(self.cert_file, self.key_file, self.client_ca_file)
        if self.client_cert_file is not None and self.client_key_file is not None:
            # Checked now, so that a bad file stops the run before any component starts.
            client_context(
                self.client_ca_file or self.cert_file,
                self.client_cert_file,
                self.client_key_file,
                names=("--tls-client-cert", "--tls-client-key", "--tls-ca-cert"),
            )
        return context

    @property
    def trust_anchor(self) -> Path:
        """What a client of this server trusts: the CA given for mutual TLS (one team CA
        signs the server's and the clients' certificates), else the server's certificate
        itself (right for a self-signed one; flowctl's clients also accept it as a pin)."""
        return self.client_ca_file or self.cert_file


# Where each file was given, for messages: (certificate, key, CA).
CLI_NAMES = ("--tls-cert", "--tls-key", "--tls-ca-cert")
ENV_NAMES = ("FLOWCTL_TLS_CERT", "FLOWCTL_TLS_KEY", "FLOWCTL_TLS_CA_CERT")


def server_context(
    cert_file: Path, key_file: Path, client_ca_file: Path | None = None
) -> ssl.SSLContext:
    """TLS 1.2+, ALPN h2; with `client_ca_file` a client certificate from that CA is
    required during the handshake."""
    cert_name, key_name, ca_name = CLI_NAMES
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN_PROTOCOLS)
    _load_pair(context, cert_file, key_file, cert_name, key_name)
    _check_dates(cert_file, key_file, cert_name, for_client=False)
    if client_ca_file is not None:
        _load_trust(context, client_ca_file, ca_name)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    *,
    names: tuple[str, str, str] = CLI_NAMES,
) -> ssl.SSLContext:
    """A client context: the server's certificate must chain to `ca_file` (or be that very
    certificate: a pinned self-signed or leaf certificate is accepted), or to the system's
    CAs when None; with `cert_file` and `key_file`, the certificate shown for mutual TLS."""
    cert_name, key_name, ca_name = names
    if ca_file is None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks the host name
        _load_trust(context, ca_file, ca_name)
        # A certificate in the trust file is an anchor even when it is not a CA's: the
        # server's own certificate can be given as what to trust (flowctl run does so).
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN_PROTOCOLS)
    if cert_file is not None and key_file is not None:
        _load_pair(context, cert_file, key_file, cert_name, key_name)
        _check_dates(cert_file, key_file, cert_name, for_client=True)
    return context


_CERT_MARK = "-----BEGIN CERTIFICATE-----"
_KEY_MARKS = ("PRIVATE KEY-----",)


def _read_pem(path: Path, given_as: str, what: str, marks: tuple[str, ...]) -> str:
    """The file's text, or TlsFileError: missing, a folder, unreadable, not PEM."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise TlsFileError(given_as, path, "no such file") from None
    except IsADirectoryError:
        raise TlsFileError(given_as, path, "is a folder, not a file") from None
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise TlsFileError(given_as, path, f"cannot be read ({reason.lower()})") from None
    text = data.decode("ascii", errors="replace")
    if not any(mark in text for mark in marks):
        raise TlsFileError(given_as, path, f"not a PEM {what} (no {marks[0].strip('-')} block)")
    return text


def _load_pair(
    context: ssl.SSLContext, cert_file: Path, key_file: Path, cert_name: str, key_name: str
) -> None:
    _read_pem(cert_file, cert_name, "certificate", (_CERT_MARK,))
    key_text = _read_pem(key_file, key_name, "private key", _KEY_MARKS)
    if "ENCRYPTED" in key_text:
        raise TlsFileError(key_name, key_file, "the key is encrypted; flowctl needs it unencrypted")

    def no_password() -> str:
        # Without this, OpenSSL would ask on the terminal.
        raise TlsFileError(key_name, key_file, "the key is encrypted; flowctl needs it unencrypted")

    try:
        context.load_cert_chain(cert_file, key_file, password=no_password)
    except ssl.SSLError as error:
        reason = error.reason or ""
        if reason == "KEY_VALUES_MISMATCH":
            raise TlsFileError(
                key_name, key_file, f"does not match the certificate in {cert_file}"
            ) from None
        if _is_cert_problem(cert_file, reason):
            raise TlsFileError(cert_name, cert_file, "not a valid PEM certificate") from None
        raise TlsFileError(key_name, key_file, "not a valid PEM private key") from None


def _is_cert_problem(cert_file: Path, reason: str) -> bool:
    """After load_cert_chain failed without a clear reason: is the certificate the bad one?"""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=str(cert_file))
    except ssl.SSLError:
        return True
    return False


def _load_trust(context: ssl.SSLContext, ca_file: Path, given_as: str) -> None:
    _read_pem(ca_file, given_as, "certificate", (_CERT_MARK,))
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except ssl.SSLError:
        raise TlsFileError(given_as, ca_file, "not a valid PEM certificate") from None


def _check_dates(cert_file: Path, key_file: Path, given_as: str, *, for_client: bool) -> None:
    """TlsFileError when the certificate has expired (or is not valid yet).

    The standard library cannot read a certificate's dates, but OpenSSL checks them when
    it verifies one: a handshake in memory where the other side trusts this very
    certificate, for the purpose it is meant for (server or client), fails on its dates
    or on nothing. Other verification errors are not the file's alone, and are left to
    the real handshakes.
    """
    holder, checker = _pinning_pair(cert_file, key_file, for_client=for_client)
    error = _memory_handshake(
        client=holder if for_client else checker, server=checker if for_client else holder
    )
    if error is None:
        return
    if error.verify_code == _X509_V_ERR_CERT_HAS_EXPIRED:
        raise TlsFileError(given_as, cert_file, "the certificate has expired")
    if error.verify_code == _X509_V_ERR_CERT_NOT_YET_VALID:
        raise TlsFileError(given_as, cert_file, "the certificate is not valid yet")


def _pinning_pair(
    cert_file: Path, key_file: Path, *, for_client: bool
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(the side showing the certificate, the side verifying it against itself)."""
    holder = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT if for_client else ssl.PROTOCOL_TLS_SERVER)
    holder.check_hostname = False
    holder.verify_mode = ssl.CERT_NONE
    holder.load_cert_chain(cert_file, key_file)
    checker = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if for_client else ssl.PROTOCOL_TLS_CLIENT)
    checker.check_hostname = False
    checker.verify_mode = ssl.CERT_REQUIRED
    checker.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    checker.load_verify_locations(cafile=str(cert_file))
    if for_client:
        checker.load_cert_chain(cert_file, key_file)  # a server needs some certificate
    return holder, checker


_X509_V_ERR_CERT_NOT_YET_VALID = 9
_X509_V_ERR_CERT_HAS_EXPIRED = 10


def _memory_handshake(
    client: ssl.SSLContext, server: ssl.SSLContext
) -> ssl.SSLCertVerificationError | None:
    """A TLS handshake between two contexts in memory: the verification error, if any."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(to_client, to_server, server_side=False)
    server_side = server.wrap_bio(to_server, to_client, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):  # a TLS 1.3 handshake takes 2 round trips, 1.2 takes 3
        for name, side in (("client", client_side), ("server", server_side)):
            if done[name]:
                continue
            try:
                side.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as error:
                return error
            except ssl.SSLError:
                return None  # an alert from the verifying side: its error came first
        if all(done.values()):
            return None
    return None
