"""The live status table in a real terminal 80 and 60 columns wide, stopped with Ctrl+C
typed at the keyboard: which columns give way, and what the screen keeps afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import cli_env
from cli_screen import TABLE_TITLE, start_at_keyboard, table_header, table_on_screen
from fake_component_command import fake_command

from flowctl.testing import write_pipeline

METRICS = ("total_processed=10", "ledgers_received=56000002", "errors=0")
COMPONENTS = {
    "ledger-source": "source",
    "token-transfer-processor": "processor",
    "consumer-app": "sink",
}
HEARTBEAT_AGE = re.compile(r"^\d+(s|m\d\ds) ago$")


def pipeline(tmp_path: Path) -> Path:
    metric_flags = [flag for metric in METRICS for flag in ("--metric", metric)]

    def spec(cid: str, inputs: list[str]) -> dict[str, object]:
        kind = COMPONENTS[cid]
        return {
            "id": cid,
            "command": fake_command("--type", kind, *metric_flags),
            **({"inputs": inputs} if inputs else {}),
        }

    return write_pipeline(
        tmp_path / "p.yaml",
        sources=[spec("ledger-source", [])],
        processors=[spec("token-transfer-processor", ["ledger-source"])],
        sinks=[spec("consumer-app", ["token-transfer-processor"])],
    )


def healthy_with_metrics(lines: list[str]) -> bool:
    rows = table_on_screen(lines)
    return {row["ID"] for row in rows} == set(COMPONENTS) and all(
        row.get("STATE") == "healthy" and row.get("METRICS") for row in rows
    )


@pytest.mark.parametrize(
    ("columns", "header", "metrics"),
    [
        # The metrics shrink to their first whole item, then TYPE and UPTIME go; PID stays.
        (80, ["ID", "STATE", "PID", "HEARTBEAT", "METRICS"], "total_processed=10 …"),
        # Narrower: PID goes too, then the metrics are cut inside their first item.
        (60, ["ID", "STATE", "HEARTBEAT", "METRICS"], "total_proce…"),
    ],
)
async def test_the_state_and_heartbeat_never_give_way(
    tmp_path: Path, columns: int, header: list[str], metrics: str
) -> None:
    env = cli_env(TERM="xterm-256color")
    terminal = await start_at_keyboard(
        ["run", str(pipeline(tmp_path)), "--control-plane-port", "0", "--log-dir", "logs"],
        cwd=tmp_path,
        env=env,
        columns=columns,
    )
    try:
        await terminal.read_until(healthy_with_metrics)
        shown = terminal.lines
        await terminal.press_ctrl_c()
        await terminal.read_to_end()
        assert await terminal.process.wait() == 0
    finally:
        await terminal.aclose()

    assert table_header(shown) == header, "\n".join(shown)
    for row in table_on_screen(shown):
        assert row["STATE"] == "healthy"
        assert HEARTBEAT_AGE.match(row["HEARTBEAT"]), row
        assert row["METRICS"] == metrics, row
    # The last cells of each line stay free for the ^C the terminal echoes.
    title = next(i for i, line in enumerate(shown) if TABLE_TITLE.match(line))
    table = [line for line in shown[title:] if line]
    assert table and max(len(line) for line in table) <= columns - 2, table

    # Ctrl+C: the table goes, and leaves nothing behind (no stray `3/3 healthy` title).
    screen = terminal.lines
    assert not [line for line in screen if TABLE_TITLE.match(line)], terminal.text()
    assert terminal.text().splitlines()[-1].endswith("| stopped"), terminal.text()
    assert "Traceback" not in terminal.raw
