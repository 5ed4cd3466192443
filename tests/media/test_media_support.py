"""The analysis the audio tests rely on finds what is there and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from media_support import block_tone, last_heard, tone_level
from webrtc_client import tone

pytestmark = pytest.mark.unit


def test_tone_level_measures_the_tone_and_ignores_others() -> None:
    samples = np.concatenate([tone(440, 0.3)(i * 960) for i in range(50)])  # 1 s
    assert tone_level(samples, 440) == pytest.approx(0.3 / np.sqrt(2), rel=0.05)
    assert tone_level(samples, 660) < 0.003
    both = samples // 2 + np.concatenate([tone(660, 0.3)(i * 960) for i in range(50)]) // 2
    assert tone_level(both, 440) > 0.09
    assert tone_level(both, 660) > 0.09


def test_block_tone_tells_apart_tones_in_20ms() -> None:
    a, b = tone(440, 0.3)(0), tone(660, 0.3)(0)
    assert block_tone(a, 440) == pytest.approx(0.3, rel=0.05)
    assert block_tone(a, 660) < 0.01
    assert block_tone(a // 2 + b // 2, 660) == pytest.approx(0.15, rel=0.1)
    arrivals = [(1.0, a), (2.0, a // 2 + b // 2), (3.0, a)]
    assert last_heard(arrivals, 660, 0.05) == 2.0
    assert last_heard(arrivals, 880, 0.05) == 0.0
