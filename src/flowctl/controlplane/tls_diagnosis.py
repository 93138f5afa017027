"""Why a connection to a control plane failed, when TLS is why: in words, not as an SSL
stack trace. asyncio, no trio.

A failed call only says "connection lost" when a plain-text client meets a TLS server, or
when a server asking for a client certificate refuses ours, so after such a failure a
short probe of the server tells the cases apart: does it answer a TLS handshake, does it
answer HTTP/2 in clear text, which alert does it send. Only ever run after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from .tls import ALPN_PROTOCOLS

# The probes are a second chance to explain, not a measure: a generous bound against a
# server that says nothing at all.
_PROBE_TIMEOUT = 10.0

# The start of an HTTP/2 connection in clear text (RFC 9113, 3.4): the preface, then an
# empty SETTINGS frame. A gRPC server answers with its own SETTINGS frame (type 4).
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_SETTINGS_FRAME_TYPE = 4

_CERT_REQUIRED_ALERTS = {"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE"}
_CERT_REFUSED_ALERTS = {
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "TLSV1_ALERT_DECRYPT_ERROR",
}


async def explain_failure(
    host: str,
    port: int,
    endpoint: str,
    context: ssl.SSLContext | None,
    error: BaseException,
    *,
    with_client_cert: bool = False,
) -> str | None:
    """A sentence saying what TLS has to do with `error`, or None when nothing.

    `with_client_cert`: `context` shows a client certificate (mutual TLS).
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"the control plane at {endpoint} has a certificate flowctl does not trust "
            f"({error.verify_message}); pass --tls-ca-cert with the CA that signed it"
        )
    if isinstance(error, ConnectionRefusedError | TimeoutError):
        return None  # nobody there, or nobody answering: not a matter of TLS
    if context is None:
        if await speaks_tls(host, port):
            return (
                f"the control plane at {endpoint} speaks TLS; pass --tls-ca-cert FILE (the "
                f"CA that signed its certificate), or write the endpoint https://{endpoint} "
                "to trust the system's CAs"
            )
        return None
    if await speaks_plain_http2(host, port):
        return (
            f"the control plane at {endpoint} does not speak TLS; leave out --tls-ca-cert, "
            "--tls-cert, --tls-key and https://"
        )
    alert = await refusal_alert(host, port, context)
    if alert is None:
        return None
    if alert == CLOSED_AFTER_HANDSHAKE:
        # asyncio's TLS servers (flowctl's) close without an alert: that silence after a
        # good handshake is how a server asking for client certificates refuses one.
        reason = "it closed the connection after the handshake"
    else:
        reason = alert.lower()
    if alert in _CERT_REQUIRED_ALERTS or (alert == CLOSED_AFTER_HANDSHAKE and not with_client_cert):
        return (
            f"the control plane at {endpoint} requires a client certificate (mutual TLS; "
            f"{reason}); pass --tls-cert and --tls-key"
        )
    if alert in _CERT_REFUSED_ALERTS or alert == CLOSED_AFTER_HANDSHAKE:
        return (
            f"the control plane at {endpoint} refused flowctl's client certificate "
            f"({reason}): is it signed by the CA the server trusts, and still valid?"
        )
    return f"the control plane at {endpoint} refused the TLS connection ({reason})"


def _probe_context() -> ssl.SSLContext:
    # Only "does it speak TLS at all": nothing sent over it, so nothing to verify.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(ALPN_PROTOCOLS)
    return context


async def speaks_tls(host: str, port: int) -> bool:
    """The server at host:port completes a TLS handshake, or refuses one with an alert."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port, ssl=_probe_context())
    except ssl.SSLError as error:
        return "ALERT" in (error.reason or "")
    except (OSError, TimeoutError):
        return False
    await _close(writer)
    return True


async def speaks_plain_http2(host: str, port: int) -> bool:
    """The server at host:port answers HTTP/2's clear-text preface with a SETTINGS frame."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(_H2_PREFACE)
                header = await reader.readexactly(9)
            finally:
                await _close(writer)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    return header[3] == _SETTINGS_FRAME_TYPE


CLOSED_AFTER_HANDSHAKE = "CLOSED_AFTER_HANDSHAKE"


async def refusal_alert(host: str, port: int, context: ssl.SSLContext) -> str | None:
    """How the server ends a connection made with `context`: its TLS alert
    ("TLSV13_ALERT_CERTIFICATE_REQUIRED"...), CLOSED_AFTER_HANDSHAKE when it closes
    without a word, None when it does not refuse it. With TLS 1.3 a client certificate is
    judged after the client's side of the handshake is done: the refusal comes on the
    first read, where a willing HTTP/2 server sends its SETTINGS."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=host
            )
            try:
                first = await reader.read(1)
            finally:
                await _close(writer)
    except ssl.SSLError as error:
        return error.reason or None
    except (OSError, TimeoutError):
        return None
    return None if first else CLOSED_AFTER_HANDSHAKE


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await writer.wait_closed()
