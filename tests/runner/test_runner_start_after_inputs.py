"""A component starts once everything in its `inputs` and `depends_on` has registered
(compose's `condition: service_healthy`), level by level, within the registration timeout."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import trio
from fake_component_command import fake_command
from loguru import logger

from flowctl import ComponentState, RegistrationTimeout
from flowctl.events import ComponentStarted, Event, EventBus, ServiceRegistered
from flowctl.runner import open_pipeline
from flowctl.testing import TEST_RUN_OPTIONS, open_test_pipeline, write_pipeline

HANG_GUARD = 60


def late_source_pipeline(tmp_path: Path, go: Path, key: str) -> Path:
    """src registers only once `go` exists; proc waits for it through `key`, sink for proc."""
    return write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[
            {
                "id": "src",
                "command": fake_command("--lines", "1", "--register-when", str(go)),
            }
        ],
        processors=[{"id": "proc", key: ["src"], "command": fake_command("--type", "processor")}],
        sinks=[{"id": "sink", "inputs": ["proc"], "command": fake_command("--type", "sink")}],
    )


def drain(channel: trio.MemoryReceiveChannel[Event]) -> list[Event]:
    seen = []
    while True:
        try:
            seen.append(channel.receive_nowait())
        except trio.WouldBlock:
            return seen


def milestones(events: list[Event]) -> list[str]:
    """'started X' and 'registered X', in the order they happened."""
    named = []
    for event in events:
        if isinstance(event, ComponentStarted):
            named.append(f"started {event.component_id}")
        elif isinstance(event, ServiceRegistered):
            named.append(f"registered {event.component_id}")
    return named


@pytest.mark.parametrize("key", ["inputs", "depends_on"])
async def test_a_component_starts_only_after_what_it_waits_for_registered(
    tmp_path: Path, key: str
) -> None:
    go = tmp_path / "src may register"
    path = late_source_pipeline(tmp_path, go, key)
    logs = tmp_path / "logs"
    src_is_running = trio.Event()

    async def watch(component_id: str, stream: str, line: str) -> None:
        if (component_id, line) == ("src", "src line 1"):
            src_is_running.set()

    bus = EventBus()
    seen = bus.subscribe()
    options = dataclasses.replace(TEST_RUN_OPTIONS, log_dir=logs)
    with trio.fail_after(HANG_GUARD):
        async with open_pipeline(path, options=options, output=watch, events=bus) as run:
            # src is up and waiting for `go`: it has not registered, so nothing that waits
            # for it may run (its log file is created when its process starts).
            await src_is_running.wait()
            assert "src" not in run.control_plane.registry.attached_components()
            assert [c.state for c in run.components.values()] == [
                ComponentState.WAITING_TO_REGISTER,
                ComponentState.NOT_STARTED,
                ComponentState.NOT_STARTED,
            ]
            assert not (logs / "proc.log").exists() and not (logs / "sink.log").exists()
            assert milestones(drain(seen)) == ["started src"]

            go.touch()
            assert await run.wait_ready()
            assert all(c.state is ComponentState.HEALTHY for c in run.components.values())
    assert milestones(drain(seen)) == [
        "registered src",
        "started proc",
        "registered proc",
        "started sink",
        "registered sink",
    ]


async def test_the_timeout_says_who_was_not_started_and_for_whom_they_waited(
    tmp_path: Path,
) -> None:
    # src never registers, by construction: however slow the machine, proc and sink wait.
    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[{"id": "src", "command": fake_command("--register", "never")}],
        processors=[{"id": "proc", "inputs": ["src"], "command": fake_command()}],
        sinks=[{"id": "sink", "depends_on": ["proc"], "command": fake_command()}],
    )
    with trio.fail_after(HANG_GUARD), pytest.raises(RegistrationTimeout) as caught:
        async with open_test_pipeline(
            path, log_dir=tmp_path / "logs", registration_timeout=1.0
        ) as run:
            await run.wait_ready()
    error = caught.value
    assert error.missing == ["src", "proc", "sink"]
    assert error.not_started == ["proc", "sink"]
    assert str(error) == (
        "registration timed out after 1s: 'src' never registered with the control plane; "
        "'proc' and 'sink' were not started: waiting for 'src' to register"
    )
    assert run.components["src"].state is ComponentState.EXITED
    assert {run.components[cid].state for cid in ("proc", "sink")} == {ComponentState.NOT_STARTED}


async def test_unset_variables_are_warned_about_at_run_start_and_restart_policy_is_not(
    tmp_path: Path,
) -> None:
    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[
            {
                "id": "src",
                "command": fake_command(),
                "restart_policy": "always",
                "env": {"DATA": "${FLOWCTL_TEST_UNSET_VARIABLE}/data"},
            }
        ],
        sinks=[{"id": "sink", "command": fake_command(), "restart_policy": "on-failure"}],
    )
    warnings: list[str] = []
    sink_id = logger.add(warnings.append, level="WARNING", format="{message}")
    try:
        with trio.fail_after(HANG_GUARD):
            async with open_test_pipeline(path, log_dir=tmp_path / "logs") as run:
                assert await run.wait_ready()
    finally:
        logger.remove(sink_id)
    assert [line.rstrip("\n") for line in warnings] == [
        f"{path}: spec.sources[0].env.DATA: variable FLOWCTL_TEST_UNSET_VARIABLE is not set; "
        "using an empty string",
    ]  # restart_policy is honoured now: no warning about it (tests/policies)


async def test_expanded_values_and_flowctl_python_reach_the_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWCTL_TEST_WHO", "ada")
    show = (
        "import os, sys; print(os.environ['GREETING'], os.environ['FLOWCTL_PYTHON'], sys.argv[1])"
    )
    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[
            {
                "id": "src",
                "command": ["${FLOWCTL_PYTHON}", "-c", show + "; import time; time.sleep(600)"],
                "args": ["${FLOWCTL_TEST_WHO}"],
                "env": {"GREETING": "hello ${FLOWCTL_TEST_WHO:-nobody}"},
            }
        ],
    )
    shown: list[str] = []
    printed = trio.Event()

    async def collect(component_id: str, stream: str, line: str) -> None:
        shown.append(line)
        printed.set()

    with trio.fail_after(HANG_GUARD):
        async with open_test_pipeline(path, log_dir=tmp_path / "logs", output=collect):
            await printed.wait()
    assert shown == [f"hello ada {sys.executable} ada"]
