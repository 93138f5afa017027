"""`flowctl list`: the services of a running control plane, from another terminal.

Imports asyncio and grpclib only (no trio): it should answer quickly.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal

from flowctl.errors import ControlPlaneUnavailable, UsageError

if TYPE_CHECKING or "cyclopts" in sys.modules:
    # For cyclopts, which reads list_services' annotations (it has been imported by then).
    # The plain command lines skip cyclopts (cli/list_args.py) and this import with it.
    from flowctl.cli.options import TlsFile

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from pathlib import Path

    from flowctl._proto.flowctl import ServiceList
    from flowctl._proto.flowctl.inspect import ServiceAttachment
    from flowctl.controlplane.list_decoding import ListedAttachment, ServiceListing

CALL_TIMEOUT = 5.0  # seconds, each call
MAX_REPLY_BYTES = 64 * 1024 * 1024  # the quick path's bound; past it, the full client asks


def list_services(
    *,
    endpoint: str | None = None,
    run: str | None = None,
    runs: bool = False,
    output: Literal["table", "json"] = "table",
    tls_ca_cert: TlsFile | None = None,
    tls_cert: TlsFile | None = None,
    tls_key: TlsFile | None = None,
) -> int:
    """Show the services registered with the running control plane.

    Parameters
    ----------
    endpoint
        HOST:PORT of the control plane. Default: the newest running `flowctl run`,
        else localhost:8080 (a standalone `flowctl server`).
    run
        The live `flowctl run` to ask, by its pipeline's name or its pid.
    runs
        List the live `flowctl run`s instead (pipeline, pid, endpoint, started, components).
    output
        table for people, json (proto3 JSON of the ServiceList) for programs.
    tls_ca_cert
        Connect with TLS, trusting this PEM CA (or the server's own certificate).
        https://HOST:PORT as --endpoint connects with TLS too, trusting the system's CAs.
    tls_cert
        Mutual TLS: the PEM client certificate to show the server (with --tls-key).
    tls_key
        The PEM private key of --tls-cert (unencrypted).
    """
    from flowctl.cli.run_choice import choose_target, print_runs

    if runs:
        if endpoint is not None or run is not None:
            raise UsageError("--runs lists every live run: no --endpoint or --run with it")
        print_runs(output)
        return 0
    from flowctl.controlplane.json_format import service_list_to_json

    chosen = choose_target(endpoint, run)
    target, hint = chosen.endpoint, chosen.hint
    tls = _client_tls(target, tls_ca_cert, tls_cert, tls_key)
    try:
        # The table has a column for which component each service is, when the server says.
        answer = None if tls else _quick_answer(target, with_attachments=output == "table")
        if answer is None:
            import asyncio  # the full client's (about 40 ms of imports: not on the quick path)

            answer = asyncio.run(
                _full_answer(target, tls, output == "table", with_client_cert=tls_cert is not None)
            )
        services, attachments = answer
    except ControlPlaneUnavailable as error:
        if hint:
            raise ControlPlaneUnavailable(target, error.detail + hint) from None
        raise
    if output == "json":
        print(service_list_to_json(services))
    else:
        from flowctl.cli.attachment_column import inspect_columns
        from flowctl.console.service_table import render_service_table
        from flowctl.console.status_rows import SERVICE_COLUMNS

        # With flowctl.inspect: STATE says restarting or completed, and ATTACHED is added.
        columns = (
            SERVICE_COLUMNS
            if attachments is None
            else inspect_columns(SERVICE_COLUMNS, attachments)
        )
        print(render_service_table(services.services, columns))
    return 0


Answer = tuple[
    "ServiceList | ServiceListing",
    "Mapping[str, ServiceAttachment] | Mapping[str, ListedAttachment] | None",
]


def _quick_answer(endpoint: str, *, with_attachments: bool) -> Answer | None:
    """A working plain-text server's answer, without grpclib or betterproto (their imports
    are most of what `list` costs); None when anything else happened: the full client
    asks again and words the failure as it always has. No answer in time is said here
    (asking again would double the wait)."""
    from flowctl.controlplane.endpoints import normalize_endpoint
    from flowctl.controlplane.grpc_unary import (
        GRPC_UNIMPLEMENTED,
        CallFailed,
        CallTimedOut,
        call_unary,
    )
    from flowctl.controlplane.list_decoding import (
        DecodeError,
        decode_attachment_list,
        decode_service_list,
    )

    host, port = normalize_endpoint(endpoint)

    def ask(method: str) -> bytes:  # both take google.protobuf.Empty: no bytes
        return call_unary(
            host, port, method, b"", timeout=CALL_TIMEOUT, max_reply_bytes=MAX_REPLY_BYTES
        )

    try:
        services = decode_service_list(ask("/flowctl.ControlPlane/ListServices"))
    except CallTimedOut:
        raise ControlPlaneUnavailable(endpoint, f"no answer within {CALL_TIMEOUT:g}s") from None
    except (CallFailed, DecodeError):
        return None
    if not with_attachments:
        return services, None
    try:
        reply = ask("/flowctl.inspect.Inspect/ListAttachments")
        return services, {a.service_id: a for a in decode_attachment_list(reply)}
    except CallTimedOut:
        _note_no_attachments(f"no answer within {CALL_TIMEOUT:g}s")
        return services, None
    except CallFailed as failure:
        if failure.grpc_status == GRPC_UNIMPLEMENTED:
            return services, None  # a server without flowctl.inspect (the Go one)
    except DecodeError:
        pass
    import asyncio  # anything else: the full client asks, and words it

    return services, asyncio.run(_attachments_or_note(endpoint, None))


async def _full_answer(
    endpoint: str, tls: ssl.SSLContext | None, with_attachments: bool, *, with_client_cert: bool
) -> Answer:
    """The answer through grpclib and betterproto: TLS, and every failure worded."""
    from flowctl.controlplane.client import fetch_services

    services = await fetch_services(endpoint, tls=tls, with_client_cert=with_client_cert)
    return services, (await _attachments_or_note(endpoint, tls) if with_attachments else None)


def _client_tls(
    endpoint: str, ca_cert: Path | None, cert: Path | None, key: Path | None
) -> ssl.SSLContext | None:
    """TLS when any --tls-* option is given or the endpoint is https://; else plain text."""
    from flowctl.cli.tls_options import check_pair
    from flowctl.controlplane.endpoints import endpoint_wants_tls

    check_pair(cert, key, "--tls-cert", "--tls-key")
    if ca_cert is None and cert is None and not endpoint_wants_tls(endpoint):
        return None
    from flowctl.controlplane.tls import client_context

    return client_context(ca_cert, cert, key)


async def _attachments_or_note(
    endpoint: str, tls: ssl.SSLContext | None
) -> dict[str, ServiceAttachment] | None:
    """The ATTACHED column's data; when the server has it but did not answer, the column
    is left out with a note on stderr (a server without it, the Go one, goes unremarked)."""
    from flowctl.controlplane.client import InspectFailed, fetch_attachments

    try:
        return await fetch_attachments(endpoint, tls=tls)
    except InspectFailed as failure:
        _note_no_attachments(str(failure))
        return None


def _note_no_attachments(why: str) -> None:
    print(f"flowctl: no ATTACHED column: flowctl.inspect failed: {why}", file=sys.stderr)
