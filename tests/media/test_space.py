"""A space's media on the clock's thread: who holds the floor, for the replay's markers."""

from __future__ import annotations

import pytest

from parley.media.space import SPEAKER_CHANGE_TICKS, SpeakerChanges

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
