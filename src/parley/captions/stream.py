"""One speaker's audio on its way to the engine: 48 kHz blocks -> voice detection -> utterances.

The same path for live captions (captions/pipeline.py) and for `parley transcribe` (offline.py), so
an operator checking a file hears what a space would. WebRTC's voice-activity detector
(webrtcvad) reads the 48 kHz blocks as they are (~10 µs each); the decimated 16 kHz audio is what
the engine gets.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import webrtcvad

from parley.captions.audio import Decimator
from parley.captions.utterances import Cut, UtteranceCutter

# 0-3: how readily a block counts as not speech. 3 keeps noise and breaths from starting lines.
VAD_MODE = 3
SAMPLE_RATE_HZ = 48_000


class SpeakerStream:
    def __init__(self, numbering: Callable[[], int]) -> None:
        self._vad = webrtcvad.Vad(VAD_MODE)
        self._decimator = Decimator()
        self.cutter = UtteranceCutter(numbering)
        self.idle_blocks = 0

    def feed(self, block: npt.NDArray[np.int16] | None, at_s: float) -> list[Cut]:
        """One 20 ms block at 48 kHz starting at `at_s` (None: nothing heard this tick)."""
        if block is None:
            self.idle_blocks += 1
            return self.cutter.feed(None, False, at_s)
        self.idle_blocks = 0
        voiced = self._vad.is_speech(block.tobytes(), SAMPLE_RATE_HZ)
        return self.cutter.feed(self._decimator.feed(block), voiced, at_s)

    def flush(self) -> list[Cut]:
        return self.cutter.flush()
