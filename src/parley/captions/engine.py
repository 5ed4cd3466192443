"""The speech engine interface, its capabilities record, and the engines by name.

An engine turns one utterance of one speaker (16 kHz mono float32, at most ~30 s) into text in a
given language. It is loaded once per node and shared by every space (captions/pipeline.py calls
it from a worker pool, so `transcribe` must be safe to call from several threads at once).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ENGINE_SAMPLE_RATE_HZ = 16_000
Audio16k = npt.NDArray[np.float32]


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do, known without loading it (settings and API checks use it)."""

    name: str
    # ISO 639-1 codes it transcribes.
    languages: frozenset[str]
    # True: it gives words while the audio arrives; False: partial lines come from decoding the
    # growing utterance again (captions/agreement.py).
    streaming: bool
    # The longest utterance it takes in one call.
    max_utterance_s: float = 30.0


class UnknownLanguage(ValueError):
    pass


class SpeechEngine(ABC):
    capabilities: EngineCapabilities

    @abstractmethod
    def transcribe(self, audio: Audio16k, language: str, *, partial: bool = False) -> str:
        """The words of one utterance. `partial`: the utterance is still going on (its end may
        cut a word): an engine may decode it more cheaply."""

    def check_language(self, language: str) -> str:
        if language not in self.capabilities.languages:
            raise UnknownLanguage(f"{self.capabilities.name} does not transcribe {language!r}")
        return language
