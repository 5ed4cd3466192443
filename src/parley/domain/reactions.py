"""Emoji reactions: the fixed set, the per-user rate limit and the window aggregation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from parley.domain.errors import Invalid, RateLimited

REACTIONS: tuple[str, ...] = ("💯", "✋", "✊", "✌️", "👋", "😂", "❤️", "👏", "🔥", "😮")
# Variation selectors are optional when people type emoji; accept both spellings.
_CANONICAL = {e: e for e in REACTIONS} | {e.replace("\ufe0f", ""): e for e in REACTIONS}
WINDOW_BY_MAX = 50


def check_emoji(emoji: str) -> str:
    try:
        return _CANONICAL[emoji]
    except KeyError:
        raise Invalid("emoji", "one_of", "must be one of " + " ".join(REACTIONS)) from None


@dataclass
class TokenBucket:
    """`burst` at once, then `rate_per_s`; the clock is passed in (seconds)."""

    burst: float
    rate_per_s: float
    tokens: float = -1.0
    updated_s: float = 0.0
    what: str = "reactions"

    def take(self, now_s: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated_s = self.burst, now_s
        self.tokens = min(self.burst, self.tokens + (now_s - self.updated_s) * self.rate_per_s)
        self.updated_s = now_s
        if self.tokens < 1.0:
            retry_after_s = (1.0 - self.tokens) / self.rate_per_s
            raise RateLimited(f"too many {self.what}; slow down", retry_after_s=retry_after_s)
        self.tokens -= 1.0


@dataclass
class ReactionWindow:
    """Reactions of one space gathered over a short window, sent as one message.

    The cost of delivering reactions is then one message per listener per window, however many
    people react, instead of listeners x reactions.
    """

    counts: Counter[str] = field(default_factory=Counter)
    by: list[tuple[int, str]] = field(default_factory=list)

    def add(self, user_id: int, emoji: str) -> None:
        self.counts[emoji] += 1
        if len(self.by) < WINDOW_BY_MAX:
            self.by.append((user_id, emoji))

    def __bool__(self) -> bool:
        return bool(self.counts)
