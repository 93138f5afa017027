"""The engine's multiplexed log stream, however its bytes are cut into chunks, gives each
stream's bytes in order, and never buffers a frame whole (a frame may announce 4 GiB)."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from flowctl.orchestrator.engine_client import STDERR, STDOUT, _Frames


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


frames = st.lists(st.tuples(st.sampled_from([STDOUT, STDERR]), st.binary(max_size=300)))


@given(frames, st.lists(st.integers(min_value=1, max_value=50), min_size=1))
def test_any_chunking_gives_each_streams_bytes_in_order(
    items: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    wire = b"".join(frame(stream, payload) for stream, payload in items)
    parser, got = _Frames(), {STDOUT: b"", STDERR: b""}
    position, index = 0, 0
    while position < len(wire):
        size = cuts[index % len(cuts)]
        for stream, piece in parser.feed(wire[position : position + size]):
            got[stream] += piece
        position, index = position + size, index + 1
    for stream in (STDOUT, STDERR):
        assert got[stream] == b"".join(p for s, p in items if s == stream)


def test_a_frame_announcing_four_gib_is_delivered_as_it_arrives() -> None:
    parser = _Frames()
    header = struct.pack(">BxxxL", STDOUT, 2**32 - 1)
    assert parser.feed(header + b"abc") == [(STDOUT, b"abc")]
    assert parser.feed(b"d" * 1000) == [(STDOUT, b"d" * 1000)]
