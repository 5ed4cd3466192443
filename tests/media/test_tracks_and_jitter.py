"""The input queue (the mixer's jitter buffer) and the immediate receive path."""

from __future__ import annotations

import numpy as np
import pytest
from aiortc.rtp import RtpPacket

from parley.media.jitter import ImmediateAudioBuffer
from parley.media.mixer import FRAME_SAMPLES
from parley.media.tracks import InputQueue

pytestmark = pytest.mark.unit


def test_frames_of_any_size_become_20ms_blocks_in_order() -> None:
    queue = InputQueue()
    samples = np.arange(FRAME_SAMPLES * 2 + 100, dtype=np.int16)
    queue.push(samples[:700])
    queue.push(samples[700:])
    first, second = queue.pop(), queue.pop()
    assert first is not None and second is not None
    assert np.array_equal(np.concatenate([first, second]), samples[: FRAME_SAMPLES * 2])
    assert queue.pop() is None  # 100 samples wait for the rest of their block


def test_a_standing_backlog_is_worked_off() -> None:
    queue = InputQueue(depth=4, window_ticks=25)
    block = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    for _ in range(3):  # a burst: three blocks at once
        queue.push(block)
    for _ in range(60):  # then one block per tick, as the clock reads one
        queue.push(block)
        queue.pop()
    assert len(queue) <= 1


def test_a_queue_never_holds_more_than_its_depth() -> None:
    queue = InputQueue(depth=4)
    for _ in range(10):
        queue.push(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    assert len(queue) == 4


def _packet(seq: int, payload: bytes) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
    packet._data = payload  # type: ignore[attr-defined]
    return packet


def test_immediate_buffer_releases_each_packet_at_once_and_drops_late_ones() -> None:
    buffer = ImmediateAudioBuffer()
    assert buffer.add(_packet(10, b"a"))[1] is not None
    assert buffer.add(_packet(12, b"c"))[1] is not None  # 11 lost: no waiting for it
    late = buffer.add(_packet(11, b"b"))
    assert late == (False, None)
    frame = buffer.add(_packet(13, b"d"))[1]
    assert frame is not None
    assert (frame.data, frame.timestamp) == (b"d", 13 * 960)
    # Sequence numbers wrap around.
    buffer = ImmediateAudioBuffer()
    buffer.add(_packet(65535, b"x"))
    assert buffer.add(_packet(0, b"y"))[1] is not None
