"""`job: true` and the run's exit status through the real `flowctl run`: a job that a
processor waits for (started only once the job completed), a batch pipeline of jobs that
ends with 0 by itself, and `--exit-code-from`."""

from __future__ import annotations

import signal
from pathlib import Path

import trio
from policy_helpers import fake_command, run_args, run_flowctl, start_flowctl

from flowctl.testing import write_pipeline

# A job that never registers: prints a line, then exits 0.
JOB = fake_command("--register", "never", "--lines", "1", "--exit-after", "0")


async def test_a_processor_waiting_for_a_job_starts_once_it_completed(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "migrate", "command": JOB, "job": True}],
        processors=[
            {"id": "proc", "inputs": ["migrate"], "command": fake_command("--type", "processor")}
        ],
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        # The job never registers, and the barrier does not wait for it.
        await flowctl.wait_for_line(r"all 1 component registered")
        assert flowctl.process.returncode is None, flowctl.output
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()

    lines = flowctl.stdout
    completed = next(i for i, line in enumerate(lines) if "migrate completed" in line)
    started = next(i for i, line in enumerate(lines) if "started proc " in line)
    assert completed < started, flowctl.output
    assert not any("unexpectedly" in line for line in lines), flowctl.output
    assert "Traceback" not in flowctl.output


async def test_a_pipeline_of_jobs_ends_with_0_when_all_completed(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "extract", "command": JOB, "job": True}],
        processors=[
            {
                "id": "transform",
                "inputs": ["extract"],
                # A job may register too; it is not waited for either way.
                "command": fake_command("--type", "processor", "--exit-after", "0"),
                "job": True,
            }
        ],
        sinks=[{"id": "load", "inputs": ["transform"], "command": JOB, "job": True}],
    )
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path)

    assert status == 0, out + err
    order = [
        next(i for i, line in enumerate(out.splitlines()) if f"{cid} completed" in line)
        for cid in ("extract", "transform", "load")
    ]
    assert order == sorted(order), out
    assert "all 3 components completed" in out
    assert out.splitlines()[-1].endswith("stopped"), out
    assert err == "", err


async def test_a_failing_job_fails_the_run(tmp_path: Path) -> None:
    failing = fake_command("--register", "never", "--exit-after", "0", "--exit-code", "4")
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "migrate", "command": failing, "job": True}],
        sinks=[{"id": "sink", "inputs": ["migrate"], "command": fake_command()}],
    )
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path)

    assert status == 1, out + err
    assert "component 'migrate' exited with status 4 before it registered" in err
    assert "started sink" not in out  # it waited for the job to complete


async def test_exit_code_from_makes_a_components_status_the_runs(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[
            {
                "id": "check",
                "inputs": ["src"],
                "command": fake_command("--exit-after", "0", "--exit-code", "5"),
            }
        ],
    )
    args = run_args(path, tmp_path, "--exit-code-from", "check")
    status, out, err = await run_flowctl(args, cwd=tmp_path)

    assert status == 5, out + err
    assert "check exited with status 5: the run ends with status 5" in out
    assert "src stopped" in out  # the others are stopped, as on Ctrl+C
    assert "error" not in err, err

    status, out, err = await run_flowctl(
        run_args(path, tmp_path, "--exit-code-from", "chek"), cwd=tmp_path
    )
    assert status == 2, out + err
    assert err.strip() == (
        "flowctl: error: --exit-code-from chek: not a component of pipeline "
        "'test-pipeline' (p.yaml), did you mean 'check'?"
    )
