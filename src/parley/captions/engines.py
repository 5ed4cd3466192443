"""The speech engines by name: settings pick one (`PARLEY_CAPTION_ENGINE`), as they pick the bus
(bus/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable

from parley.captions.engine import EngineCapabilities, SpeechEngine

# Name -> how to make it (imports inside, so an engine's libraries load only when it is used),
# as the bus has (bus/__init__.py). captions/whisper.py holds both models; it is imported
# only when an engine is asked for (it loads CTranslate2).
EngineFactory = Callable[[int], SpeechEngine]


def _whisper_base(workers: int) -> SpeechEngine:
    from parley.captions.whisper import WhisperEngine

    return WhisperEngine.base(workers)


def _whisper_tiny_en(workers: int) -> SpeechEngine:
    from parley.captions.whisper import WhisperEngine

    return WhisperEngine.tiny_en(workers)


ENGINES: dict[str, EngineFactory] = {
    "whisper-base": _whisper_base,
    "whisper-tiny.en": _whisper_tiny_en,
}


def capabilities(name: str) -> EngineCapabilities:
    """An engine's capabilities without loading it."""
    from parley.captions.whisper import CAPABILITIES

    if name not in CAPABILITIES:
        raise KeyError(f"no speech engine {name!r}: one of {', '.join(sorted(ENGINES))}")
    return CAPABILITIES[name]


def create_engine(name: str, workers: int) -> SpeechEngine:
    """Loads the engine `name` (seconds, and a few hundred MB: once per node)."""
    if name not in ENGINES:
        raise KeyError(f"no speech engine {name!r}: one of {', '.join(sorted(ENGINES))}")
    return ENGINES[name](workers)
