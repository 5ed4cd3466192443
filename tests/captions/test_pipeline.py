"""The caption pipeline with the real engine: each speaker's lines, in order, and what gives way
when it cannot keep up (captions/pipeline.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from parley.captions.engines import create_engine
from parley.captions.pipeline import CaptionPipeline
from parley.domain.views import CaptionLineView
from parley.media.mixer import FRAME_SAMPLES
from speech_support import SENTENCES, speech, words

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPACE = 7


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[int, CaptionLineView]] = []
        self.lock = threading.Lock()

    def __call__(self, space_id: int, line: CaptionLineView) -> None:
        with self.lock:
            self.lines.append((space_id, line))

    def finals(self) -> list[CaptionLineView]:
        with self.lock:
            return [line for _, line in self.lines if line.final]


def _feed(pipeline: CaptionPipeline, talks: dict[int, np.ndarray], *, pace_s: float) -> None:
    """Every speaker's audio through the media tap, tick by tick (`pace_s` apart: 0.02 is real
    time, 0 as fast as the loop goes), then a second of silence."""
    tap = pipeline.tap(SPACE)
    ticks = max(audio.size for audio in talks.values()) // FRAME_SAMPLES + 50
    for tick in range(ticks):
        blocks = {}
        for user_id, audio in talks.items():
            block = audio[tick * FRAME_SAMPLES : (tick + 1) * FRAME_SAMPLES]
            if block.size == FRAME_SAMPLES:
                blocks[user_id] = block
            else:
                blocks[user_id] = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        tap(blocks, round(tick * 0.02, 3))
        if pace_s:
            time.sleep(pace_s)


def _wait(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_behind_the_speech_it_drops_partials_and_keeps_every_final() -> None:
    """Four speakers' minute of speech arrives in a few seconds (as a machine far too slow for
    it would see): every utterance still gets its final line, with the right speaker and words,
    in each speaker's order; partials give way; the backlog shows and then drains."""
    lines = Lines()
    pipeline = CaptionPipeline(lambda: create_engine("whisper-base", 1), lines, workers=1)
    pipeline.start()
    try:
        pipeline.open_space(SPACE, language="en", opted_out=frozenset(), first_number=1)
        silence = np.zeros(24_000, dtype=np.int16)
        talks = {
            user_id: np.concatenate(
                [part for text in SENTENCES["en"][i : i + 2] for part in (speech(text), silence)]
            )
            for i, user_id in enumerate((11, 12, 13, 14))
        }
        _feed(pipeline, talks, pace_s=0.0)
        _wait(lambda: pipeline.snapshot_stats().queued_finals > 1, 20)
        assert pipeline.snapshot_stats().backlog_s > 0.3
        _wait(lambda: len(lines.finals()) >= 8, 120)
        pipeline.close_space(SPACE)
        time.sleep(0.5)
        stats = pipeline.snapshot_stats()
    finally:
        pipeline.stop()
    assert stats.queued_finals == 0 and stats.backlog_s < 0.5
    assert stats.dropped_partials > 0
    finals = lines.finals()
    for i, user_id in enumerate((11, 12, 13, 14)):
        mine = [line for line in finals if line.user_id == user_id]
        said = SENTENCES["en"][i : i + 2]
        heard = " ".join(line.text or "" for line in mine)
        assert len(set(words(heard)) & set(words(" ".join(said)))) >= 0.8 * len(
            words(" ".join(said))
        ), (said, heard)
        assert [line.start_s for line in mine] == sorted(line.start_s for line in mine)
    numbers = [line.id for line in finals]
    assert len(numbers) == len(set(numbers))


def test_at_speaking_pace_partials_come_before_each_final() -> None:
    lines = Lines()
    pipeline = CaptionPipeline(lambda: create_engine("whisper-base", 1), lines, workers=1)
    pipeline.start()
    try:
        pipeline.open_space(SPACE, language="en", opted_out=frozenset({12}), first_number=40)
        said = SENTENCES["en"][4]
        talks = {11: speech(said), 12: speech(SENTENCES["en"][5])}
        _feed(pipeline, talks, pace_s=0.02)
        _wait(lambda: len(lines.finals()) >= 2, 30)
    finally:
        pipeline.stop()
    mine = [line for _, line in lines.lines if line.user_id == 11]
    assert [line.final for line in mine][-1] is True
    assert any(not line.final and line.text for line in mine)
    assert words(mine[-1].text or "") == words(said)
    # Numbered on from where the space's lines were.
    assert min(line.id for _, line in lines.lines) == 40
    # The one who opted out: speech without text, never decoded.
    theirs = [line for _, line in lines.lines if line.user_id == 12]
    assert theirs and all(line.text is None for line in theirs)
    assert theirs[-1].final
