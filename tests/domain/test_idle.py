"""What ends a live space nobody runs (domain/idle.py), and how many live spaces a host may run
at once (domain/space.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import space
from parley.domain.errors import Conflict
from parley.domain.idle import EndReason, server_end_reason

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def _reason(
    absent_s: float | None, *, connected: int, grace_s: float = 180, idle_s: float = 600
) -> EndReason | None:
    return server_end_reason(
        host_absent_since=None if absent_s is None else _ago(absent_s),
        connected=connected,
        now=NOW,
        host_grace_s=grace_s,
        idle_end_s=idle_s,
    )


def test_a_present_host_keeps_the_space_whoever_else_is_there() -> None:
    assert _reason(None, connected=1) is None
    assert _reason(None, connected=1, grace_s=0, idle_s=1) is None


def test_the_host_grace_ends_a_space_with_or_without_listeners() -> None:
    # Its meaning is unchanged: the host gone longer than the grace ends the space.
    assert _reason(179, connected=5) is None
    assert _reason(180, connected=5) is EndReason.HOST_GONE
    assert _reason(180, connected=0) is EndReason.HOST_GONE


def test_an_empty_space_ends_after_the_idle_time_even_within_a_longer_grace() -> None:
    assert _reason(599, connected=0, grace_s=3600) is None
    assert _reason(600, connected=0, grace_s=3600) is EndReason.IDLE
    # Someone there (a listener's socket, a media session, a visitor): not idle.
    assert _reason(601, connected=1, grace_s=3600) is None
    assert _reason(3600, connected=1, grace_s=3600) is EndReason.HOST_GONE


def test_the_host_grace_comes_first_when_both_apply() -> None:
    assert _reason(700, connected=0, grace_s=180, idle_s=600) is EndReason.HOST_GONE


def test_an_idle_time_of_0_turns_the_idle_end_off() -> None:
    assert _reason(10_000, connected=0, grace_s=20_000, idle_s=0) is None


def test_live_spaces_per_host() -> None:
    space.check_live_spaces_per_host([], limit=1)
    space.check_live_spaces_per_host([4], limit=2)
    space.check_live_spaces_per_host([4, 5, 6], limit=0)  # 0: no limit
    with pytest.raises(Conflict) as refused:
        space.check_live_spaces_per_host([4], limit=1)
    assert refused.value.rule == "live_spaces_per_host"
    assert "/s/4" in refused.value.message and "1 live space at a time" in refused.value.message
    with pytest.raises(Conflict) as refused:
        space.check_live_spaces_per_host([7, 4], limit=2)
    assert "/s/7" in refused.value.message and "2 live spaces" in refused.value.message
