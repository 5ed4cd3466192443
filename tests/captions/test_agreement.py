"""Partial lines (captions/agreement.py)."""

from __future__ import annotations

import pytest

from parley.captions.agreement import PartialText, agreed_prefix

pytestmark = pytest.mark.unit


def test_words_agree_without_case_or_punctuation() -> None:
    said, heard = "The committee, will", "the Committee will meet"
    assert agreed_prefix(said.split(), heard.split()) == 3
    assert agreed_prefix(["a"], ["b"]) == 0


def test_the_first_pass_shows_and_agreed_words_never_change() -> None:
    partial = PartialText()
    assert partial.update("The committee will make") == "The committee will make"
    # The second pass agrees on three words: they are committed; its own tail shows.
    assert partial.update("The committee will meet again") == "The committee will meet again"
    assert partial.committed == ["The", "committee", "will"]
    # A pass that contradicts the committed words does not take them back.
    assert partial.update("A committee with") is None
    assert partial.update("The committee will meet again on Thursday") == (
        "The committee will meet again on Thursday"
    )
    assert partial.committed == ["The", "committee", "will", "meet", "again"]


def test_nothing_new_shows_nothing() -> None:
    partial = PartialText()
    assert partial.update("") is None
    assert partial.update("Hello") == "Hello"
    assert partial.update("Hello") is None
