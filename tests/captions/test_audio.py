"""48 kHz to 16 kHz for the engine (captions/audio.py)."""

from __future__ import annotations

import numpy as np
import pytest

from parley.captions.audio import Decimator

pytestmark = pytest.mark.unit


def _through(decimator: Decimator, samples: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [decimator.feed(samples[i : i + 960]) for i in range(0, samples.size, 960)]
    )


@pytest.mark.parametrize("hz", [200.0, 1000.0, 3400.0, 6000.0])
def test_speech_frequencies_pass_at_their_level_and_pitch(hz: float) -> None:
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * hz * t) * 10000).astype(np.int16)
    out = _through(Decimator(), tone)[400:]  # past the filter's start
    assert out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    peak_hz = np.fft.rfftfreq(out.size, 1 / 16000)[spectrum.argmax()]
    assert peak_hz == pytest.approx(hz, abs=2)
    assert float(np.sqrt(np.mean(out**2))) == pytest.approx(10000 / 32768 / np.sqrt(2), rel=0.05)


def test_what_would_alias_is_removed() -> None:
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 12000 * t) * 10000).astype(np.int16)  # would fold to 4 kHz
    out = _through(Decimator(), tone)[400:]
    assert float(np.sqrt(np.mean(out**2))) < 0.002


def test_blocks_join_without_a_seam() -> None:
    t = np.arange(9600) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    whole = Decimator().feed(tone)
    pieces = _through(Decimator(), tone)
    np.testing.assert_allclose(whole, pieces, atol=1e-6)
