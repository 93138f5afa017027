"""README "How a run works", step 3: components start in dependency order, as the
components themselves see it (not as flowctl reports it)."""

from __future__ import annotations

import signal
from pathlib import Path

import trio
from promise_helpers import noting_command, run_args, start_flowctl

from flowctl.testing import write_pipeline


async def test_the_components_start_after_everything_in_their_inputs(tmp_path: Path) -> None:
    notes = tmp_path / "starts"

    def noting(component_id: str, *inputs: str) -> dict[str, object]:
        spec: dict[str, object] = {"id": component_id, "command": noting_command(tmp_path, notes)}
        return {**spec, "inputs": list(inputs)} if inputs else spec

    # Declared in the wrong order on purpose: declaration order must not matter.
    path = write_pipeline(
        tmp_path / "p.yaml",
        sinks=[noting("sink", "proc", "side")],
        processors=[noting("proc", "src")],
        sources=[noting("src"), noting("side")],
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line(r"all 4 components registered")
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output

    # Only the order of the starts: how far apart they are is the runner's business.
    starts = [line.removeprefix("start ") for line in notes.read_text().splitlines()]
    assert sorted(starts) == ["proc", "side", "sink", "src"], starts
    assert starts.index("src") < starts.index("proc") < starts.index("sink"), starts
    assert starts.index("side") < starts.index("sink"), starts
