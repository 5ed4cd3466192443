"""48 kHz int16 blocks to the 16 kHz float32 a speech engine takes. Pure numpy, no I/O."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from parley.captions.engine import ENGINE_SAMPLE_RATE_HZ

SOURCE_RATE_HZ = 48_000
FACTOR = SOURCE_RATE_HZ // ENGINE_SAMPLE_RATE_HZ  # 3
_TAPS = 96  # a multiple of FACTOR: the history carried between blocks stays aligned


def _lowpass(taps: int, cutoff_hz: float, rate_hz: int) -> npt.NDArray[np.float32]:
    """A windowed-sinc low-pass (Blackman): removes what would alias above 8 kHz."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = np.sinc(2 * cutoff_hz / rate_hz * n) * np.blackman(taps)
    normalized: npt.NDArray[np.float32] = (kernel / kernel.sum()).astype(np.float32)
    return normalized


_KERNEL = _lowpass(_TAPS + 1, 7300.0, SOURCE_RATE_HZ)


class Decimator:
    """Streams 48 kHz int16 blocks (any length that is a multiple of 3) into 16 kHz float32
    (full scale 1.0), carrying the filter's history across blocks so the joins are seamless."""

    def __init__(self) -> None:
        self._history = np.zeros(_TAPS, dtype=np.float32)

    def feed(self, block: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
        samples = block.astype(np.float32) * np.float32(1 / 32768)
        padded = np.concatenate([self._history, samples])
        self._history = padded[-_TAPS:]
        filtered = np.convolve(padded, _KERNEL, mode="valid")
        out: npt.NDArray[np.float32] = filtered[::FACTOR].astype(np.float32)
        return out
