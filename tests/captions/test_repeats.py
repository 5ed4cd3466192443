"""Whisper saying an utterance again from its start is cut (captions/whisper.py)."""

from __future__ import annotations

import pytest

from parley.captions.whisper import without_repeat

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("heard", "shown"),
    [
        (
            "Tomorrow morning's meeting has been moved. Tomorrow morning's meeting has been",
            "Tomorrow morning's meeting has been moved.",
        ),
        ("We bought some bread, we bought some milk", "We bought some bread, we bought some milk"),
        ("Yes yes yes", "Yes yes yes"),
        ("", ""),
        ("The train to Boston. the TRAIN to boston will leave", "The train to Boston."),
    ],
)
def test_an_utterance_said_again_from_its_start_is_cut_there(heard: str, shown: str) -> None:
    assert without_repeat(heard) == shown
