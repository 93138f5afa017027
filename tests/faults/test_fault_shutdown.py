"""Matrix 3, 8, 12: stop order, one grace period for the whole stop, a crash after the barrier."""

from __future__ import annotations

import signal
from pathlib import Path

import trio
from fault_helpers import (
    assert_nothing_left,
    component,
    new_marker,
    run_args,
    run_tree,
    start_flowctl,
    stop_log,
    three_stage,
    write_pipeline,
)


def ordered(lines: list[str], first: set[str], then: set[str]) -> bool:
    """Every line of `first` comes before every line of `then`."""
    return max(lines.index(line) for line in first) < min(lines.index(line) for line in then)


async def test_stop_goes_sinks_processors_sources_each_level_together(tmp_path: Path) -> None:
    marker = new_marker()
    log = tmp_path / "sigterm.log"

    def node(component_id: str, peer: str | None, inputs: list[str]) -> dict:
        # A component of a two-member level exits only once its peer got SIGTERM too: if a
        # level were stopped one component at a time, it would be killed and not log "exit".
        peer_args = ("--stop-after-peer", peer) if peer else ()
        return component(component_id, marker, "--sigterm-log", str(log), *peer_args, inputs=inputs)

    path = write_pipeline(
        tmp_path / "pipeline.yaml",
        sources=[node("s1", "s2", []), node("s2", "s1", [])],
        processors=[node("p1", "p2", ["s1", "s2"]), node("p2", "p1", ["s1"])],
        sinks=[node("k", None, ["p1", "p2"])],
    )
    args = run_args(path, tmp_path)
    args[args.index("--shutdown-grace") + 1] = "20s"  # a generous one: nobody should need it
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, args, cwd=tmp_path)
        await flowctl.wait_for_line("all 5 components registered")
        tree = run_tree(flowctl, marker)
        flowctl.send_signal(signal.SIGINT)
        assert await flowctl.wait() == 0, flowctl.output
    lines = stop_log(log)
    everyone = ["k", "p1", "p2", "s1", "s2"]
    assert sorted(lines) == sorted(
        [f"term {c}" for c in everyone] + [f"exit {c}" for c in everyone]
    )
    assert ordered(lines, {"exit k"}, {"term p1", "term p2"})
    assert ordered(lines, {"exit p1", "exit p2"}, {"term s1", "term s2"})
    assert_nothing_left(tree, marker)


async def test_one_grace_bounds_the_whole_stop(tmp_path: Path) -> None:
    marker = new_marker()
    log = tmp_path / "sigterm.log"
    logged = ("--sigterm-log", str(log))
    path = three_stage(
        tmp_path,
        marker,
        source=logged,
        processor=logged,
        sink=(*logged, "--ignore-sigterm", "--daemon", "setsid"),
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("all 3 components registered")
        tree = run_tree(flowctl, marker)
        flowctl.send_signal(signal.SIGINT)
        started = trio.current_time()
        assert await flowctl.wait() == 0, flowctl.output
        elapsed = trio.current_time() - started
    print(f"grace 1s: flowctl exited {elapsed:.2f}s after Ctrl+C")
    assert "sink stopped (was killed by SIGKILL)" in flowctl.output
    # The sink used the one grace period up: the other levels were killed with it, not
    # given a grace period each.
    assert stop_log(log) == ["term sink"]
    assert_nothing_left(tree, marker)


async def test_a_component_killed_after_the_barrier_fails_the_run_in_order(
    tmp_path: Path,
) -> None:
    marker = new_marker()
    log = tmp_path / "sigterm.log"
    logged = ("--sigterm-log", str(log))
    path = three_stage(
        tmp_path, marker, source=logged, processor=("--lines", "4", *logged), sink=logged
    )
    async with trio.open_nursery() as nursery:
        flowctl = await start_flowctl(nursery, run_args(path, tmp_path), cwd=tmp_path)
        await flowctl.wait_for_line("all 3 components registered")
        tree = run_tree(flowctl, marker)
        (processor,) = [p for p in tree if p.environ().get("FLOWCTL_COMPONENT_ID") == "proc"]
        processor.kill()  # as the OOM killer would
        assert await flowctl.wait() == 1, flowctl.output
    errors = "\n".join(flowctl.stderr)
    assert "'proc'" in errors and "SIGKILL" in errors and "after it registered" in errors
    assert "proc line 4" in errors  # its last lines
    assert "Traceback" not in flowctl.output
    assert stop_log(log) == ["term sink", "exit sink", "term src", "exit src"]
    assert "proc line 4" in (tmp_path / "logs" / "proc.log").read_text()
    assert_nothing_left(tree, marker)
