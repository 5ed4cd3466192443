"""WebRTC sessions per user: the pure caps."""

from __future__ import annotations

import pytest

from parley.domain.media import SessionCaps, SessionKind, TooManySessions, check_session_caps

pytestmark = pytest.mark.unit

CAPS = SessionCaps(per_user_space=2, per_user=3)


def _check(kind: SessionKind, held: list[tuple[SessionKind, int, int]]) -> None:
    check_session_caps(kind, 7, 1, held, CAPS, retry_after_s=15)


def test_sessions_of_one_kind_in_one_space_are_capped() -> None:
    _check("whep", [("whep", 7, 1)])
    # Others' sessions, other spaces and the other kind do not count against it.
    _check("whep", [("whep", 7, 1), ("whep", 7, 2), ("whep", 8, 2), ("whip", 7, 2)])
    _check("whip", [("whep", 7, 1), ("whep", 7, 1)])
    with pytest.raises(TooManySessions) as refused:
        _check("whep", [("whep", 7, 1), ("whep", 7, 1)])
    assert refused.value.status == 429 and refused.value.retry_after_s == 15
    assert "per_user_space" in refused.value.message


def test_a_users_sessions_on_the_node_are_capped() -> None:
    _check("whep", [("whep", 8, 1), ("whip", 9, 1)])
    with pytest.raises(TooManySessions) as refused:
        _check("whep", [("whep", 8, 1), ("whip", 9, 1), ("whep", 10, 1)])
    assert "per_user" in refused.value.message and "at most 3" in refused.value.message
