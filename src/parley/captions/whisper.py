"""The Whisper engines: faster-whisper's model loading, features and tokenizer, with our own call
to CTranslate2 so the encoder sees the utterance, not 30 s of it.

faster-whisper pads every window to 30 s of features (its `pad_or_trim`), so a 2 s utterance
costs the encoder as much as 30 s (0.76 s of CPU for base, int8, one thread, measured here).
CTranslate2 has taken shorter inputs since 3.19 (OpenNMT/CTranslate2#1446): encoding the
utterance itself (plus a little silence) costs 0.09 s for 10 s of audio, and read the same words on
our test set (tests/captions/test_whisper.py, bench/captions.py). This module is the one place
that reaches into faster-whisper's objects (`model`, `feature_extractor`, `hf_tokenizer`,
`Tokenizer`, `get_suppressed_tokens`); tests/captions/test_whisper.py checks they are there.
"""

from __future__ import annotations

import logging

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from parley.captions import models
from parley.captions.engine import (
    ENGINE_SAMPLE_RATE_HZ,
    Audio16k,
    EngineCapabilities,
    SpeechEngine,
)

log = logging.getLogger(__name__)

CAPABILITIES = {
    models.BASE_MODEL: EngineCapabilities(
        name=models.BASE_MODEL, languages=frozenset(_LANGUAGE_CODES), streaming=False
    ),
    models.TINY_EN_MODEL: EngineCapabilities(
        name=models.TINY_EN_MODEL, languages=frozenset({"en"}), streaming=False
    ),
}
# Silence added after the utterance: the decoder sees the speech end.
TAIL_PAD_S = 0.5
# The shortest input the encoder gets. A final's is 10 s: with less, Whisper often says the
# sentence again after its end ("...next week. Tomorrow morning's meeting has been moved..."), 39 %
# WER on our Kokoro English set with 2 s, 1.8 % with 10 s; 30 s (what faster-whisper does) costs
# 4 times more for no better words. A partial's is 2 s (its repetition penalty stops the loops),
# as it is decoded every second while someone talks.
MIN_FINAL_INPUT_S = 10.0
MIN_PARTIAL_INPUT_S = 2.0
# Beam search for finals (faster-whisper's default, 5): 35 % -> 25 % WER on our French set for
# about a third more CPU per final; partials decode greedily (they are replaced within a second).
FINAL_BEAM_SIZE = 5
# Tokens allowed per second of speech (fast French is ~6; a loop stops at this cap).
TOKENS_PER_S = 8
# As faster-whisper's defaults: a window the model itself judges silent, with low confidence,
# is dropped (a cough, a breath the voice detector let through).
NO_SPEECH_PROB = 0.6
PARTIAL_REPETITION_PENALTY = 1.3
LOW_SCORE = -1.0


def _threads(workers: int) -> int:
    """CPU threads per worker: one. Two (the cores shared by one worker) cost more CPU for the
    same decode, and were slower too (bench/captions.py: 0.28 -> 0.21 core per talking speaker,
    final p95 0.95 -> 0.59 s): what a decode of a few seconds gains from a second thread is lost
    to the threads' coordination. More workers use more cores."""
    return 1


class WhisperEngine(SpeechEngine):
    def __init__(self, name: str, folder: str, workers: int) -> None:
        self.capabilities = CAPABILITIES[name]
        # `num_workers` lets that many threads run the model at once (CTranslate2 inter_threads).
        self._model = WhisperModel(
            folder,
            device="cpu",
            compute_type="int8",
            cpu_threads=_threads(workers),
            num_workers=max(1, workers),
        )
        self._ct2: ctranslate2.models.Whisper = self._model.model
        self._features = self._model.feature_extractor
        self._multilingual = bool(self._ct2.is_multilingual)
        self._tokenizers: dict[str, Tokenizer] = {}
        self._suppress: list[int] | None = None
        log.info("speech engine %s loaded from %s (%s workers)", name, folder, workers)

    @classmethod
    def base(cls, workers: int) -> WhisperEngine:
        return cls(models.BASE_MODEL, str(models.model_dir(models.BASE_MODEL)), workers)

    @classmethod
    def tiny_en(cls, workers: int) -> WhisperEngine:
        return cls(models.TINY_EN_MODEL, str(models.model_dir(models.TINY_EN_MODEL)), workers)

    def _tokenizer(self, language: str) -> Tokenizer:
        tokenizer = self._tokenizers.get(language)
        if tokenizer is None:
            tokenizer = Tokenizer(
                self._model.hf_tokenizer,
                self._multilingual,
                task="transcribe",
                language=language if self._multilingual else None,
            )
            if self._suppress is None:
                self._suppress = get_suppressed_tokens(tokenizer, (-1,))
            self._tokenizers[language] = tokenizer  # same result if two threads race here
        return tokenizer

    def transcribe(self, audio: Audio16k, language: str, *, partial: bool = False) -> str:
        language = self.check_language(language)
        tokenizer = self._tokenizer(language)
        speech_s = audio.size / ENGINE_SAMPLE_RATE_HZ
        limit_s = self.capabilities.max_utterance_s
        if speech_s > limit_s:
            audio = audio[: int(limit_s * ENGINE_SAMPLE_RATE_HZ)]
            speech_s = limit_s
        shortest_s = MIN_PARTIAL_INPUT_S if partial else MIN_FINAL_INPUT_S
        padded_s = min(limit_s, max(shortest_s, speech_s + TAIL_PAD_S))
        samples = np.zeros(int(padded_s * ENGINE_SAMPLE_RATE_HZ), dtype=np.float32)
        samples[: audio.size] = audio
        features = self._features(samples)
        frames = features.shape[-1] - features.shape[-1] % 2  # the encoder halves them
        batch = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
        encoded = self._ct2.encode(ctranslate2.StorageView.from_array(batch), to_cpu=False)
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = self._ct2.generate(
            encoded,
            [prompt],
            beam_size=1 if partial else FINAL_BEAM_SIZE,
            max_length=len(prompt) + int(8 + TOKENS_PER_S * speech_s),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress or [],
            # A partial's cut-off end invites Whisper to loop on what it heard ("the committee
            # will meet the committee will meet"); the penalty stops it (measured on 0.8-2 s
            # beginnings of our test sentences). A final's words may repeat for real.
            repetition_penalty=PARTIAL_REPETITION_PENALTY if partial else 1.0,
        )[0]
        # CTranslate2's score is already the mean log probability per token (length_penalty 1).
        if result.no_speech_prob > NO_SPEECH_PROB and float(result.scores[0]) < LOW_SCORE:
            return ""
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        return without_repeat(" ".join(tokenizer.decode(tokens).split()))


# Whisper's known failure: saying the utterance again from its start. The first words of a line
# coming back later mean it started over.
REPEAT_WORDS = 4


def without_repeat(text: str) -> str:
    """The text up to where its first REPEAT_WORDS words come again, if they do."""
    words = text.split()
    head = [w.casefold().strip(".,!?;:") for w in words[:REPEAT_WORDS]]
    if len(head) < REPEAT_WORDS:
        return text
    for at in range(REPEAT_WORDS, len(words) - REPEAT_WORDS + 1):
        if [w.casefold().strip(".,!?;:") for w in words[at : at + REPEAT_WORDS]] == head:
            return " ".join(words[:at])
    return text
