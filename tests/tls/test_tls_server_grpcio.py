"""`flowctl server --tls-*` against an independent client, grpcio with
`grpc.ssl_channel_credentials`: TLS only, and with --tls-ca-cert mutual TLS."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import grpc
import trio
from tls_helpers import Certs, grpcio_list, start_server, stop_server

OK = grpc.StatusCode.OK
# A connection the server refuses is a call that cannot get through: UNAVAILABLE.
REFUSED = grpc.StatusCode.UNAVAILABLE


async def test_a_tls_server_refuses_plain_text_and_serves_a_client_trusting_its_ca(
    tmp_path: Path, certs: Certs
) -> None:
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, certs.server_args())
        plain = await trio.to_thread.run_sync(partial(grpcio_list, endpoint, plain=True))
        trusting = await trio.to_thread.run_sync(partial(grpcio_list, endpoint, trust=certs.ca))
        other_ca = await trio.to_thread.run_sync(
            partial(grpcio_list, endpoint, trust=certs.other_ca)
        )
        by_name = await trio.to_thread.run_sync(
            partial(grpcio_list, endpoint.replace("127.0.0.1", "localhost"), trust=certs.ca)
        )
        await stop_server(server)
    assert plain.code is REFUSED, plain
    assert trusting.code is OK, trusting
    assert by_name.code is OK, by_name  # the certificate names localhost too
    assert other_ca.code is REFUSED, other_ca
    assert "CERTIFICATE_VERIFY_FAILED" in other_ca.details


async def test_mutual_tls_lets_in_only_a_client_certificate_from_its_ca(
    tmp_path: Path, certs: Certs
) -> None:
    async with trio.open_nursery() as nursery:
        server, endpoint = await start_server(nursery, tmp_path, certs.server_args(mutual=True))

        async def list_with(**options: Path | bool) -> grpc.StatusCode:
            outcome = await trio.to_thread.run_sync(partial(grpcio_list, endpoint, **options))
            return outcome.code

        no_certificate = await list_with(trust=certs.ca)
        other_ca = await list_with(
            trust=certs.ca, cert=certs.other_client, key=certs.other_client_key
        )
        valid = await list_with(trust=certs.ca, cert=certs.client, key=certs.client_key)
        plain = await list_with(plain=True)
        # The server goes on serving after the refusals.
        valid_again = await list_with(trust=certs.ca, cert=certs.client, key=certs.client_key)
        await stop_server(server)
    assert (no_certificate, other_ca, plain) == (REFUSED, REFUSED, REFUSED)
    assert (valid, valid_again) == (OK, OK)


async def test_listening_beyond_loopback_without_tls_is_warned_about_once(
    tmp_path: Path, certs: Certs
) -> None:
    warning = "listens on 0.0.0.0 without TLS"
    async with trio.open_nursery() as nursery:
        plain, _ = await start_server(nursery, tmp_path, ["--address", "0.0.0.0"])
        tls, _ = await start_server(
            nursery, tmp_path, ["--address", "0.0.0.0", *certs.server_args()]
        )
        loopback, _ = await start_server(nursery, tmp_path, [])
        await plain.wait_for_line(warning)
        for server in (plain, tls, loopback):
            await stop_server(server)
    assert len([line for line in plain.output.splitlines() if warning in line]) == 1
    assert "without TLS" not in tls.output
    assert "without TLS" not in loopback.output
