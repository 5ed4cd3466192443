"""Cutting one speaker's audio into utterances, from a voice-activity flag per 20 ms block.

Pure: no I/O, no clock of its own (each block carries its time on the space's recording timeline).
A non-streaming engine (Whisper) needs whole utterances: one starts when the speaker's voice is
heard in 2 of 3 blocks (with 200 ms of the audio before it, so the first sound is not cut), and
ends after 600 ms without voice or at 8 s of speech, where a new one begins at once (at 400 ms a
speaker's pause at a comma split a sentence in two, and each half lost the other's context: 16.7 %
-> 15.8 % WER on our French set; the final comes 0.2 s later). While it grows, a partial is due
after 0.5 s and 0.8 s of voice, then every 1.5 s (the engine decodes the growing audio again:
captions/agreement.py keeps the words two passes agree on). A block missing (the member was not
heard this tick: muted, or their audio did not arrive) counts as silence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from parley.captions.engine import ENGINE_SAMPLE_RATE_HZ

BLOCK_S = 0.02
START_WINDOW = 3  # blocks looked at to start
START_VOICED = 2  # of them voiced
PRE_ROLL_BLOCKS = 10
END_SILENCE_S = 0.6
MAX_UTTERANCE_S = 8.0
# Shorter voiced time than this is a cough or a click: no line.
MIN_VOICED_S = 0.24
# Audio kept after the last voiced block when an utterance ends (see _end).
TAIL_KEPT_S = 0.4
# Partials are due after 0.5 s of voice and 0.3 s later (the first pass over half a second is
# sometimes empty), then every PARTIAL_EVERY_S: each is a decode of the whole utterance so far, the
# pipeline's main cost (bench/captions.py).
FIRST_PARTIAL_S = 0.5
SECOND_PARTIAL_S = 0.8
PARTIAL_EVERY_S = 1.5

Block16k = npt.NDArray[np.float32]


@dataclass(eq=False)  # compared and hashed by identity: the pipeline keys state on it
class Utterance:
    number: int
    start_s: float
    end_s: float = 0.0
    voiced_s: float = 0.0
    blocks: list[Block16k] = field(default_factory=list)
    # Where the last voiced block ended: the utterance's end once the silence runs out.
    last_voice_end_s: float = 0.0
    partials_due: int = 0

    def audio(self) -> Block16k:
        if not self.blocks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self.blocks)

    @property
    def samples(self) -> int:
        return sum(block.size for block in self.blocks)

    @property
    def duration_s(self) -> float:
        return self.samples / ENGINE_SAMPLE_RATE_HZ


@dataclass(frozen=True)
class PartialDue:
    utterance: Utterance
    at_s: float  # when it became due (the end of the last block)


@dataclass(frozen=True)
class Ended:
    utterance: Utterance


Cut = PartialDue | Ended


class UtteranceCutter:
    """One speaker's stream. `numbering` gives each new utterance its number (unique in the
    space: the pipeline shares one counter per space)."""

    def __init__(self, numbering: Callable[[], int]) -> None:
        self._numbering = numbering
        self._recent: deque[tuple[Block16k, bool, float]] = deque(maxlen=PRE_ROLL_BLOCKS)
        self.current: Utterance | None = None
        self._silence_s = 0.0
        self._next_partial_s = FIRST_PARTIAL_S

    def feed(self, block: Block16k | None, voiced: bool, at_s: float) -> list[Cut]:
        """One 20 ms block (None: nothing heard from the speaker this tick) that starts at
        `at_s`; returns what is due."""
        if block is None:
            block = np.zeros(int(BLOCK_S * ENGINE_SAMPLE_RATE_HZ), dtype=np.float32)
            voiced = False
        end_s = at_s + BLOCK_S
        utterance = self.current
        if utterance is None:
            self._recent.append((block, voiced, at_s))
            recent = list(self._recent)[-START_WINDOW:]
            if not voiced or sum(v for _, v, _ in recent) < START_VOICED:
                return []
            return self._start(end_s)
        utterance.blocks.append(block)
        utterance.end_s = end_s
        cuts: list[Cut] = []
        if voiced:
            utterance.voiced_s += BLOCK_S
            utterance.last_voice_end_s = end_s
            self._silence_s = 0.0
        else:
            self._silence_s += BLOCK_S
        if self._silence_s >= END_SILENCE_S - 1e-9:
            return self._end(utterance)
        if utterance.duration_s >= MAX_UTTERANCE_S - 1e-9:
            # Too long for one line: it ends here and the speaker goes on in a new one.
            utterance.last_voice_end_s = end_s
            cuts = self._end(utterance)
            self.current = self._begin(end_s, [])
            return cuts
        if voiced and utterance.voiced_s >= self._next_partial_s - 1e-9:
            self._next_partial_s = (
                SECOND_PARTIAL_S
                if self._next_partial_s < SECOND_PARTIAL_S
                else utterance.voiced_s + PARTIAL_EVERY_S
            )
            utterance.partials_due += 1
            cuts.append(PartialDue(utterance, end_s))
        return cuts

    def flush(self) -> list[Cut]:
        """The stream stops (the speaker left, captions turned off): what was said is final."""
        if self.current is None:
            return []
        return self._end(self.current)

    def _start(self, end_s: float) -> list[Cut]:
        blocks = [b for b, _, _ in self._recent]
        voiced_blocks = sum(voiced for _, voiced, _ in self._recent)
        start_s = self._recent[0][2]
        self._recent.clear()
        utterance = self._begin(start_s, blocks)
        utterance.end_s = end_s
        utterance.last_voice_end_s = end_s
        utterance.voiced_s = voiced_blocks * BLOCK_S
        self.current = utterance
        return []

    def _begin(self, start_s: float, blocks: list[Block16k]) -> Utterance:
        self._silence_s = 0.0
        self._next_partial_s = FIRST_PARTIAL_S
        return Utterance(number=self._numbering(), start_s=start_s, blocks=blocks)

    def _end(self, utterance: Utterance) -> list[Cut]:
        self.current = None
        self._silence_s = 0.0
        self._recent.clear()
        utterance.end_s = utterance.last_voice_end_s
        # Keep the audio up to the last voice and a little after: the voice detector (mode 3,
        # aggressive) calls the soft end of a word silence ("reposer", a trailing fricative), and
        # with 0.1 s kept Whisper lost it (French set 19.6 % WER, 12.5 % at 0.4 s; English 0 % at
        # both). Much more silence adds decoding cost and invites Whisper to imagine words.
        keep = int((utterance.end_s - utterance.start_s + TAIL_KEPT_S) * ENGINE_SAMPLE_RATE_HZ)
        audio = utterance.audio()[:keep]
        utterance.blocks = [audio]
        if utterance.voiced_s < MIN_VOICED_S:
            return []
        return [Ended(utterance)]
