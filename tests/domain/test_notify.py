"""Who is told what, and how (domain/notify.py): quiet hours (across midnight, on the days the
clocks change in Europe/Paris), the channels a notification takes, the defaults, the checks of
what a user sends, who never hears of whom, batches and deduplication keys."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from parley.domain import notify
from parley.domain.errors import Invalid
from parley.domain.notify import (
    DEFAULT_CHANNELS,
    Channel,
    Delivery,
    Kind,
    Preferences,
    QuietHours,
    delivery,
)

pytestmark = pytest.mark.unit

PARIS = "Europe/Paris"
# Quiet from 22:00 to 07:00 in Paris (spans midnight).
NIGHT = QuietHours(start=time(22, 0), end=time(7, 0), time_zone=PARIS)
# In winter Paris is UTC+1, in summer UTC+2.
WINTER_NOON = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)  # 12:00 in Paris
WINTER_NIGHT = datetime(2026, 1, 15, 22, 30, tzinfo=UTC)  # 23:30 in Paris
ALL = frozenset(Channel)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "quiet"),
    [
        (_utc(2026, 1, 15, 20, 59), False),  # 21:59 Paris
        (_utc(2026, 1, 15, 21, 0), True),  # 22:00: starts (inclusive)
        (_utc(2026, 1, 15, 23, 0), True),  # 00:00, the next day
        (_utc(2026, 1, 16, 5, 59), True),  # 06:59
        (_utc(2026, 1, 16, 6, 0), False),  # 07:00: over (exclusive)
        (_utc(2026, 7, 15, 20, 30), True),  # 22:30 in summer (UTC+2)
        (_utc(2026, 7, 15, 19, 30), False),  # 21:30 in summer
    ],
)
def test_quiet_hours_spanning_midnight_in_local_time(at: datetime, quiet: bool) -> None:
    assert NIGHT.contains(at) is quiet


def test_quiet_hours_within_one_day() -> None:
    siesta = QuietHours(start=time(13, 0), end=time(15, 0), time_zone="UTC")
    assert not siesta.contains(_utc(2026, 1, 15, 12, 59))
    assert siesta.contains(_utc(2026, 1, 15, 13, 0))
    assert siesta.contains(_utc(2026, 1, 15, 14, 59))
    assert not siesta.contains(_utc(2026, 1, 15, 15, 0))
    assert not siesta.contains(_utc(2026, 1, 15, 2, 0))


def test_quiet_hours_of_no_length_are_never_quiet() -> None:
    never = QuietHours(start=time(8, 0), end=time(8, 0), time_zone=PARIS)
    for hour in range(24):
        assert not never.contains(_utc(2026, 1, 15, hour, 0))
        assert never.ends_after(_utc(2026, 1, 15, hour, 0)) == _utc(2026, 1, 15, hour, 0)


def test_quiet_hours_end_the_next_morning_or_now_outside() -> None:
    assert NIGHT.ends_after(WINTER_NOON) == WINTER_NOON
    # 23:30 Paris -> 07:00 Paris the next day, 06:00 UTC.
    assert NIGHT.ends_after(WINTER_NIGHT) == _utc(2026, 1, 16, 6, 0)
    # 03:00 Paris -> 07:00 the same day.
    assert NIGHT.ends_after(_utc(2026, 1, 16, 2, 0)) == _utc(2026, 1, 16, 6, 0)
    # The answer keeps the time zone it was asked in.
    assert NIGHT.ends_after(WINTER_NIGHT).tzinfo is UTC


def test_quiet_hours_on_the_nights_the_clocks_change_in_paris() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST: a night one hour shorter. 23:00 CET on the 28th (22:00
    # UTC) is quiet until 07:00 CEST, which is 05:00 UTC (not 06:00, the winter offset).
    spring_evening = _utc(2026, 3, 28, 22, 0)
    assert NIGHT.contains(spring_evening)
    assert NIGHT.ends_after(spring_evening) == _utc(2026, 3, 29, 5, 0)
    assert NIGHT.contains(_utc(2026, 3, 29, 4, 59))  # 06:59 CEST
    assert not NIGHT.contains(_utc(2026, 3, 29, 5, 0))
    # 2026-10-25 03:00 CEST -> 02:00 CET: one hour longer. 23:00 CEST on the 24th (21:00 UTC)
    # is quiet until 07:00 CET, which is 06:00 UTC.
    autumn_evening = _utc(2026, 10, 24, 21, 0)
    assert NIGHT.contains(autumn_evening)
    assert NIGHT.ends_after(autumn_evening) == _utc(2026, 10, 25, 6, 0)
    # The repeated hour (02:00-03:00 twice) is quiet both times.
    assert NIGHT.contains(_utc(2026, 10, 25, 0, 30))  # 02:30 CEST
    assert NIGHT.contains(_utc(2026, 10, 25, 1, 30))  # 02:30 CET


def test_quiet_hours_ending_in_the_hour_skipped_in_spring_end_outside_them() -> None:
    # Quiet until 02:30, a time that does not exist in Paris on 2026-03-29: whatever moment is
    # given, it is after the quiet hours and no later than the next real 03:30.
    short = QuietHours(start=time(23, 0), end=time(2, 30), time_zone=PARIS)
    at = _utc(2026, 3, 29, 0, 45)  # 01:45 CET
    assert short.contains(at)
    ends = short.ends_after(at)
    assert not short.contains(ends)
    assert at < ends <= _utc(2026, 3, 29, 1, 30)


def test_quiet_hours_from_settings_check_the_time_zone() -> None:
    assert notify.quiet_hours(None, time(7, 0), PARIS) is None
    assert notify.quiet_hours(time(22, 0), None, PARIS) is None
    assert notify.quiet_hours(time(22, 0), time(7, 0), PARIS) == NIGHT
    with pytest.raises(Invalid) as refused:
        notify.quiet_hours(time(22, 0), time(7, 0), "Europe/Atlantis")
    assert refused.value.field == "time_zone"


# --- delivery ----------------------------------------------------------------------------------


def test_defaults_for_a_new_account() -> None:
    assert set(DEFAULT_CHANNELS) == set(Kind), "every kind has its defaults"
    for kind in Kind:
        assert Channel.IN_APP in DEFAULT_CHANNELS[kind], kind
    assert DEFAULT_CHANNELS[Kind.LIVE] == {Channel.IN_APP, Channel.PUSH}
    assert Channel.EMAIL in DEFAULT_CHANNELS[Kind.REMINDER]
    assert Channel.EMAIL in DEFAULT_CHANNELS[Kind.INVITATION]
    assert DEFAULT_CHANNELS[Kind.FOLLOWER] == {Channel.IN_APP}
    # Kinds a user did not name take the defaults; those named take exactly what they chose.
    prefs = Preferences(channels={Kind.LIVE: frozenset()})
    assert prefs.chosen(Kind.LIVE) == frozenset()
    assert prefs.chosen(Kind.REMINDER) == DEFAULT_CHANNELS[Kind.REMINDER]


def test_delivery_by_default_is_in_the_app_and_pushed_when_subscribed() -> None:
    assert delivery(Kind.LIVE, Preferences(), WINTER_NOON) == Delivery(
        in_app=True, push=False, email=False
    )
    got = delivery(Kind.LIVE, Preferences(has_push=True, has_email=True), WINTER_NOON)
    assert (got.in_app, got.push, got.email) == (True, True, False)
    got = delivery(Kind.REMINDER, Preferences(has_push=True, has_email=True), WINTER_NOON)
    assert (got.in_app, got.push, got.email, got.email_after) == (True, True, True, WINTER_NOON)


def test_email_and_push_need_an_address_and_a_subscription() -> None:
    prefs = Preferences(channels={Kind.LIVE: ALL})
    got = delivery(Kind.LIVE, prefs, WINTER_NOON)
    assert (got.in_app, got.push, got.email, got.email_after) == (True, False, False, None)


def test_quiet_hours_drop_the_push_and_defer_the_email_to_their_end() -> None:
    prefs = Preferences(channels={Kind.LIVE: ALL}, quiet=NIGHT, has_email=True, has_push=True)
    at_night = delivery(Kind.LIVE, prefs, WINTER_NIGHT)
    assert at_night.in_app is True
    assert at_night.push is False
    assert at_night.email is True
    assert at_night.email_after == _utc(2026, 1, 16, 6, 0)
    by_day = delivery(Kind.LIVE, prefs, WINTER_NOON)
    assert (by_day.push, by_day.email, by_day.email_after) == (True, True, WINTER_NOON)


def test_a_kind_turned_off_goes_nowhere() -> None:
    prefs = Preferences(channels={Kind.LIVE: frozenset()}, has_email=True, has_push=True)
    got = delivery(Kind.LIVE, prefs, WINTER_NOON)
    assert not got.any
    assert delivery(Kind.MESSAGE, prefs, WINTER_NOON).any


def test_email_alone_is_not_in_the_app() -> None:
    prefs = Preferences(channels={Kind.SHARED: frozenset({Channel.EMAIL})}, has_email=True)
    got = delivery(Kind.SHARED, prefs, WINTER_NOON)
    assert (got.in_app, got.push, got.email, got.any) == (False, False, True, True)


# --- who hears of whom -------------------------------------------------------------------------


def test_may_tell() -> None:
    assert notify.may_tell(recipient_id=2, actor_id=1, blocked_either_way=False)
    assert notify.may_tell(recipient_id=2, actor_id=None, blocked_either_way=False)
    # Nobody hears of their own doing.
    assert not notify.may_tell(recipient_id=1, actor_id=1, blocked_either_way=False)
    # A block either way stops everything.
    assert not notify.may_tell(recipient_id=2, actor_id=1, blocked_either_way=True)


# --- batches and keys --------------------------------------------------------------------------


def test_batches_cover_every_id_once_in_order() -> None:
    ids = list(range(1, 2502))
    got = list(notify.batches(ids, 1000))
    assert [len(batch) for batch in got] == [1000, 1000, 501]
    assert [i for batch in got for i in batch] == ids
    assert list(notify.batches([], 10)) == []
    assert list(notify.batches([7], 1)) == [[7]]
    with pytest.raises(ValueError, match="at least one"):
        list(notify.batches(ids, 0))


def test_dedupe_keys_name_what_happened() -> None:
    assert notify.dedupe_key(Kind.LIVE, 12) == "live:12"
    assert notify.dedupe_key(Kind.REMINDER, "start", 12) == "reminder:start:12"
    assert notify.dedupe_key(Kind.LIVE, 12) != notify.dedupe_key(Kind.LIVE, 13)
    assert notify.dedupe_key(Kind.LIVE, 12) != notify.dedupe_key(Kind.SHARED, 12)


# --- what a user sends -------------------------------------------------------------------------


def test_parse_channels() -> None:
    got = notify.parse_channels({"live": ["in_app", "email", "email"], "message": []})
    assert got == {Kind.LIVE: {Channel.IN_APP, Channel.EMAIL}, Kind.MESSAGE: frozenset()}
    assert notify.stored_channels(got) == {"live": ["email", "in_app"], "message": []}
    assert notify.parse_channels(notify.stored_channels(got)) == got


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"gossip": ["in_app"]}, "channels", "gossip"),
        ({"live": ["pigeon"]}, "channels.live", "pigeon"),
        ({"reminder": ["in_app", "fax"]}, "channels.reminder", "fax"),
        ({"x" * 500: []}, "channels", "x" * 40),
    ],
)
def test_parse_channels_names_the_field(raw: dict[str, list[str]], field: str, words: str) -> None:
    with pytest.raises(Invalid) as refused:
        notify.parse_channels(raw)
    assert refused.value.field == field
    assert words in refused.value.message
    # What is quoted back is cut short.
    assert len(refused.value.message) < 200


@pytest.mark.parametrize(
    "address", ["ann@example.org", "  ann.b+tag@mail.example.co.uk ", "a@b.cd"]
)
def test_check_email_takes_addresses(address: str) -> None:
    assert notify.check_email(address) == address.strip()


@pytest.mark.parametrize(
    "address",
    [
        "",
        "ann",
        "ann@",
        "@example.org",
        "ann@example",
        "ann@@example.org",
        "ann smith@example.org",
        "ann@exa mple.org",
        "a\u0000b@example.org",
        "ann@example.org\u202e",
        "x" * 65 + "@example.org",
        "ann@" + "e" * 250 + ".org",
    ],
)
def test_check_email_refuses_what_is_not_an_address(address: str) -> None:
    with pytest.raises(Invalid) as refused:
        notify.check_email(address)
    assert refused.value.field == "email"


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
def test_check_time_zone_takes_iana_names(name: str) -> None:
    assert notify.check_time_zone(name) == name


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "../../etc/passwd", "europe/paris", "Europe/Paris\u0000", "x" * 65]
)
def test_check_time_zone_refuses_the_rest(name: str) -> None:
    with pytest.raises(Invalid) as refused:
        notify.check_time_zone(name)
    assert refused.value.field == "time_zone"
    assert refused.value.rule == "iana"


def test_quiet_hours_work_in_every_day_of_a_year_in_paris() -> None:
    # Each evening at 23:00 local is quiet, and the quiet ends at 07:00 local the next morning
    # (7 to 9 real hours later: 8, or one less or more on the nights the clocks change).
    paris = ZoneInfo(PARIS)
    day = datetime(2026, 1, 1, 23, 0, tzinfo=paris)
    for _ in range(365):
        assert NIGHT.contains(day), day
        ends = NIGHT.ends_after(day.astimezone(UTC)).astimezone(paris)
        assert (ends.hour, ends.minute) == (7, 0), day
        assert (
            timedelta(hours=7) <= ends.astimezone(UTC) - day.astimezone(UTC) <= timedelta(hours=9)
        )
        day += timedelta(days=1)
