"""The live status view in a real terminal (a pty), with the example pipeline."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from cli_helpers import cli_env
from cli_pty import screen_lines, start_in_pty

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMPONENTS = {
    "stellar-live-source-datalake": "source",
    "ttp-processor": "processor",
    "consumer-app": "sink",
}
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (\S+) +[|!] ")
NAMES = "|".join(COMPONENTS)
TABLE_ROW = re.compile(rf"^\s*({NAMES})\s+(source|processor|sink)\s+(\S+)")
TABLE_HEADER = re.compile(r"^\s*ID\s+TYPE\s+STATE\s+PID\s+UPTIME\s+HEARTBEAT\s+METRICS\s*$")
TABLE_TITLE = re.compile(r"^\s*\d+/\d+ healthy")


def latest_states(lines: list[str]) -> dict[str, str]:
    """Each component's state in the last table drawn."""
    states: dict[str, str] = {}
    for line in lines:
        row = TABLE_ROW.match(line)
        if row:
            assert COMPONENTS[row.group(1)] == row.group(2), line
            states[row.group(1)] = row.group(3)
    return states


def all_healthy(lines: list[str]) -> bool:
    states = latest_states(lines)
    return set(states) == set(COMPONENTS) and set(states.values()) == {"healthy"}


async def test_the_live_view_shows_every_component_healthy(tmp_path: Path) -> None:
    env = cli_env(TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    flowctl = await start_in_pty(
        [
            "run",
            str(EXAMPLES / "ttp-pipeline.yaml"),
            "--control-plane-port",
            "0",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        cwd=tmp_path,
        env=env,
    )
    try:
        await flowctl.read_until(all_healthy)
        # The logs scroll above the table: component lines arrive while it is up.
        await flowctl.read_until(
            lambda lines: sum(1 for line in lines if LOG_LINE.match(line)) > 10
        )
        flowctl.process.send_signal(signal.SIGINT)
        await flowctl.read_to_end()
        assert await flowctl.process.wait() == 0
    finally:
        if flowctl.process.returncode is None:
            flowctl.process.kill()
        await flowctl.aclose()

    assert "\x1b[" in flowctl.raw, "a terminal gets colour and redraws"
    lines = screen_lines(flowctl.raw)
    table_rule = re.compile(r"^[\s─━-]+$")
    garbled = [
        line
        for line in lines
        if not (
            LOG_LINE.match(line)
            or TABLE_ROW.match(line)
            or TABLE_HEADER.match(line)
            or TABLE_TITLE.match(line)
            or table_rule.match(line)
        )
    ]
    assert not garbled, "lines that are neither a log line nor the table:\n" + "\n".join(garbled)
    sources = {LOG_LINE.match(line).group(1) for line in lines if LOG_LINE.match(line)}
    assert set(COMPONENTS) | {"flowctl"} <= sources
    assert any(line.endswith("| stopped") for line in lines)
    assert "Traceback" not in flowctl.raw
