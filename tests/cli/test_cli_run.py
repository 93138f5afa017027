"""`flowctl run` through the real executable: the user's experience, end to end."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import trio
from cli_helpers import assert_all_gone, run_flowctl, start_flowctl
from fake_component_command import fake_command

from flowctl.testing import write_pipeline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_example_pipeline_runs_lists_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(
            nursery,
            [
                "run",
                str(EXAMPLES / "ttp-pipeline.yaml"),
                "--control-plane-port",
                "0",
                "--log-dir",
                str(tmp_path / "logs"),
            ],
            cwd=tmp_path,
        )
        endpoint = await flowctl.endpoint()
        assert endpoint.startswith("127.0.0.1:")
        await flowctl.wait_for_line(r"all 3 components registered")
        tree = flowctl.descendants()
        assert len(tree) >= 4  # three components, plus npm's shell and python

        status, out, err = await run_flowctl(["list", "--output", "json"], cwd=tmp_path)
        assert status == 0, err
        services = {s["serviceId"]: s for s in json.loads(out)["services"]}
        assert set(services) == {"stellar-live-source-datalake", "ttp-processor", "consumer-app"}
        assert all(service["isHealthy"] for service in services.values())

        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
        nursery.cancel_scope.cancel()
    assert_all_gone(tree)
    assert "Traceback" not in flowctl.output
    for component in services:
        assert (tmp_path / "logs" / f"{component}.log").stat().st_size > 0


async def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path / "p.yaml", sources=[{"id": "src", "command": fake_command()}])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = await run_flowctl(
            ["run", str(path), "--control-plane-port", str(port)], cwd=tmp_path
        )
    assert status == 1
    assert str(port) in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
    assert not (tmp_path / "logs").exists(), "nothing may start"


async def test_a_bad_pipeline_file_exits_2_naming_the_place(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "a", "command": fake_command(), "inputs": ["b"]}],
        processors=[{"id": "b", "command": fake_command(), "inputs": ["a"]}],
    )
    status, out, err = await run_flowctl(["run", str(path)], cwd=tmp_path)
    assert status == 2
    assert "p.yaml" in err and "cycle" in err
    assert "Traceback" not in out + err

    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pipeline\nspec: [unclosed\n")
    status, out, err = await run_flowctl(["run", str(broken)], cwd=tmp_path)
    assert status == 2 and "broken.yaml" in err and "line" in err
    assert "Traceback" not in out + err


async def test_a_component_exiting_3_while_starting_fails_the_run(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[
            {
                "id": "bad-sink",
                "inputs": ["src"],
                "command": fake_command(
                    "--register", "never", "--lines", "5", "--exit-after", "0.2", "--exit-code", "3"
                ),
            }
        ],
    )
    status, out, err = await run_flowctl(
        ["run", str(path), "--control-plane-port", "0", "--log-dir", str(tmp_path / "logs")],
        cwd=tmp_path,
    )
    assert status == 1
    assert "bad-sink" in err and "status 3" in err
    assert "bad-sink line 5" in err  # its last lines are repeated
    assert "Traceback" not in out + err
    assert "bad-sink line 5" in (tmp_path / "logs" / "bad-sink.log").read_text()


async def test_a_component_that_never_registers_times_out(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml",
        sources=[{"id": "src", "command": fake_command()}],
        sinks=[{"id": "silent", "inputs": ["src"], "command": fake_command("--register", "never")}],
    )
    status, out, err = await run_flowctl(
        [
            "run",
            str(path),
            "--control-plane-port",
            "0",
            "--registration-timeout",
            "1s",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        cwd=tmp_path,
    )
    assert status == 1
    assert "'silent'" in err and "timed out" in err
    assert "Traceback" not in out + err


async def test_a_missing_binary_names_the_component(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path / "p.yaml", sources=[{"id": "src", "command": ["./bin/not-there"]}]
    )
    status, out, err = await run_flowctl(
        ["run", str(path), "--control-plane-port", "0"], cwd=tmp_path
    )
    assert status == 1
    assert "'src'" in err and "not-there" in err
    assert "Traceback" not in out + err


async def test_bad_command_line_values_exit_2(tmp_path: Path) -> None:
    status, _, err = await run_flowctl(["run", "--shutdown-grace", "soon"], cwd=tmp_path)
    assert status == 2 and "soon" in err
    status, _, err = await run_flowctl(["run", "--orchestrator", "vm"], cwd=tmp_path)
    assert status == 2 and "--orchestrator" in err and "process" in err
