"""A space's media on the clock's thread: who holds the floor, for the replay's markers, and
each member's talk time, for the host's analytics."""

from __future__ import annotations

import numpy as np
import pytest

from parley.media.mixer import FRAME_SAMPLES, SAMPLE_RATE_HZ, Samples
from parley.media.space import (
    AUDIBLE_HOLD_TICKS,
    SPEAKER_CHANGE_TICKS,
    OpusEncoder,
    SpaceMedia,
    SpeakerChanges,
)
from parley.media.tracks import InputQueue

pytestmark = pytest.mark.unit


def test_the_floor_changes_hands_after_half_a_second() -> None:
    changes = SpeakerChanges()
    heard = [changes.observe(1) for _ in range(SPEAKER_CHANGE_TICKS)]
    assert heard[-1] == 1 and heard[:-1] == [None] * (SPEAKER_CHANGE_TICKS - 1)
    # A short interjection does not move the marker; a held one does.
    assert [changes.observe(2) for _ in range(5)] == [None] * 5
    assert changes.observe(1) is None
    heard = [changes.observe(2) for _ in range(SPEAKER_CHANGE_TICKS)]
    assert heard[-1] == 2
    assert changes.observe(None) is None and changes.speaker == 2


def _member_audio(space: SpaceMedia, member: int, block: Samples) -> None:
    queue = space.inputs.setdefault(member, InputQueue(cushion=0))
    queue.push(block)


def test_talk_time_counts_the_ticks_a_member_is_heard_and_only_allowed_members() -> None:
    """Host analytics: each speaker's talk time is the time the mixer heard them (with the short
    hold that bridges a breath), a member on stage who stays silent has 0, and a muted member
    (not allowed into the mix) nothing."""
    space = SpaceMedia(space_id=1, encoder=OpusEncoder.voice(32000))
    space.inputs = {}
    space.allowed = frozenset({1, 2})
    t = np.arange(FRAME_SAMPLES) / SAMPLE_RATE_HZ
    loud = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    quiet = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    for tick in range(100):
        _member_audio(space, 1, loud if tick < 50 else quiet)
        _member_audio(space, 2, quiet)
        _member_audio(space, 3, loud)  # muted: not allowed
        space.tick()
    assert space.talk_ticks[1] == 50 + AUDIBLE_HOLD_TICKS
    assert space.talk_ticks[2] == 0 and 2 in space.talk_ticks
    assert 3 not in space.talk_ticks
