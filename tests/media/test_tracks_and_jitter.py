"""The input queue (the mixer's jitter buffer) and the immediate receive path."""

from __future__ import annotations

import numpy as np
import pytest
from aiortc.rtp import RtpPacket

from media_support import block_tone
from parley.media.jitter import DecodingAudioBuffer, ImmediateAudioBuffer
from parley.media.mixer import FRAME_SAMPLES
from parley.media.space import OpusEncoder
from parley.media.tracks import InputQueue
from webrtc_client import tone

pytestmark = pytest.mark.unit


def _blocks(queue: InputQueue) -> list[np.ndarray | None]:
    return [queue.pop() for _ in range(len(queue) + 1)]


def test_frames_of_any_size_become_20ms_blocks_in_order() -> None:
    queue = InputQueue(cushion=1)
    samples = np.arange(FRAME_SAMPLES * 2 + 100, dtype=np.int16)
    queue.push(samples[:700])
    queue.push(samples[700:])
    first, second = queue.pop(), queue.pop()
    assert first is not None and second is not None
    assert np.array_equal(np.concatenate([first, second]), samples[: FRAME_SAMPLES * 2])


def test_playing_waits_for_the_cushion_then_keeps_it() -> None:
    queue = InputQueue(cushion=1)
    block = np.full(FRAME_SAMPLES, 500, dtype=np.int16)
    queue.push(block)
    assert queue.pop() is None  # one block is not yet a cushion
    queue.push(block)
    assert queue.pop() is not None
    assert len(queue) == 1  # one block of cushion stays


def test_a_late_block_is_covered_by_a_fade_not_a_hole() -> None:
    queue = InputQueue(cushion=1)
    loud = np.full(FRAME_SAMPLES, 8000, dtype=np.int16)
    for _ in range(2):
        queue.push(loud)
    assert queue.pop() is not None
    assert queue.pop() is not None
    faded = queue.pop()  # ran dry
    assert faded is not None
    assert int(faded[0]) == 4000
    assert queue.underruns == 1
    queue.push(loud)
    assert int(queue.pop()[0]) == 2000  # still refilling the cushion: fading on
    queue.push(loud)
    assert int(queue.pop()[0]) == 8000


def test_a_standing_surplus_is_dropped_in_a_quiet_moment() -> None:
    queue = InputQueue(cushion=1, window_ticks=25)
    quiet = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    for _ in range(5):  # a burst: five blocks at once
        queue.push(quiet)
    for _ in range(120):  # then one block per tick, as the clock reads one
        queue.push(quiet)
        queue.pop()
    assert len(queue) == 1  # just the cushion left after each read
    assert queue.dropped >= 2


def test_loud_blocks_are_not_dropped_while_the_surplus_waits() -> None:
    queue = InputQueue(cushion=1, window_ticks=5)
    loud = np.full(FRAME_SAMPLES, 8000, dtype=np.int16)
    for _ in range(4):
        queue.push(loud)
    for _ in range(20):
        queue.push(loud)
        queue.pop()
    assert queue.dropped == 0


def test_a_queue_never_holds_more_than_its_depth() -> None:
    queue = InputQueue(depth=4)
    for _ in range(10):
        queue.push(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    assert len(queue) == 4


def _packet(seq: int, payload: bytes) -> RtpPacket:
    return RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960, payload=payload)


def test_decoding_buffer_recovers_a_lost_packet_from_fec_and_conceals_longer_gaps() -> None:
    encoder = OpusEncoder.voice(48000)
    packets = [
        p
        for i in range(20)
        for p in encoder.encode(tone(440)(i * FRAME_SAMPLES), i * FRAME_SAMPLES)
    ]
    out: list[np.ndarray] = []
    buffer = DecodingAudioBuffer(out.append)
    for seq in (0, 1, 2, 4, 5, 9, 10, 8):  # 3 lost, 6-7-8 lost then 8 arrives late
        assert buffer.add(_packet(seq, bytes(packets[seq]))) == (False, None)
    assert (buffer.recovered, buffer.concealed) == (2, 2)
    assert len(out) == 11  # 0..10 in order: a block for every frame, none for the late one
    assert all(block.size == FRAME_SAMPLES for block in out)
    recovered = out[3]
    assert block_tone(recovered, 440) > 0.1  # the lost frame came back from FEC


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
