from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import space
from parley.domain.errors import Invalid, InvalidState
from parley.domain.space import SpaceState, SpaceTransition

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        (SpaceState.SCHEDULED, SpaceTransition.START, SpaceState.LIVE),
        (SpaceState.SCHEDULED, SpaceTransition.CANCEL, SpaceState.CANCELED),
        (SpaceState.LIVE, SpaceTransition.END, SpaceState.ENDED),
    ],
)
def test_legal_transitions(state: SpaceState, action: SpaceTransition, after: SpaceState) -> None:
    assert space.transition(state, action) is after


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (SpaceState.SCHEDULED, SpaceTransition.END),
        (SpaceState.LIVE, SpaceTransition.START),
        (SpaceState.LIVE, SpaceTransition.CANCEL),
        (SpaceState.ENDED, SpaceTransition.START),
        (SpaceState.ENDED, SpaceTransition.END),
        (SpaceState.ENDED, SpaceTransition.CANCEL),
        (SpaceState.CANCELED, SpaceTransition.START),
        (SpaceState.CANCELED, SpaceTransition.END),
        (SpaceState.CANCELED, SpaceTransition.CANCEL),
    ],
)
def test_illegal_transitions_name_the_current_state(
    state: SpaceState, action: SpaceTransition
) -> None:
    with pytest.raises(InvalidState) as error:
        space.transition(state, action)
    assert error.value.state == state.value
    assert state.value in error.value.message and action.value in error.value.message


def test_title() -> None:
    assert space.check_title("  Hello  ") == "Hello"
    assert space.check_title("x" * 70) == "x" * 70
    for bad, rule in (("", "min_length"), ("   ", "min_length"), ("x" * 71, "max_length")):
        with pytest.raises(Invalid) as error:
            space.check_title(bad)
        assert (error.value.field, error.value.rule) == ("title", rule)


def test_topics() -> None:
    assert space.check_topics([" a ", "b", "c"]) == ["a", "b", "c"]
    for bad, rule in (
        (["a", "b", "c", "d"], "max_items"),
        ([""], "min_length"),
        (["x" * 25], "max_length"),
        (["Tech", "tech"], "unique"),
    ):
        with pytest.raises(Invalid) as error:
            space.check_topics(bad)
        assert (error.value.field, error.value.rule) == ("topics", rule)


def test_schedule() -> None:
    soon = NOW + timedelta(hours=1)
    assert space.check_schedule(soon, NOW) == soon
    for bad, rule in (
        (NOW - timedelta(seconds=1), "future"),
        (NOW + timedelta(days=31), "max_ahead"),
        (datetime(2026, 12, 1, 12, 0), "timezone"),
    ):
        with pytest.raises(Invalid) as error:
            space.check_schedule(bad, NOW)
        assert (error.value.field, error.value.rule) == ("scheduled_for", rule)


def test_host_grace() -> None:
    assert not space.host_grace_expired(None, NOW, 180)
    assert not space.host_grace_expired(NOW - timedelta(seconds=179), NOW, 180)
    assert space.host_grace_expired(NOW - timedelta(seconds=180), NOW, 180)


def test_joinable() -> None:
    space.require_joinable(SpaceState.SCHEDULED)
    space.require_joinable(SpaceState.LIVE)
    with pytest.raises(InvalidState):
        space.require_joinable(SpaceState.ENDED)
    with pytest.raises(InvalidState):
        space.require_live(SpaceState.SCHEDULED, "request")
