"""Component output: lines to the sink, bytes to the log, and a drain that always ends."""

from __future__ import annotations

import signal
from pathlib import Path

import trio
import trio.testing
from orch_helpers import OutputRecorder, python, running, sh, spec_for

from flowctl.orchestrator import ExitStatus, ProcessOrchestrator
from flowctl.orchestrator.output import MAX_LINE, DrainWindow, LineSplitter, LogFile, OutputPump


async def run_to_end(tmp_path: Path, argv: list[str]) -> tuple[OutputRecorder, bytes]:
    """Run a component to its exit; return what the sink got and the log file's bytes."""
    output = OutputRecorder()
    spec = spec_for(tmp_path, argv)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator().start(spec, nursery, output)
            assert await component.wait() == ExitStatus(0)
    return output, spec.log_path.read_bytes()


async def test_partial_last_line_crlf_and_bad_utf8(tmp_path: Path) -> None:
    output, log = await run_to_end(tmp_path, sh(r"printf 'caf\351\r\nwindows\r\nno newline'"))

    assert output.lines("stdout") == ["caf\ufffd", "windows", "no newline"]
    assert log == b"caf\xe9\r\nwindows\r\nno newline"


async def test_a_long_line_without_newline_arrives_in_bounded_pieces(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('x' * 1_000_000)"
    output, log = await run_to_end(tmp_path, python(code))

    pieces = output.lines("stdout")
    assert len(pieces) > 1
    assert all(len(piece) <= MAX_LINE for piece in pieces)
    assert "".join(pieces) == "x" * 1_000_000
    assert log == b"x" * 1_000_000


async def test_many_lines_arrive_in_order_and_whole_in_the_log(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(50_000): sys.stdout.write(f'line {i}\\n')"
    output, log = await run_to_end(tmp_path, python(code))

    expected = [f"line {i}" for i in range(50_000)]
    assert output.lines("stdout") == expected
    assert log == "".join(f"{line}\n" for line in expected).encode()


async def test_a_grandchild_holding_stdout_does_not_hold_up_wait(tmp_path: Path) -> None:
    # The grandchild ignores SIGTERM and keeps the pipe open; only the drain bound ends the
    # read. A long cancel_grace makes sure that its SIGKILL does not end the read instead.
    # The main process exits only once the grandchild has set its trap: a SIGTERM that
    # came first would end it and let the pipe close on its own.
    ready = tmp_path / "trap set"
    script = (
        f'sh -c \'trap "" TERM; touch "{ready}"; exec sleep 300\' & echo "grandchild $!"; '
        f'while [ ! -e "{ready}" ]; do sleep 0.01; done; echo done'
    )
    output = OutputRecorder()
    with trio.fail_after(10):  # hang guard: 300 s if the pump waited for end-of-file
        async with trio.open_nursery() as nursery:
            component = await ProcessOrchestrator(cancel_grace=300).start(
                spec_for(tmp_path, sh(script)), nursery, output
            )
            status = await component.wait()
            announcement, last = output.lines()
            assert last == "done"
            grandchild = int(announcement.split()[1])
            assert running(grandchild)
            component.kill()

    assert status == ExitStatus(0)
    assert not running(grandchild)


async def test_the_pump_stops_reading_at_the_cap_even_if_data_keeps_coming(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    send, receive = trio.testing.memory_stream_one_way_pair()
    output = OutputRecorder()
    window = DrainWindow(idle=0.25, cap=2.0)
    log = LogFile(tmp_path / "chatty.log")
    pump = OutputPump(receive, log, lambda line: output("chatty", "stdout", line), window)

    async def chatter() -> None:  # a grandchild that never stops talking
        while True:
            await send.send_all(b"tick\n")
            await trio.sleep(0.1)

    with trio.fail_after(60):  # virtual time: without the cap the pump would read forever
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump.run)
            nursery.start_soon(chatter)
            await trio.sleep(1)
            before_exit = len(output.lines())
            window.open()  # the main process exited
            await pump.finished.wait()
            nursery.cancel_scope.cancel()

    assert len(output.lines()) > before_exit  # it kept reading for a while, then stopped
    assert set(output.lines()) == {"tick"}


def test_splitter_cuts_long_lines_between_utf8_characters() -> None:
    splitter = LineSplitter(max_line=8)
    text = "é" * 10  # 2 bytes each: a cut at byte 8 is fine, at 7 it would split one
    lines = splitter.feed(b"x" + text.encode()) + splitter.finish()

    assert "".join(lines) == "x" + text
    assert "\ufffd" not in "".join(lines)


def test_signal_names_in_exit_descriptions() -> None:
    assert ExitStatus(-signal.SIGKILL).describe() == "was killed by SIGKILL"
    assert ExitStatus(-signal.SIGTERM).signal == signal.SIGTERM
    assert ExitStatus(3).signal is None
