from __future__ import annotations

import pytest

from parley.domain.errors import Invalid, RateLimited
from parley.domain.reactions import REACTIONS, ReactionWindow, TokenBucket, check_emoji

pytestmark = pytest.mark.unit


def test_the_fixed_set() -> None:
    for emoji in ("💯", "✋", "✊", "✌️", "👋", "😂", "❤️"):
        assert emoji in REACTIONS
        assert check_emoji(emoji) == emoji
    assert check_emoji("❤") == "❤️"  # without the variation selector
    with pytest.raises(Invalid) as error:
        check_emoji("🍕")
    assert (error.value.field, error.value.rule) == ("emoji", "one_of")


def test_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(burst=3, rate_per_s=2)
    for _ in range(3):
        bucket.take(100.0)
    with pytest.raises(RateLimited) as error:
        bucket.take(100.0)
    assert error.value.retry_after_s == pytest.approx(0.5)
    bucket.take(100.5)  # one more token after half a second at 2/s
    with pytest.raises(RateLimited):
        bucket.take(100.5)
    for _ in range(3):
        bucket.take(200.0)  # refilled, but never above the burst
    with pytest.raises(RateLimited):
        bucket.take(200.0)


def test_window_counts_everything_and_lists_a_bounded_sample() -> None:
    window = ReactionWindow()
    assert not window
    for user in range(80):
        window.add(user, "💯" if user % 2 else "🔥")
    assert window.counts == {"💯": 40, "🔥": 40}
    assert len(window.by) == 50
