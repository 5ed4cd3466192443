"""Mixing arithmetic for one 20 ms tick: the full mix, each member's mix-minus, a limiter, levels.

Pure numpy, no I/O: the engine calls it from its media thread.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ = 48_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000  # 960
INT16_MAX = 32767

Samples = npt.NDArray[np.int16]
Wide = npt.NDArray[np.int32] | npt.NDArray[np.float32]

SILENCE: Samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)


_RAMP = np.linspace(0.0, 1.0, FRAME_SAMPLES, dtype=np.float32)


class Limiter:
    """Keeps a summed signal inside int16 without clipping clicks.

    The gain drops at once to what the frame's peak needs (no overshoot) and recovers slowly
    (release), with a linear ramp inside the frame so gain changes do not click.
    """

    def __init__(self, threshold: float = 0.89 * INT16_MAX, release_per_frame: float = 0.05):
        self.threshold = threshold
        self.release_per_frame = release_per_frame
        self.gain = 1.0

    def process(self, mixed: Wide) -> Samples:
        peak = int(max(mixed.max(), -mixed.min())) if mixed.size else 0
        if self.gain == 1.0 and peak <= self.threshold:
            out: Samples = mixed.astype(np.int16)  # the common case: nothing to limit
            return out
        needed = min(1.0, self.threshold / peak) if peak > 0 else 1.0
        target = min(needed, self.gain + self.release_per_frame)
        if target <= self.gain:
            # Attack at once: the whole frame at the gain its peak needs, so nothing clips.
            scaled = mixed * np.float32(target)
        else:
            # Release along a ramp; it ends at `target`, which the peak allows.
            scaled = mixed * (np.float32(self.gain) + np.float32(target - self.gain) * _RAMP)
        self.gain = target
        limited: Samples = scaled.astype(np.int16)
        return limited


class StageMixer:
    """Sums the active members into the full mix and each output's mix-minus.

    `outputs` are the members who receive a mix-minus (the stage members with a session); an
    output that is not active gets the full mix.
    """

    def __init__(self) -> None:
        self.full_limiter = Limiter()
        self._limiters: dict[int, Limiter] = {}

    def mix(
        self, active: Mapping[int, Samples], outputs: frozenset[int] | set[int]
    ) -> tuple[Samples, dict[int, Samples]]:
        if not active:
            return SILENCE, dict.fromkeys(outputs, SILENCE)
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for samples in active.values():
            total += samples
        full = self.full_limiter.process(total)
        minus: dict[int, Samples] = {}
        for member in outputs:
            own = active.get(member)
            if own is None:
                minus[member] = full  # they add nothing: they hear everyone
                continue
            limiter = self._limiters.get(member)
            if limiter is None:
                limiter = self._limiters[member] = Limiter()
            minus[member] = limiter.process(total - own)
        for gone in set(self._limiters) - set(outputs):
            del self._limiters[gone]
        return full, minus


def level(samples: Samples) -> float:
    """Loudness of a frame from 0 (silence) to 1 (full scale), on a 60 dB scale."""
    wide = samples.astype(np.int64)
    rms = float(np.sqrt(np.dot(wide, wide) / max(1, samples.size)))
    if rms < 1.0:
        return 0.0
    dbfs = 20.0 * np.log10(rms / INT16_MAX)
    return float(max(0.0, min(1.0, (dbfs + 60.0) / 60.0)))


class LevelReporter:
    """Speaking indicators: at most one report per interval, and only the levels that changed.

    Levels are quantized to steps so tiny changes are not sent; a member under the speaking
    threshold reports 0.
    """

    def __init__(self, interval_ticks: int = 10, steps: int = 10, threshold: float = 0.25):
        self.interval_ticks = interval_ticks  # 10 ticks of 20 ms: 5 reports a second
        self.steps = steps
        self.threshold = threshold
        self._peak: dict[int, float] = {}
        self._sent: dict[int, float] = {}
        self._ticks = 0

    def add(self, member: int, value: float) -> None:
        self._peak[member] = max(self._peak.get(member, 0.0), value)

    def tick(self, members: set[int] | frozenset[int]) -> dict[int, float] | None:
        """Call once per mixer tick; returns the changed levels when a report is due."""
        self._ticks += 1
        if self._ticks < self.interval_ticks:
            return None
        self._ticks = 0
        changed: dict[int, float] = {}
        for member in members | set(self._sent):
            value = self._peak.get(member, 0.0) if member in members else 0.0
            quantized = round(value * self.steps) / self.steps if value >= self.threshold else 0.0
            if self._sent.get(member, 0.0) != quantized:
                changed[member] = quantized
            if quantized == 0.0:
                self._sent.pop(member, None)
            else:
                self._sent[member] = quantized
        self._peak.clear()
        return changed or None
