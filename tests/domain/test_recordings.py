"""Retention, clip spans and recording states: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import recordings as rules
from parley.domain.errors import Conflict, Invalid, InvalidState
from parley.domain.recordings import RecordingState

pytestmark = pytest.mark.unit

ENDED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "expired"),
    [
        (timedelta(days=29), False),
        (timedelta(days=29, hours=23, minutes=59), False),
        (timedelta(days=30), True),
        (timedelta(days=31), True),
    ],
)
def test_a_recording_is_purged_30_days_after_its_space_ended(age: timedelta, expired: bool) -> None:
    assert rules.is_expired(ENDED, ENDED + age, 30) is expired


def test_a_recording_still_being_made_never_expires() -> None:
    assert not rules.is_expired(None, ENDED + timedelta(days=400), 30)


def test_retention_is_a_setting() -> None:
    assert rules.is_expired(ENDED, ENDED + timedelta(days=8), 7)
    assert rules.expires_at(ENDED, 7) == ENDED + timedelta(days=7)


def test_a_live_clip_is_the_last_stretch_and_never_longer_than_30_s() -> None:
    assert rules.clip_span(start_s=None, duration_s=30, recorded_s=100) == (70, 30)
    assert rules.clip_span(start_s=None, duration_s=30, recorded_s=12) == (0, 12)
    assert rules.clip_span(start_s=None, duration_s=5, recorded_s=100) == (95, 5)


def test_a_replay_clip_is_cut_at_the_recordings_end() -> None:
    assert rules.clip_span(start_s=10, duration_s=30, recorded_s=100) == (10, 30)
    assert rules.clip_span(start_s=90, duration_s=30, recorded_s=100) == (90, 10)


@pytest.mark.parametrize(
    ("start_s", "duration_s", "field", "rule"),
    [
        (None, 30.5, "duration_s", "range"),
        (None, 0.5, "duration_s", "range"),
        (None, float("nan"), "duration_s", "range"),
        (-1.0, 10, "start_s", "min"),
        (float("nan"), 10, "start_s", "min"),
        (100.0, 10, "start_s", "max"),
        (99.5, 10, "start_s", "max"),  # it would be a half-second clip
    ],
)
def test_bad_clip_spans_name_the_field_and_rule(
    start_s: float | None, duration_s: float, field: str, rule: str
) -> None:
    with pytest.raises(Invalid) as raised:
        rules.clip_span(start_s=start_s, duration_s=duration_s, recorded_s=100)
    assert (raised.value.field, raised.value.rule) == (field, rule)


def test_only_a_recording_in_progress_can_be_finished() -> None:
    assert rules.finish(RecordingState.RECORDING) is RecordingState.COMPLETE
    with pytest.raises(InvalidState) as raised:
        rules.finish(RecordingState.COMPLETE)
    assert raised.value.state == "complete"


def test_a_live_space_is_only_clipped_from_its_last_seconds() -> None:
    assert rules.clip_span(start_s=None, duration_s=30, recorded_s=100, live=True) == (70, 30)
    with pytest.raises(Invalid) as raised:
        rules.clip_span(start_s=10, duration_s=5, recorded_s=100, live=True)
    assert (raised.value.field, raised.value.rule) == ("start_s", "live")


@pytest.mark.parametrize(
    ("recorded", "live", "published", "visibility"),
    [
        (True, True, False, "public"),  # the room is public while live
        (True, False, True, "public"),  # the replay is published
        (True, False, False, "private"),  # ended, replay not published: its clipper's
        (False, True, False, "private"),  # the host chose not to record: never public
        (False, False, True, "private"),
    ],
)
def test_a_clip_follows_the_audio_it_was_cut_from(
    recorded: bool, live: bool, published: bool, visibility: str
) -> None:
    found = rules.clip_visibility(recorded=recorded, live=live, replay_published=published)
    assert found.value == visibility


def test_no_clips_of_a_space_not_recorded() -> None:
    rules.require_clips_allowed(recorded=True)
    with pytest.raises(Conflict) as refused:
        rules.require_clips_allowed(recorded=False)
    assert refused.value.rule == "record_off"
