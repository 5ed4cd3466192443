"""Audio assertions on content (how strong a tone is in what a client received), and an HLS
writer fed with ticks of tone or silence."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from parley.media.hls import HlsWriter
from parley.media.mixer import FRAME_SAMPLES, INT16_MAX, SAMPLE_RATE_HZ, Samples

TONE_HZ = 440.0
TICK_SAMPLES = FRAME_SAMPLES  # one 20 ms tick


def tone_level(samples: Samples, frequency_hz: float, bandwidth_hz: float = 15.0) -> float:
    """RMS amplitude (0..1 of full scale) of the part of `samples` near `frequency_hz`."""
    if samples.size < SAMPLE_RATE_HZ // 10:
        return 0.0
    signal = samples.astype(np.float64) / INT16_MAX
    spectrum = np.fft.rfft(signal * np.hanning(signal.size))
    freqs = np.fft.rfftfreq(signal.size, 1 / SAMPLE_RATE_HZ)
    band = np.abs(freqs - frequency_hz) <= bandwidth_hz
    # Parseval, with the Hann window's power gain (3/8) taken out.
    power = 2 * np.sum(np.abs(spectrum[band]) ** 2) / (signal.size**2) / 0.375
    return float(np.sqrt(power))


def rms(samples: Samples) -> float:
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean((samples.astype(np.float64) / INT16_MAX) ** 2)))


def block_tone(samples: Samples, frequency_hz: float) -> float:
    """Amplitude (0..1) of a tone in one short block, by projection on a windowed sinusoid."""
    n = np.arange(samples.size)
    window = np.hanning(samples.size)
    signal = samples.astype(np.float64) / INT16_MAX * window
    phase = 2 * np.pi * frequency_hz * n / SAMPLE_RATE_HZ
    re, im = np.dot(signal, np.cos(phase)), np.dot(signal, np.sin(phase))
    return float(2 * np.hypot(re, im) / window.sum())


def last_heard(arrivals: list[tuple[float, Samples]], frequency_hz: float, floor: float) -> float:
    """The arrival time of the last block in which the tone is above `floor` (0 if never)."""
    times = [at for at, block in arrivals if block_tone(block, frequency_hz) > floor]
    return max(times, default=0.0)


def last_tick_heard(
    blocks: list[Samples], timestamps: list[int], origin: int, frequency_hz: float, floor: float
) -> int:
    """The sender's tick (RTP timestamp / 960 from `origin`) of the last block with the tone."""
    ticks = [
        ((ts - origin) & 0xFFFFFFFF) // 960
        for block, ts in zip(blocks, timestamps, strict=True)
        if block_tone(block, frequency_hz) > floor
    ]
    return max(ticks, default=-1)


def new_writer(folder: Path) -> HlsWriter:
    """A started HLS writer with a 3-segment live window."""
    writer = HlsWriter(folder, bitrate=64000, window=3, clock=lambda: datetime.now(UTC))
    writer.start()
    return writer


def push_ticks(
    writer: HlsWriter, ticks: int, *, tone_ticks: range = range(0), pace_every: int = 0
) -> None:
    """`ticks` of silence, with a 440 Hz tone at about -12 dBFS during `tone_ticks`; with
    `pace_every`, a pause every so many ticks lets the writer's thread keep up with a long feed."""
    silence = np.zeros(TICK_SAMPLES, dtype=np.int16)
    for tick in range(ticks):
        if tick in tone_ticks:
            n = np.arange(TICK_SAMPLES) + tick * TICK_SAMPLES
            wave = np.sin(2 * np.pi * TONE_HZ * n / SAMPLE_RATE_HZ) * 8000
            writer.push(wave.astype(np.int16))
        else:
            writer.push(silence)
        if pace_every and tick % pace_every == pace_every - 1:
            time.sleep(0.005)
