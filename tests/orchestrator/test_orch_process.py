"""ProcessOrchestrator with real child processes: start, exit, stop, kill, cancel."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio
import trio.testing
from orch_helpers import OutputRecorder, descendants, python, running, sh, spec_for

from flowctl.errors import ComponentStartError
from flowctl.events import ComponentExited, ComponentStarted, ComponentStopping, EventBus
from flowctl.orchestrator import ExitStatus, ProcessOrchestrator

# Ignoring SIGTERM in the shell is inherited by the sleeps it starts.
IGNORES_TERM = 'trap "" TERM; sleep 300 & echo ready; wait'
TWO_SLEEPERS = "sleep 300 & sleep 300 & echo ready; wait"
# Three processes of one group (in cwd): each appends its pid to ./received on SIGINT, then
# dies of it. Not `sh`: its background jobs ignore SIGINT.
NOTES_SIGINT_WITH_TWO_CHILDREN = """
import os, signal, subprocess, sys, time
def noted(*_):
    with open("received", "a") as out:
        out.write(f"{os.getpid()} ")
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
signal.signal(signal.SIGINT, noted)
# Once the main process has exited, flowctl sends SIGTERM to what is left of the group; a
# child that has not yet run its SIGINT handler would die of it unnoted (seen under load).
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if sys.argv[1:] != ["child"]:
    code = sys.orig_argv[sys.orig_argv.index("-c") + 1]
    for _ in range(2):
        subprocess.Popen([sys.executable, "-c", code, "child"])
# One write: print() under PYTHONUNBUFFERED writes "ready" and "\\n" apart, and the three
# processes share the pipe, so their words could interleave ("readyready").
os.write(1, b"ready\\n")
while True:
    time.sleep(60)
"""


async def test_env_cwd_and_both_streams_reach_log_and_sink(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"PATH": os.environ["PATH"], "GREETING": "hello from env"}
    spec = spec_for(tmp_path, sh('echo "$GREETING"; pwd; echo oops >&2'), env=env, cwd=workdir)
    output = OutputRecorder()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator().start(spec, nursery, output)
            status = await component.wait()

    assert status == ExitStatus(0)
    assert status.describe() == "exited normally"
    assert output.lines("stdout") == ["hello from env", str(workdir)]
    assert output.lines("stderr") == ["oops"]
    assert {cid for cid, _, _ in output.records} == {"comp"}
    log = spec.log_path.read_text()
    assert sorted(log.splitlines()) == sorted(["hello from env", str(workdir), "oops"])


async def test_exit_status_is_reported_and_published_as_unexpected(tmp_path: Path) -> None:
    events = EventBus()
    received = events.subscribe()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator(events).start(
                spec_for(tmp_path, sh("exit 3")), nursery, OutputRecorder()
            )
            status = await component.wait()

    assert status == ExitStatus(3)
    assert component.exit_status == status
    assert status.describe() == "exited with status 3"
    assert not component.stop_requested
    assert received.receive_nowait() == ComponentStarted("comp", component.pid)
    assert received.receive_nowait() == ComponentExited(
        "comp", 3, "exited with status 3", expected=False
    )


async def test_stop_leaves_no_process_of_the_group(tmp_path: Path) -> None:
    events = EventBus()
    received = events.subscribe()
    output = OutputRecorder()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator(events).start(
                spec_for(tmp_path, sh(TWO_SLEEPERS)), nursery, output
            )
            await output.wait_for("ready")
            sleepers = descendants(component.pid)
            assert len(sleepers) == 2
            status = await component.stop(grace=5)

            assert component.stop_requested
            assert status.signal == signal.SIGTERM
            assert not any(running(pid) for pid in [component.pid, *sleepers])
            await component.stop(grace=5)  # idempotent

    assert isinstance(received.receive_nowait(), ComponentStarted)
    assert received.receive_nowait() == ComponentStopping("comp")  # once, for the console
    assert received.receive_nowait() == ComponentExited(
        "comp", status.returncode, status.describe(), expected=True
    )


async def test_a_child_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    output = OutputRecorder()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator().start(
                spec_for(tmp_path, sh(IGNORES_TERM)), nursery, output
            )
            await output.wait_for("ready")
            sleepers = descendants(component.pid)
            status = await component.stop(grace=0.3)

    assert status.describe() == "was killed by SIGKILL"
    assert not any(running(pid) for pid in sleepers)


async def test_a_child_that_exits_on_sigterm_does_not_wait_for_the_grace(tmp_path: Path) -> None:
    output = OutputRecorder()
    with trio.fail_after(10):  # hang guard far below the grace
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator().start(
                spec_for(tmp_path, sh("echo ready; exec sleep 300")), nursery, output
            )
            await output.wait_for("ready")
            status = await component.stop(grace=60)

    assert status.signal == signal.SIGTERM


async def test_kill_during_a_stop_escalates_at_once(tmp_path: Path) -> None:
    output = OutputRecorder()
    with trio.fail_after(10):  # hang guard far below the grace
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator().start(
                spec_for(tmp_path, sh(IGNORES_TERM)), nursery, output
            )
            await output.wait_for("ready")
            sleepers = descendants(component.pid)

            async def stop() -> None:
                assert (await component.stop(grace=60)).signal == signal.SIGKILL

            nursery.start_soon(stop)
            await trio.testing.wait_all_tasks_blocked()  # the stop is waiting for the grace
            component.kill()

    assert not any(running(pid) for pid in sleepers)


async def test_send_signal_reaches_the_whole_group(tmp_path: Path) -> None:
    # Each process of the group notes the SIGINT it got; the follower's own SIGTERM to
    # what is left of the group after the main process exits would note nothing.
    received = tmp_path / "received"
    output = OutputRecorder()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator().start(
                spec_for(tmp_path, python(NOTES_SIGINT_WITH_TWO_CHILDREN), cwd=tmp_path),
                nursery,
                output,
            )
            while output.lines().count("ready") < 3:  # all three handlers in place
                assert component.exit_status is None, output.records
                await trio.sleep(0.02)
            children = descendants(component.pid)
            component.send_signal(signal.SIGINT)
            status = await component.wait()
            component.send_signal(signal.SIGTERM)  # gone by now: no error
            while any(running(pid) for pid in children):  # hang guard: the fail_after
                await trio.sleep(0.02)

    assert status.signal == signal.SIGINT
    assert not component.stop_requested
    assert len(children) == 2
    noted = sorted(received.read_text().split())
    assert noted == sorted(str(pid) for pid in [component.pid, *children])


@pytest.mark.parametrize("script", [TWO_SLEEPERS, IGNORES_TERM], ids=["obeys", "ignores-term"])
async def test_cancelling_the_nursery_stops_the_whole_group(tmp_path: Path, script: str) -> None:
    events = EventBus()
    received = events.subscribe()
    output = OutputRecorder()
    orchestrator = ProcessOrchestrator(events, cancel_grace=0.3)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await orchestrator.start(spec_for(tmp_path, sh(script)), nursery, output)
            await output.wait_for("ready")
            group = [component.pid, *descendants(component.pid)]
            nursery.cancel_scope.cancel()

    assert len(group) > 1
    assert not any(running(pid) for pid in group)
    assert component.stop_requested
    assert component.exit_status is not None
    started, stopping, exited = (received.receive_nowait() for _ in range(3))
    assert isinstance(started, ComponentStarted)
    assert stopping == ComponentStopping("comp")
    assert exited == ComponentExited(
        "comp", component.exit_status.returncode, component.exit_status.describe(), expected=True
    )


async def test_what_a_component_says_while_stopping_is_kept(tmp_path: Path) -> None:
    script = "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    output = OutputRecorder()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            stopped = await ProcessOrchestrator().start(
                spec_for(tmp_path, sh(script), component_id="stopped"), nursery, output
            )
            cancelled = await ProcessOrchestrator().start(
                spec_for(tmp_path, sh(script), component_id="cancelled"), nursery, output
            )
            await output.wait_for("ready", count=2)
            assert await stopped.stop(grace=5) == ExitStatus(0)
            # stop() returns after the output is drained: the sink has the last line
            assert ("stopped", "stdout", "bye") in output.records
            nursery.cancel_scope.cancel()

    assert cancelled.exit_status == ExitStatus(0)
    # when flowctl itself is shutting down, the log file still gets everything
    assert "bye\n" in tmp_path.joinpath("logs", "cancelled.log").read_text()


async def test_stragglers_of_a_finished_component_do_not_survive(tmp_path: Path) -> None:
    output = OutputRecorder()
    orchestrator = ProcessOrchestrator(cancel_grace=0.3)
    script = '(trap "" TERM; sleep 300) & echo "straggler $!"'
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await orchestrator.start(spec_for(tmp_path, sh(script)), nursery, output)
            assert await component.wait() == ExitStatus(0)
        # the nursery is left once the straggler is gone (SIGKILL after cancel_grace)

    [announcement] = output.lines()
    assert not running(int(announcement.split()[1]))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("./bin/consumer-app", "command './bin/consumer-app' not found"),
        ("no-such-command-flowctl", "command 'no-such-command-flowctl' not found on PATH"),
        ("./plain.txt", "command './plain.txt' is not executable"),
        ("./no-interpreter.sh", "names an interpreter (#! line) that was not found"),
    ],
    ids=["missing-path", "missing-on-path", "not-executable", "missing-interpreter"],
)
async def test_a_command_that_cannot_start_raises_a_readable_error(
    tmp_path: Path, command: str, expected: str
) -> None:
    (tmp_path / "plain.txt").write_text("not a program\n")
    script = tmp_path / "no-interpreter.sh"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    async with trio.open_nursery() as nursery:
        with pytest.raises(ComponentStartError) as caught:
            await ProcessOrchestrator().start(
                spec_for(tmp_path, [command]), nursery, OutputRecorder()
            )

    message = str(caught.value)
    assert message.startswith("component 'comp' could not start: ")
    assert expected in message
    assert f"(working directory {tmp_path})" in message


async def test_a_missing_working_directory_raises_a_readable_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    async with trio.open_nursery() as nursery:
        with pytest.raises(ComponentStartError) as caught:
            await ProcessOrchestrator().start(
                spec_for(tmp_path, python("pass"), cwd=missing), nursery, OutputRecorder()
            )

    assert caught.value.component_id == "comp"
    assert f"working directory {missing} does not exist" in str(caught.value)
