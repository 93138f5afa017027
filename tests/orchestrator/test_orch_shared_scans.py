"""The /proc scans of a run are shared (groups.py): looks that wait together get one scan,
and a look never gets a scan that started before it asked (it could miss an exit)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
import trio
import trio.testing

from flowctl.orchestrator import groups
from flowctl.orchestrator.members import ProcessScan, ProcessSet, scan_processes


class GatedScanner:
    """scan_processes, each scan held in its thread until the test lets it finish."""

    def __init__(self) -> None:
        self.started = 0
        self.release = threading.Semaphore(0)

    def __call__(self) -> ProcessScan:
        self.started += 1
        self.release.acquire()
        return scan_processes()


async def test_looks_that_wait_together_share_one_fresh_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scanner = GatedScanner()
    monkeypatch.setattr(groups, "scan_processes", scanner)
    scans: dict[str, ProcessScan] = {}

    async def look(name: str) -> None:
        scans[name] = await groups.fresh_scan()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(look, "first")
            while scanner.started < 1:
                await trio.sleep(0.001)
            # Asked while the first scan runs: that scan may predate what they look for.
            for index in range(10):
                nursery.start_soon(look, f"later-{index}")
            await trio.testing.wait_all_tasks_blocked()
            scanner.release.release()  # the first scan ends; one more serves all ten
            while scanner.started < 2:
                await trio.sleep(0.001)
            await trio.testing.wait_all_tasks_blocked()
            scanner.release.release()
    assert scanner.started == 2
    later = {id(scans[f"later-{index}"]) for index in range(10)}
    assert later == {id(scans["later-0"])} and id(scans["first"]) not in later


async def test_a_look_after_an_exit_does_not_see_the_process() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    members = ProcessSet(pgids={child.pid})
    try:
        with trio.fail_after(60):
            assert await groups.live_members(members) == {child.pid}
            os.killpg(child.pid, signal.SIGKILL)
            await trio.to_thread.run_sync(child.wait)
            assert await groups.live_members(members) == set()
    finally:
        child.kill()
        child.wait()
