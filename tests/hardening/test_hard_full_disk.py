"""The registry's disk fills up: writes answer UNAVAILABLE, reads and the janitor go on
(health is kept in memory), and writes work again once there is space.

A real small tmpfs holds `--db-path` (the suite runs as root). The service is registered
by a first server; the disk is filled while no server runs; a second server reloads it as
healthy with a 1 ms TTL, so the janitor's very first pass must write, and cannot.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cli.cli_helpers import FlowctlProcess, start_flowctl
from hard_helpers import HEARTBEAT, LIST_SERVICES, REGISTER, raw_client, tracebacks

from flowctl._proto import flowctl as pb

STALE_AT_ONCE = ("--heartbeat-ttl", "1ms", "--janitor-interval", "50ms")


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str = "1m") -> Iterator[Path]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        # Lazy: a server a failed test left running must not keep the mount.
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Write a file until the file system has no block left; returns it."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (64 * 1024, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return filler


async def serve(nursery: trio.Nursery, db: Path, *extra: str) -> FlowctlProcess:
    server = await start_flowctl(
        nursery, ["server", "--port", "0", "--db-path", str(db), *extra], cwd=db.parent.parent
    )
    await server.endpoint()
    return server


async def stop(server: FlowctlProcess) -> None:
    server.send_signal(signal.SIGTERM)
    assert await server.wait() == 0, server.output


async def listed(endpoint: str) -> dict[str, pb.ServiceStatus]:
    with raw_client(endpoint) as client:
        answer = await client.call(LIST_SERVICES)
    assert answer.code.name == "OK" and answer.body is not None
    return {s.service_id: s for s in pb.ServiceList().parse(answer.body).services}


async def heartbeat(endpoint: str, service_id: str, processed: float) -> str:
    request = pb.ServiceHeartbeat(service_id=service_id, metrics={"total_processed": processed})
    with raw_client(endpoint) as client:
        answer = await client.call(HEARTBEAT, bytes(request))
    return str(answer.code.name)


async def test_a_full_disk_keeps_the_server_serving_and_it_recovers(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        db = disk / "registry.sqlite3"
        async with trio.open_nursery() as nursery:
            first = await serve(nursery, db)
            with raw_client(await first.endpoint()) as client:
                info = pb.ServiceInfo(service_id="src", service_type=pb.ServiceType.SOURCE)
                answer = await client.call(REGISTER, bytes(info))
                assert answer.code.name == "OK"
            await stop(first)

            filler = fill(disk)
            second = await serve(nursery, db, *STALE_AT_ONCE)
            endpoint = await second.endpoint()
            await second.wait_for_line(r"registry: cannot write .*full")
            await second.wait_for_line(r"src is unhealthy")  # the janitor's pass, in memory
            assert second.process.returncode is None, second.output
            assert not (await listed(endpoint))["src"].is_healthy  # reads go on
            assert await heartbeat(endpoint, "src", 1) == "UNAVAILABLE"

            os.unlink(filler)
            assert await heartbeat(endpoint, "src", 2) == "OK"
            await second.wait_for_line(r"src is healthy again")
            await second.wait_for_line(r"registry: .* can be written again")
            await stop(second)

            third = await serve(nursery, db)
            reloaded = (await listed(await third.endpoint()))["src"]
            assert dict(reloaded.metrics) == {"total_processed": 2.0}  # the write landed
            await stop(third)

    output = second.output
    assert len([line for line in output.splitlines() if "registry: cannot write" in line]) == 1, (
        output
    )
    assert not tracebacks(first.output + output + third.output), output
