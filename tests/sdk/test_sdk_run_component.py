"""run_component in this process: exit statuses, stopping, and running without flowctl."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from sdk_fake_control_plane import unlistened_socket

from flowctl.sdk import ComponentSettings, StopToken, run_component

DISABLED = ComponentSettings(enabled=False)


def test_without_flowctl_it_just_runs_the_work() -> None:
    done: list[str] = []

    async def work(stop: StopToken) -> None:
        done.append("worked")

    status = run_component(
        service_type="source", work=work, settings=DISABLED, configure_logging=False
    )

    assert (status, done) == (0, ["worked"])


def test_failing_work_exits_1_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    async def work(stop: StopToken) -> None:
        raise RuntimeError("ledger 42 is corrupt")

    status = run_component(
        service_type="sink", work=work, settings=DISABLED, configure_logging=False
    )

    assert status == 1
    assert "ledger 42 is corrupt" in caplog.text


def test_sigterm_cancels_the_work_and_exits_0() -> None:
    seen: list[str] = []

    async def work(stop: StopToken) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append(f"cancelled, stop set: {stop.is_set} ({stop.reason})")
            raise

    status = run_component(
        service_type="processor", work=work, settings=DISABLED, configure_logging=False
    )

    assert status == 0
    assert seen == ["cancelled, stop set: True (received SIGTERM)"]


def test_stop_sleep_wakes_up_on_a_stop_request() -> None:
    async def scenario() -> tuple[bool, bool]:
        stop = StopToken()
        quiet = await stop.sleep(0.01)
        asyncio.get_running_loop().call_soon(stop.set, "test")
        woken = await stop.sleep(10)
        return quiet, woken

    assert asyncio.run(scenario()) == (False, True)


def test_a_bad_environment_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ENABLE_FLOWCTL", "true")
    monkeypatch.setenv("FLOWCTL_HEARTBEAT_INTERVAL", "every now and then")

    status = run_component(service_type="source", configure_logging=False)

    assert status == 2
    assert "FLOWCTL_HEARTBEAT_INTERVAL" in caplog.text


def test_an_unknown_service_type_exits_2(caplog: pytest.LogCaptureFixture) -> None:
    status = run_component(service_type="transformer", settings=DISABLED, configure_logging=False)

    assert status == 2
    assert "unknown service type 'transformer'" in caplog.text


def test_no_control_plane_exits_1_naming_the_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    sock = unlistened_socket()
    port = sock.getsockname()[1]
    settings = ComponentSettings(
        enabled=True, host="127.0.0.1", port=port, registration_timeout=0.2
    )

    async def work(stop: StopToken) -> None:
        raise AssertionError("work must not start without a registration")

    status = run_component(
        service_type="sink", work=work, settings=settings, configure_logging=False
    )

    assert status == 1
    assert f"no control plane answered at 127.0.0.1:{port}" in caplog.text
    sock.close()


def test_importing_the_sdk_leaves_trio_out() -> None:
    # Components import flowctl.sdk on every start: it must stay light.
    check = "import sys, flowctl.sdk; print(sorted(m for m in sys.modules if 'trio' in m))"
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
