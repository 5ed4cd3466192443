"""Mixing arithmetic: sums, mix-minus, the limiter, levels and the speaking reports."""

from __future__ import annotations

import numpy as np
import pytest

from media_support import tone_level
from parley.media.mixer import (
    FRAME_SAMPLES,
    INT16_MAX,
    SILENCE,
    LevelReporter,
    Limiter,
    StageMixer,
    level,
)
from webrtc_client import tone

pytestmark = pytest.mark.unit


def _block(value: int) -> np.ndarray:
    return np.full(FRAME_SAMPLES, value, dtype=np.int16)


def test_full_mix_is_the_sum_and_mix_minus_leaves_out_ones_own_voice() -> None:
    mixer = StageMixer()
    full, minus = mixer.mix({1: _block(100), 2: _block(200), 3: _block(-50)}, {1, 2, 4})
    assert np.all(full == 250)
    assert np.all(minus[1] == 150)
    assert np.all(minus[2] == 50)
    assert np.all(minus[4] == 250)  # an output that is not speaking hears everyone
    assert set(minus) == {1, 2, 4}


def test_nobody_speaking_is_silence_for_everyone() -> None:
    full, minus = StageMixer().mix({}, {1, 2})
    assert full is SILENCE
    assert all(m is SILENCE for m in minus.values())


def test_tones_survive_mixing() -> None:
    a = np.concatenate([tone(440)(i * FRAME_SAMPLES) for i in range(25)])
    b = np.concatenate([tone(660)(i * FRAME_SAMPLES) for i in range(25)])
    mixer = StageMixer()
    fulls, a_hears = [], []
    for i in range(25):
        window = slice(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES)
        full, minus = mixer.mix({1: a[window], 2: b[window]}, {1, 2})
        fulls.append(full)
        a_hears.append(minus[1])
    assert tone_level(np.concatenate(fulls), 440) > 0.2
    assert tone_level(np.concatenate(fulls), 660) > 0.2
    assert tone_level(np.concatenate(a_hears), 440) < 0.001
    assert tone_level(np.concatenate(a_hears), 660) > 0.2


def test_limiter_never_clips_and_recovers() -> None:
    limiter = Limiter()
    loud = np.full(FRAME_SAMPLES, 13 * 20000, dtype=np.float32)  # 13 loud speakers
    out = limiter.process(loud)
    assert out.max() <= limiter.threshold + 1
    assert out.dtype == np.int16
    assert limiter.gain == pytest.approx(limiter.threshold / (13 * 20000))
    quiet = np.full(FRAME_SAMPLES, 1000, dtype=np.float32)
    for _ in range(40):
        out = limiter.process(quiet)
    assert limiter.gain == pytest.approx(1.0)
    assert np.all(out == 1000)


def test_limiter_leaves_normal_levels_untouched() -> None:
    signal = np.concatenate([tone(440, 0.5)(0)]).astype(np.float32)
    assert np.array_equal(Limiter().process(signal), signal.astype(np.int16))


def test_many_loud_speakers_stay_within_int16() -> None:
    mixer = StageMixer()
    speakers = {i: np.full(FRAME_SAMPLES, INT16_MAX, dtype=np.int16) for i in range(13)}
    full, minus = mixer.mix(speakers, set(speakers))
    assert full.max() <= INT16_MAX
    assert all(m.max() <= INT16_MAX for m in minus.values())


def test_level_scale() -> None:
    assert level(SILENCE) == 0.0
    assert level(np.full(FRAME_SAMPLES, INT16_MAX, dtype=np.int16)) == pytest.approx(1.0)
    assert 0.4 < level(tone(440, 0.1)(0)) < 0.7  # about -23 dBFS


def test_level_reports_are_throttled_and_only_on_change() -> None:
    reporter = LevelReporter(interval_ticks=10)
    reports = []
    for tick in range(50):
        if tick < 30:
            reporter.add(7, 0.8)
        reports.append(reporter.tick({7}))
    sent = [r for r in reports if r is not None]
    # 50 ticks = 1 s: at most 5 reports; the level is sent once, then its end.
    assert sent == [{7: 0.8}, {7: 0.0}]
    assert reports.index({7: 0.8}) == 9


def test_quiet_members_do_not_count_as_speaking() -> None:
    reporter = LevelReporter(interval_ticks=1, threshold=0.25)
    reporter.add(1, 0.1)
    assert reporter.tick({1}) is None
