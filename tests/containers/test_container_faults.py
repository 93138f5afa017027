"""The process orchestrator's fault cases, for a component that runs as a container: exit
before and after registering, never registering, ignoring SIGTERM, flooding its output, a
restart policy; and the clear errors (no image, no engine, no such command). Each through
the real `flowctl run`, each ending with no container of its component left on the engine.

Every component id is unique (unique_id): tests on other workers share the engine.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from container_helpers import (
    PYTHON_IMAGE,
    cli_env,
    containers_of,
    engine_url,
    fake_container,
    run_args,
    run_flowctl,
    start_flowctl,
    unique_id,
    write_pipeline,
)
from fake_component_command import fake_command

from flowctl.orchestrator import container_sweep

GUARD = 120  # hang guard only: a container starts in 0.5-2 s, more on a loaded machine


ISSUED: list[str] = []  # the component ids of the current test


def new_id(name: str) -> str:
    component_id = unique_id(name)
    ISSUED.append(component_id)
    return component_id


@pytest.fixture(autouse=True)
def remove_what_a_failed_test_left() -> Iterator[None]:
    """A failed test's flowctl is SIGKILLed with its watchdog (cli_helpers.kill_tree): its
    containers are removed here, by their component's label."""
    yield
    for component_id in ISSUED:
        for container in containers_of(component_id):
            container_sweep.call_engine(
                engine_url(), "DELETE", f"/containers/{container['Id']}?force=1&v=1"
            )
    ISSUED.clear()


def fault_args(pipeline: Path, tmp_path: Path, *, registration: str = "60s") -> list[str]:
    """run_args, with this registration timeout and a short grace."""
    args = run_args(pipeline, tmp_path)
    args[args.index("--registration-timeout") + 1] = registration
    args[args.index("--shutdown-grace") + 1] = "2s"
    return args


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


async def test_a_container_that_exits_before_registering_fails_the_run(tmp_path: Path) -> None:
    early = new_id("early")
    path = write_pipeline(
        tmp_path / "p.yaml",
        [
            fake_container(
                early,
                "--register",
                "never",
                "--lines",
                "3",
                "--exit-after",
                "0",
                "--exit-code",
                "4",
            )
        ],
    )
    status, out, err = await run_flowctl(fault_args(path, tmp_path), cwd=tmp_path, timeout=GUARD)
    log = tmp_path / "logs" / f"{early}.log"
    assert status == 1, out + err
    assert f"component '{early}' exited with status 4 before it registered" in err, err
    assert f"{early} line 3" in err  # its last lines
    assert f"full output: {log}" in err.splitlines()
    written = log.read_text()
    # stdout and stderr are separate pipes inside the engine: stderr's place among
    # stdout's lines varies, the lines of each stream keep their order.
    assert written.replace("exiting with 4\n", "", 1) == "".join(
        f"{early} line {n}\n" for n in (1, 2, 3)
    ), written
    assert "exiting with 4\n" in written
    assert_no_traceback(out + err)
    assert containers_of(early) == []


async def test_a_container_that_exits_after_registering_fails_the_run(tmp_path: Path) -> None:
    late = new_id("late")
    path = write_pipeline(
        tmp_path / "p.yaml",
        [{"id": "src", "command": fake_command()}],  # a process beside it
        sinks=[
            fake_container(
                late,
                "--type",
                "sink",
                "--lines",
                "2",
                "--exit-after",
                "0",
                "--exit-code",
                "3",
                inputs=["src"],
            )
        ],
    )
    status, out, err = await run_flowctl(fault_args(path, tmp_path), cwd=tmp_path, timeout=GUARD)
    log = tmp_path / "logs" / f"{late}.log"
    assert status == 1, out + err
    assert f"component '{late}' exited with status 3 after it registered" in err, err
    assert "exiting with 3" in err  # its last lines
    assert f"full output: {log}" in err.splitlines()
    written = log.read_text()
    # Each stream in its order; stderr's lines (its last words, a warning of grpclib's)
    # land anywhere among stdout's: the engine has a pipe for each.
    stdout_lines = [x for x in written.splitlines() if x.startswith((late, "registered as"))]
    assert stdout_lines == [f"{late} line 1", f"{late} line 2", f"registered as {late}"], written
    assert "exiting with 3\n" in written, written
    assert_no_traceback(out + err)
    assert containers_of(late) == []


async def test_a_container_that_never_registers_is_named_by_the_barrier_timeout(
    tmp_path: Path,
) -> None:
    silent = new_id("silent")
    path = write_pipeline(tmp_path / "p.yaml", [fake_container(silent, "--register", "never")])
    # Short: the component never registers, by construction (not a race).
    args = fault_args(path, tmp_path, registration="3s")
    status, out, err = await run_flowctl(args, cwd=tmp_path, timeout=GUARD)
    assert status == 1, out + err
    assert f"'{silent}' never registered" in err, err
    assert_no_traceback(out + err)
    assert containers_of(silent) == []


async def test_a_container_that_ignores_sigterm_is_killed_after_the_grace(
    tmp_path: Path,
) -> None:
    deaf = new_id("deaf")
    path = write_pipeline(tmp_path / "p.yaml", [fake_container(deaf, "--ignore-sigterm")])
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, fault_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("all 1 component registered", timeout=GUARD)
        assert len(containers_of(deaf)) == 1
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait(timeout=GUARD) == 0, flowctl.output
    # The engine's SIGKILL after the grace: it reports 128 + 9, as `docker ps` shows it.
    assert f"{deaf} stopped (exited with status 137)" in flowctl.output, flowctl.output
    assert_no_traceback(flowctl.output)
    assert containers_of(deaf) == []


async def test_a_container_flooding_its_output_keeps_flowctl_responsive(tmp_path: Path) -> None:
    loud = new_id("loud")
    lines = 200_000
    path = write_pipeline(
        tmp_path / "p.yaml",
        # Floods before it registers: the barrier waits through it, the process beside it
        # registers meanwhile.
        [fake_container(loud, "--lines", str(lines), "--awkward-output")],
        sinks=[{"id": "calm", "inputs": [loud], "command": fake_command("--type", "sink")}],
    )
    log = tmp_path / "logs" / f"{loud}.log"
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, fault_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("registered calm", timeout=GUARD)
        await flowctl.wait_for_line("all 2 components registered", timeout=GUARD)
        # The barrier passes once the server has the registration; the ack line follows.
        with trio.fail_after(GUARD):
            while not log.read_bytes().endswith(f"registered as {loud}\n".encode()):
                await trio.sleep(0.05)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait(timeout=GUARD) == 0, flowctl.output
    written = log.read_bytes()
    expected = "".join(f"{loud} line {n}\n" for n in range(1, lines + 1)).encode()
    assert written.startswith(expected)  # every line, in order, once
    rest = written[len(expected) :]
    assert rest == (
        b"bad bytes \xff\xfe here\n"
        + b"x" * 100_000
        + b"\n\x1b[31mred\x1b[0m and \x1b[2Jclear\n50%\r100%\n"
        + f"registered as {loud}\n".encode()
    ), rest[:200]
    assert f"{loud} line {lines}" in flowctl.output  # and the terminal got it too
    assert_no_traceback(flowctl.output)
    assert containers_of(loud) == []


async def test_a_flood_then_an_exit_reaches_the_log_file_whole(tmp_path: Path) -> None:
    # Podman's follow stream drops (and reorders) what its reader had not taken when the
    # container exits: the log file must still have every line, and the last words.
    burst = new_id("burst")
    lines = 100_000
    path = write_pipeline(
        tmp_path / "p.yaml",
        [
            fake_container(
                burst,
                "--register",
                "never",
                "--lines",
                str(lines),
                "--exit-after",
                "0",
                "--exit-code",
                "4",
            )
        ],
    )
    status, out, err = await run_flowctl(fault_args(path, tmp_path), cwd=tmp_path, timeout=GUARD)
    assert status == 1, err[-2000:]
    assert f"component '{burst}' exited with status 4 before it registered" in err
    assert f"{burst} line {lines}" in err
    written = (tmp_path / "logs" / f"{burst}.log").read_text()
    expected = "".join(f"{burst} line {n}\n" for n in range(1, lines + 1))
    assert written.replace("exiting with 4\n", "", 1) == expected  # stderr's place may vary
    assert "exiting with 4\n" in written
    assert_no_traceback(out + err)
    assert containers_of(burst) == []


async def test_a_restart_policy_restarts_a_container_then_fails_naming_the_restarts(
    tmp_path: Path,
) -> None:
    flaky = new_id("flaky")
    path = write_pipeline(
        tmp_path / "p.yaml",
        [
            fake_container(
                flaky,
                "--exit-after",
                "0",
                "--exit-code",
                "3",  # registers, exits 3: always
                restart_policy="on-failure:2",
                restart_delay="50ms",
            )
        ],
    )
    status, out, err = await run_flowctl(fault_args(path, tmp_path), cwd=tmp_path, timeout=GUARD)
    assert status == 1, out + err
    starts = [line for line in out.splitlines() if f"started {flaky} (container " in line]
    assert len(starts) == 3, out  # the first start and 2 restarts, each a container
    assert len({line.split("container ")[1] for line in starts}) == 3, starts
    assert f"flowctl: error: component '{flaky}' exited with status 3" in err, err
    assert "restarted 2 times (max_restarts 2)" in err, err
    assert_no_traceback(out + err)
    assert containers_of(flaky) == []


# -- clear errors --------------------------------------------------------------------------


async def test_a_missing_image_is_named_and_never_pulled(tmp_path: Path) -> None:
    lost = new_id("lost")
    image = f"localhost/flowctl/not-built-{lost}:1"
    path = write_pipeline(tmp_path / "p.yaml", [{"id": lost, "image": image}])
    status, out, err = await run_flowctl(fault_args(path, tmp_path), cwd=tmp_path, timeout=GUARD)
    assert status == 1, out + err
    assert f"flowctl: error: component '{lost}' could not start: image '{image}'" in err, err
    assert "flowctl does not pull images unless the component says `pull: missing`" in err
    assert_no_traceback(out + err)
    assert containers_of(lost) == []


async def test_no_engine_names_the_socket_it_tried(tmp_path: Path) -> None:
    alone = new_id("alone")
    path = write_pipeline(tmp_path / "p.yaml", [fake_container(alone)])
    env = cli_env(DOCKER_HOST="unix:///nonexistent.sock")
    status, out, err = await run_flowctl(
        fault_args(path, tmp_path), cwd=tmp_path, env=env, timeout=GUARD
    )
    assert status == 1, out + err
    assert f"component '{alone}' could not start" in err, err
    assert "no container engine answers at unix:///nonexistent.sock (DOCKER_HOST)" in err, err
    assert_no_traceback(out + err)


async def test_a_command_not_in_the_image_gives_the_engines_message(tmp_path: Path) -> None:
    typo = new_id("typo")
    path = write_pipeline(
        tmp_path / "p.yaml",
        [{"id": typo, "image": PYTHON_IMAGE, "command": ["no-such-program", "--flag"]}],
    )
    status, out, err = await run_flowctl(fault_args(path, tmp_path), cwd=tmp_path, timeout=GUARD)
    assert status == 1, out + err
    assert f"flowctl: error: component '{typo}' could not start" in err, err
    assert "no-such-program" in err and "not found" in err, err  # the engine's own words
    assert_no_traceback(out + err)
    assert containers_of(typo) == []
