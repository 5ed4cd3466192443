"""Transcribing an audio file as live captions would (`parley transcribe`): the same decoding to
48 kHz, voice detection, utterance cutting (captions/stream.py) and engine; each utterance's final
line, without the partials."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from parley.captions.engine import SpeechEngine
from parley.captions.stream import SAMPLE_RATE_HZ, SpeakerStream
from parley.captions.utterances import BLOCK_S, Ended

BLOCK_SAMPLES = int(SAMPLE_RATE_HZ * BLOCK_S)


@dataclass(frozen=True)
class Line:
    start_s: float
    end_s: float
    text: str


def blocks_of(path: Path) -> Iterator[npt.NDArray[np.int16]]:
    """The file's audio as 20 ms blocks of 48 kHz mono int16 (any format FFmpeg reads)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE_HZ)
    pending = np.zeros(0, dtype=np.int16)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = container.decode(stream)
        for frame in itertools.chain(frames, [None]):
            for out in resampler.resample(frame):
                pending = np.concatenate([pending, out.to_ndarray().reshape(-1)])
                while pending.size >= BLOCK_SAMPLES:
                    yield pending[:BLOCK_SAMPLES]
                    pending = pending[BLOCK_SAMPLES:]
    if pending.size:
        yield np.concatenate([pending, np.zeros(BLOCK_SAMPLES - pending.size, dtype=np.int16)])


def transcribe_file(path: Path, engine: SpeechEngine, language: str) -> list[Line]:
    engine.check_language(language)
    numbers = itertools.count(1)
    stream = SpeakerStream(numbers.__next__)
    lines: list[Line] = []
    # A second of silence after the file, so its last words end as they would live.
    silence = [np.zeros(BLOCK_SAMPLES, dtype=np.int16)] * int(1 / BLOCK_S)
    for n, block in enumerate(itertools.chain(blocks_of(path), silence)):
        for cut in stream.feed(block, round(n * BLOCK_S, 3)):
            if isinstance(cut, Ended):
                utterance = cut.utterance
                text = engine.transcribe(utterance.audio(), language)
                if text:
                    lines.append(Line(utterance.start_s, round(utterance.end_s, 3), text))
    return lines
