"""Jobs through the embedding API, with real processes: `run.wait_healthy()` waits for the
long-running components only (a job counts once completed), and a completed job stays
`completed` in `run.components` after its silent registration turned unhealthy."""

from __future__ import annotations

from pathlib import Path

import trio
from policy_helpers import fake_command

from flowctl import ComponentState
from flowctl.testing import open_test_pipeline, write_pipeline

# Never registers: prints a line and exits 0.
SILENT_JOB = fake_command("--register", "never", "--lines", "1", "--exit-after", "0")
# Registers, then exits 0 at once: its registration goes silent.
REGISTERING_JOB = fake_command("--exit-after", "0")


def pipeline_with_jobs(tmp_path: Path) -> Path:
    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[
            {"id": "migrate", "command": REGISTERING_JOB, "job": True},
            {"id": "seed", "command": SILENT_JOB, "job": True},
            {"id": "src", "command": fake_command()},
        ],
        processors=[
            {
                "id": "proc",
                "inputs": ["src", "migrate"],
                "command": fake_command("--type", "processor"),
            }
        ],
    )


async def test_wait_healthy_waits_for_the_long_running_components_only(tmp_path: Path) -> None:
    with trio.fail_after(60):  # a guard against a hang, not a measure
        async with open_test_pipeline(
            pipeline_with_jobs(tmp_path), log_dir=tmp_path / "logs"
        ) as run:
            await run.wait_healthy()  # src and proc; proc started once migrate completed
            views = run.components
            assert views["src"].state is ComponentState.HEALTHY
            assert views["proc"].state is ComponentState.HEALTHY
            assert views["migrate"].state is ComponentState.COMPLETED
            # A job named explicitly counts once it completed; seed never registers.
            await run.wait_healthy(["seed", "migrate", "proc"])
            assert run.components["seed"].state is ComponentState.COMPLETED


async def test_a_completed_job_stays_completed_once_its_registration_is_silent(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_test_pipeline(
            pipeline_with_jobs(tmp_path), log_dir=tmp_path / "logs", janitor_interval=0.1
        ) as run:
            events = run.events.subscribe()
            registry = run.control_plane.registry
            views = run.components

            def migrate_silent() -> bool:
                records = {record.service_id: record for record in registry.list()}
                return "migrate" in records and not records["migrate"].healthy

            # Every change below is followed by an event: checked before each wait, so one
            # that came before the subscription is not missed. The order is made certain,
            # whatever the machine's load: the job completes under the default TTL (30 s),
            # and only then is its registration let go silent.
            while views["migrate"].state is not ComponentState.COMPLETED:
                await events.receive()
            registry.heartbeat_ttl = 0.1
            while not migrate_silent():
                await events.receive()
            assert run.components["migrate"].state is ComponentState.COMPLETED
            note = registry.get("migrate").run_note
            assert note is not None and note.state == "completed"
            await run.wait_healthy(["migrate"])  # still satisfied
