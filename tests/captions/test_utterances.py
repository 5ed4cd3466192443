"""Cutting a speaker's audio into utterances (captions/utterances.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from parley.captions.utterances import (
    BLOCK_S,
    END_SILENCE_S,
    MAX_UTTERANCE_S,
    Ended,
    PartialDue,
    UtteranceCutter,
)

pytestmark = pytest.mark.unit

BLOCK = np.ones(320, dtype=np.float32)
# Enough unvoiced blocks to end an utterance.
ENDING = "." * (round(END_SILENCE_S / BLOCK_S) + 1)


def _run(pattern: str, cutter: UtteranceCutter | None = None) -> list[tuple[str, object]]:
    """Feeds one block per character: 'v' voiced, '.' unvoiced, '_' nothing heard."""
    cutter = cutter or UtteranceCutter(itertools.count(1).__next__)
    cuts: list[tuple[str, object]] = []
    for n, mark in enumerate(pattern):
        block = None if mark == "_" else BLOCK
        for cut in cutter.feed(block, mark == "v", round(n * BLOCK_S, 3)):
            cuts.append((type(cut).__name__, cut))
    return cuts


def test_an_utterance_starts_with_the_voice_and_ends_after_the_silence() -> None:
    cuts = _run("." * 20 + "v" * 30 + ENDING)
    ended = [cut for kind, cut in cuts if kind == "Ended"]
    assert len(ended) == 1
    utterance = ended[0].utterance  # type: ignore[attr-defined]
    # The pre-roll: the 10 blocks (200 ms) up to the second voiced one, which started it.
    assert utterance.start_s == pytest.approx(0.24)
    assert utterance.end_s == pytest.approx(1.0)  # the last voiced block ends at 50 x 20 ms
    # Its audio runs to the voice's end and 400 ms on (the soft end of a last word, which the
    # voice detector calls silence), not through the whole silence.
    assert utterance.audio().size == round((utterance.end_s - utterance.start_s + 0.4) * 16000)


def test_one_silence_shorter_than_the_end_keeps_one_utterance() -> None:
    cuts = _run("v" * 30 + "." * 15 + "v" * 30 + ENDING)
    assert [kind for kind, _ in cuts].count("Ended") == 1


def test_a_click_is_not_an_utterance() -> None:
    assert not [kind for kind, _ in _run("." * 5 + "vv" + ENDING) if kind == "Ended"]


def test_a_lone_voiced_block_does_not_start_one() -> None:
    cutter = UtteranceCutter(itertools.count(1).__next__)
    _run("v..v..v..", cutter)  # never 2 voiced of 3 in a row
    assert cutter.current is None


def test_nothing_heard_counts_as_silence() -> None:
    """A speaker muted mid-sentence: what they said ends as an utterance."""
    cuts = _run("v" * 40 + "_" * len(ENDING))
    assert [kind for kind, _ in cuts].count("Ended") == 1


def test_a_long_stretch_is_cut_at_the_limit_and_goes_on_as_a_new_one() -> None:
    blocks = round(MAX_UTTERANCE_S / BLOCK_S)
    cuts = _run("v" * (blocks + 100) + ENDING)
    ended = [cut.utterance for kind, cut in cuts if kind == "Ended"]  # type: ignore[attr-defined]
    assert len(ended) == 2
    assert ended[0].duration_s == pytest.approx(MAX_UTTERANCE_S, abs=0.03)
    assert ended[1].start_s == pytest.approx(ended[0].end_s)
    assert ended[1].number == ended[0].number + 1


def test_partials_come_after_0_5_s_and_0_8_s_of_voice_then_every_1_5_s() -> None:
    cuts = _run("v" * 150 + ENDING)
    partials = [cut for kind, cut in cuts if kind == "PartialDue"]
    assert [round(p.at_s, 2) for p in partials] == [0.5, 0.8, 2.3]  # type: ignore[attr-defined]
    assert all(isinstance(p, PartialDue) for p in partials)
    assert isinstance(cuts[-1][1], Ended)


def test_flush_ends_what_was_being_said() -> None:
    cutter = UtteranceCutter(itertools.count(7).__next__)
    _run("v" * 30, cutter)
    cuts = cutter.flush()
    assert len(cuts) == 1 and isinstance(cuts[0], Ended)
    assert cuts[0].utterance.number == 7
    assert cutter.flush() == []
