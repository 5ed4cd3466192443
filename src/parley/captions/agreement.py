"""What a partial line shows while someone talks. Pure.

A non-streaming engine decodes the growing utterance again about every second; two passes rarely
agree on the last words (a word cut in half, a guess). As in the LocalAgreement policy of
ufal/whisper_streaming, the words two passes in a row agree on are kept ("committed": later
passes never change them on screen), and the newest pass's words after them are shown too,
so the first partial comes after one pass, not two; only that tail may still change.
"""

from __future__ import annotations

import unicodedata


def _key(word: str) -> str:
    """Words compare without case or punctuation ("Thursday." == "thursday")."""
    return "".join(c for c in word.casefold() if not unicodedata.category(c).startswith("P"))


def agreed_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for left, right in zip(a, b, strict=False):
        if _key(left) != _key(right):
            break
        n += 1
    return n


class PartialText:
    """The partial line of one utterance."""

    def __init__(self) -> None:
        self.committed: list[str] = []
        self._previous: list[str] = []
        self.shown = ""

    def update(self, hypothesis: str) -> str | None:
        """A new pass's text; returns the line to show, or None when it shows nothing new."""
        words = hypothesis.split()
        if agreed_prefix(self.committed, words) < len(self.committed):
            return None  # contradicts what is on screen: an outlier pass, set aside
        agreed = agreed_prefix(self._previous, words)
        if agreed > len(self.committed):
            self.committed = words[:agreed]
        self._previous = words
        text = " ".join(self.committed + words[len(self.committed) :])
        if not text or text == self.shown:
            return None
        self.shown = text
        return text
