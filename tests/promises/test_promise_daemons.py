"""README "No process left behind": a `setsid` child and a double-forked daemon are
stopped with their component by SIGTERM (not only by the final SIGKILL)."""

from __future__ import annotations

import signal
import sys
import uuid
from pathlib import Path

import psutil
import trio
from promise_helpers import FAKE_COMPONENT, run_args, start_flowctl

from flowctl.testing import write_pipeline

# argv: notes file, marker, then the fake component's arguments. Starts a `setsid` child
# and a classic double-forked daemon; each notes "ready KIND" once its SIGTERM handler is
# in place and "term KIND" when SIGTERM comes. Then becomes the fake component.
WITH_DAEMONS = """
import os, signal, subprocess, sys, time
notes, marker, *fake = sys.argv[1:]
DAEMON = '''
import os, signal, sys, time
def on_term(*_):
    with open(sys.argv[1], "a") as out:
        out.write("term " + sys.argv[2] + "\\\\n")
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
with open(sys.argv[1], "a") as out:
    out.write("ready " + sys.argv[2] + "\\\\n")
while True:
    time.sleep(60)
'''
def daemon_argv(kind):
    return [sys.executable, "-c", DAEMON, notes, kind, marker]
subprocess.Popen(daemon_argv("setsid"), start_new_session=True)
if os.fork() == 0:  # the double fork: its parent exits at once, it is re-parented
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, daemon_argv("double-fork"))
    os._exit(0)
os.wait()
os.execv(sys.executable, [sys.executable, *fake])
"""


def marked(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if marker in process.cmdline() and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


async def test_setsid_and_double_forked_daemons_get_sigterm(tmp_path: Path) -> None:
    notes, marker = tmp_path / "daemons", f"promise-{uuid.uuid4().hex}"
    script = tmp_path / "with_daemons.py"
    script.write_text(WITH_DAEMONS)
    command = [sys.executable, str(script), str(notes), marker, str(FAKE_COMPONENT)]
    path = write_pipeline(tmp_path / "p.yaml", sources=[{"id": "src", "command": command}])
    try:
        async with trio.open_nursery() as nursery:
            flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
            await flowctl.wait_for_line(r"all 1 components? registered")
            with trio.fail_after(30):  # hang guard: both handlers in place
                while sorted(_lines(notes)) != ["ready double-fork", "ready setsid"]:
                    await trio.sleep(0.02)
            assert len(marked(marker)) == 2
            flowctl.send_signal(signal.SIGINT)
            assert await flowctl.wait() == 0, flowctl.output
        assert sorted(_lines(notes)) == [
            "ready double-fork",
            "ready setsid",
            "term double-fork",
            "term setsid",
        ]
        assert marked(marker) == []
    finally:
        for process in marked(marker):
            process.kill()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
