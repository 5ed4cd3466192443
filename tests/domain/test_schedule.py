"""Scheduled spaces' rules (domain/schedule.py), and its calendar file read by vobject, a
calendar library we did not write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject

from parley.domain import schedule
from parley.domain.errors import Blocked, Conflict, Forbidden, Invalid, InvalidState
from parley.domain.space import SpaceState
from parley.domain.stage import COHOSTS_MAX, Role, Seat

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)


def test_a_viewer_may_ask_for_a_reminder_of_a_scheduled_space_only() -> None:
    schedule.check_reminder(
        SpaceState.SCHEDULED, is_host=False, blocked_either_way=False, held=0, adding=True
    )
    for state in (SpaceState.LIVE, SpaceState.ENDED, SpaceState.CANCELED):
        with pytest.raises(InvalidState) as refused:
            schedule.check_reminder(
                state, is_host=False, blocked_either_way=False, held=0, adding=True
            )
        assert refused.value.state == state.value


def test_the_host_and_blocked_people_may_not_ask() -> None:
    with pytest.raises(Forbidden):
        schedule.check_reminder(
            SpaceState.SCHEDULED, is_host=True, blocked_either_way=False, held=0, adding=True
        )
    with pytest.raises(Blocked):
        schedule.check_reminder(
            SpaceState.SCHEDULED, is_host=False, blocked_either_way=True, held=0, adding=True
        )
    # Taking one back is always allowed.
    schedule.check_reminder(
        SpaceState.SCHEDULED, is_host=False, blocked_either_way=True, held=0, adding=False
    )


def test_one_person_holds_a_bounded_number_of_reminders() -> None:
    most = schedule.REMINDERS_PER_USER_MAX
    schedule.check_reminder(
        SpaceState.SCHEDULED, is_host=False, blocked_either_way=False, held=most - 1, adding=True
    )
    with pytest.raises(Conflict) as refused:
        schedule.check_reminder(
            SpaceState.SCHEDULED, is_host=False, blocked_either_way=False, held=most, adding=True
        )
    assert refused.value.rule == "reminders_full"
    # Removing one is always possible.
    schedule.check_reminder(
        SpaceState.SCHEDULED, is_host=False, blocked_either_way=False, held=most, adding=False
    )


CURRENT = schedule.Details(title="Morning news", topics=["news"], scheduled_for=LATER)


def test_an_edit_names_what_changed() -> None:
    moved = LATER + timedelta(hours=3)
    edit = schedule.plan_edit(
        CURRENT,
        title="  Evening news ",
        topics=["news"],
        scheduled_for=moved.astimezone(ZoneInfo("Europe/Paris")),
        now=NOW,
    )
    assert edit.changed == ("title", "scheduled_for")
    assert edit.details.title == "Evening news"
    assert edit.details.scheduled_for == moved and edit.details.scheduled_for.tzinfo is UTC
    assert edit.moved
    text = schedule.edit_text("Hanna", "Morning news", edit)
    assert text == (
        "Hanna changed “Morning news”: it is now called “Evening news”; "
        f"it now starts {moved:%a %d %b %Y} 15:00 UTC"
    )


def test_an_edit_to_the_same_values_changes_nothing() -> None:
    edit = schedule.plan_edit(
        CURRENT, title="Morning news", topics=["news"], scheduled_for=LATER, now=NOW
    )
    assert edit.changed == () and not edit.moved


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"title": "bad\u0007bell"}, "title", None),
        ({"title": "   "}, "title", "min_length"),
        ({"title": "x" * 71}, "title", "max_length"),
        ({"topics": ["a", "b", "c", "d"]}, "topics", "max_items"),
        ({"topics": ["a", "A"]}, "topics", "unique"),
        ({"scheduled_for": NOW - timedelta(minutes=1)}, "scheduled_for", "future"),
        ({"scheduled_for": NOW + timedelta(days=31)}, "scheduled_for", "max_ahead"),
        ({"scheduled_for": datetime(2026, 12, 1, 12, 0)}, "scheduled_for", "timezone"),
    ],
)
def test_an_edit_is_checked_as_a_new_space_is(
    fields: dict[str, object], field: str, rule: str | None
) -> None:
    args: dict[str, object] = {"title": None, "topics": None, "scheduled_for": None, **fields}
    with pytest.raises(Invalid) as refused:
        schedule.plan_edit(CURRENT, now=NOW, **args)  # type: ignore[arg-type]
    assert refused.value.field == field
    if rule is not None:
        assert refused.value.rule == rule


HOST = Seat(user_id=1, role=Role.HOST)


def test_the_host_names_a_co_host_ahead_within_the_stage_limit() -> None:
    named = schedule.name_cohost(
        HOST, None, target_id=5, cohost_count=0, stage_count=1, blocked_either_way=False
    )
    assert (named.user_id, named.role, named.muted) == (5, Role.COHOST, True)
    waiting = Seat(user_id=6)  # opened the space's page to wait
    assert (
        schedule.name_cohost(
            HOST, waiting, target_id=6, cohost_count=1, stage_count=2, blocked_either_way=False
        ).role
        is Role.COHOST
    )
    with pytest.raises(Conflict) as full:
        schedule.name_cohost(
            HOST,
            None,
            target_id=7,
            cohost_count=COHOSTS_MAX,
            stage_count=3,
            blocked_either_way=False,
        )
    assert full.value.rule == "cohosts_full"


def test_only_the_host_names_co_hosts_and_not_blocked_people() -> None:
    cohost = Seat(user_id=2, role=Role.COHOST)
    listener = Seat(user_id=3)
    for actor in (cohost, listener):
        with pytest.raises(Forbidden):
            schedule.name_cohost(
                actor, None, target_id=5, cohost_count=1, stage_count=2, blocked_either_way=False
            )
    with pytest.raises(Blocked):
        schedule.name_cohost(
            HOST, None, target_id=5, cohost_count=0, stage_count=1, blocked_either_way=True
        )
    with pytest.raises(Forbidden):  # the host is no co-host of their own space
        schedule.name_cohost(
            HOST, HOST, target_id=1, cohost_count=0, stage_count=1, blocked_either_way=False
        )


def test_a_co_host_taken_back_before_the_start_is_a_listener() -> None:
    cohost = Seat(user_id=2, role=Role.COHOST)
    assert schedule.unname_cohost(HOST, cohost).role is Role.LISTENER
    with pytest.raises(InvalidState):
        schedule.unname_cohost(HOST, Seat(user_id=3))
    with pytest.raises(Forbidden):
        schedule.unname_cohost(Seat(user_id=4, role=Role.COHOST), cohost)


def test_the_start_reminder_is_due_only_for_the_time_it_was_queued_for() -> None:
    assert schedule.host_start_due(SpaceState.SCHEDULED, LATER, LATER)
    # The same instant written in another zone is the same time.
    assert schedule.host_start_due(
        SpaceState.SCHEDULED, LATER, LATER.astimezone(ZoneInfo("Asia/Tokyo"))
    )
    assert not schedule.host_start_due(SpaceState.SCHEDULED, LATER + timedelta(hours=1), LATER)
    for state in (SpaceState.LIVE, SpaceState.CANCELED, SpaceState.ENDED):
        assert not schedule.host_start_due(state, LATER, LATER)


def test_the_calendar_zone_is_an_iana_name_named_tz() -> None:
    assert schedule.check_calendar_zone(None) == "UTC"
    assert schedule.check_calendar_zone("Europe/Paris") == "Europe/Paris"
    with pytest.raises(Invalid) as refused:
        schedule.check_calendar_zone("Mars/Olympus")
    assert refused.value.field == "tz"


def _entry(**changes: object) -> schedule.CalendarEntry:
    values: dict[str, object] = {
        "space_id": 12,
        "title": "Morning, news; today",
        "topics": ["news", "radio"],
        "host_name": "Hanna Host",
        "host_handle": "hanna",
        "state": SpaceState.SCHEDULED,
        # Summer time in Paris (UTC+2).
        "starts_at": datetime(2027, 7, 1, 16, 30, tzinfo=UTC),
        "sequence": 3,
        "created_at": NOW,
        **changes,
    }
    return schedule.CalendarEntry(**values)  # type: ignore[arg-type]


def _parse(ics: bytes) -> vobject.base.Component:
    return vobject.readOne(ics.decode("utf-8"))


def test_a_calendar_file_in_utc_reads_the_same_in_another_library() -> None:
    ics = schedule.calendar_file(
        [_entry()],
        time_zone="UTC",
        site_url="https://parley.example",
        site_host="parley.example",
        now=NOW,
    )
    assert b"\r\n" in ics and b"DTSTART:20270701T163000Z" in ics
    event = _parse(ics).vevent
    assert event.dtstart.value == datetime(2027, 7, 1, 16, 30, tzinfo=UTC)
    assert event.dtend.value - event.dtstart.value == timedelta(hours=1)
    assert event.summary.value == "Morning, news; today"
    assert event.uid.value == "space-12@parley.example"
    assert event.url.value == "https://parley.example/s/12"
    assert event.status.value == "CONFIRMED"
    assert event.sequence.value == "3"
    assert "news, radio" in event.description.value
    assert "Hanna Host (@hanna)" in event.description.value


def test_a_calendar_file_in_the_viewers_zone_carries_that_zone() -> None:
    ics = schedule.calendar_file(
        [_entry(state=SpaceState.CANCELED)],
        time_zone="Europe/Paris",
        site_url=None,
        site_host="parley",
        now=NOW,
    )
    assert b"BEGIN:VTIMEZONE" in ics and b"DTSTART;TZID=Europe/Paris:20270701T183000" in ics
    calendar = _parse(ics)
    event = calendar.vevent
    start = event.dtstart.value
    assert (start.hour, start.minute) == (18, 30)
    assert start.utcoffset() == timedelta(hours=2)
    assert start.astimezone(UTC) == datetime(2027, 7, 1, 16, 30, tzinfo=UTC)
    assert event.status.value == "CANCELLED"
    assert not hasattr(event, "url")


def test_a_feed_lists_every_entry_with_a_name() -> None:
    ics = schedule.calendar_file(
        [_entry(), _entry(space_id=13, title="Later", starts_at=datetime(2027, 1, 5, tzinfo=UTC))],
        time_zone="Europe/Paris",
        site_url="https://parley.example",
        site_host="parley.example",
        now=NOW,
        name="Hanna Host (@hanna) on Parley",
    )
    calendar = _parse(ics)
    events = calendar.vevent_list
    assert [event.uid.value for event in events] == [
        "space-12@parley.example",
        "space-13@parley.example",
    ]
    # Winter time (UTC+1) for the one in January: the VTIMEZONE covers both.
    assert events[1].dtstart.value.utcoffset() == timedelta(hours=1)
    assert calendar.contents["x-wr-calname"][0].value == "Hanna Host (@hanna) on Parley"
