"""Scheduled spaces (issue 13): who may ask to be reminded, what an edit changes and how it is
told, co-hosts named ahead, whether the host's start reminder is still due, and the calendar
files (RFC 5545) of one space and of a host's upcoming spaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from parley.domain import space as space_rules
from parley.domain import stage
from parley.domain.errors import Blocked, Conflict, Forbidden, Invalid, InvalidState
from parley.domain.notify import check_time_zone, quoted
from parley.domain.space import SpaceState
from parley.domain.stage import Role, Seat, StageRequest

# How many reminders one person holds at once (on spaces still scheduled).
REMINDERS_PER_USER_MAX = 500
# A calendar entry lasts this long: a space has no planned end.
EVENT_DURATION = timedelta(hours=1)
# The job that reminds the host at the start time (actions/schedule.py, api/app.py).
HOST_START_JOB = "schedule.host_start"


def require_scheduled(state: SpaceState, doing: str) -> None:
    if state is not SpaceState.SCHEDULED:
        raise InvalidState(f"cannot {doing}: the space is {state.value}", state=state.value)


# --- "Remind me" --------------------------------------------------------------------------------
def check_reminder(
    state: SpaceState, *, is_host: bool, blocked_either_way: bool, held: int, adding: bool
) -> None:
    """A signed-in viewer asks (or stops asking) to be told when a scheduled space goes live.
    `held`: the reminders they hold on scheduled spaces (checked when `adding`)."""
    if is_host:
        raise Forbidden("the host is reminded of their own space anyway")
    if blocked_either_way and adding:  # taking one back is always allowed
        raise Blocked("you and the host have blocked one another")
    require_scheduled(state, "set a reminder" if adding else "remove a reminder")
    if adding and held >= REMINDERS_PER_USER_MAX:
        raise Conflict(
            f"you hold {REMINDERS_PER_USER_MAX} reminders already: remove one first",
            rule="reminders_full",
        )


# --- editing a scheduled space ------------------------------------------------------------------
@dataclass(frozen=True)
class Details:
    title: str
    topics: list[str]
    scheduled_for: datetime


@dataclass(frozen=True)
class Edit:
    """The space's details after an edit, and the names of those that changed (in order)."""

    details: Details
    changed: tuple[str, ...]

    @property
    def moved(self) -> bool:
        return "scheduled_for" in self.changed


def plan_edit(
    current: Details,
    *,
    title: str | None,
    topics: list[str] | None,
    scheduled_for: datetime | None,
    now: datetime,
) -> Edit:
    """Checks the fields given (None: left as they are) with the space's own rules."""
    new = current
    changed: list[str] = []
    if title is not None:
        checked = space_rules.check_title(title)
        if checked != current.title:
            new, changed = replace(new, title=checked), [*changed, "title"]
    if topics is not None:
        checked_topics = space_rules.check_topics(topics)
        if checked_topics != current.topics:
            new, changed = replace(new, topics=checked_topics), [*changed, "topics"]
    if scheduled_for is not None:
        checked_time = space_rules.check_schedule(scheduled_for, now)
        if checked_time != current.scheduled_for:
            new = replace(new, scheduled_for=checked_time.astimezone(UTC))
            changed = [*changed, "scheduled_for"]
    return Edit(details=new, changed=tuple(changed))


def edit_text(host_name: str, old_title: str, edit: Edit) -> str:
    """What the people who asked for a reminder read (one text for all: times in UTC; their
    calendar shows them in their own zone)."""
    parts: list[str] = []
    if "title" in edit.changed:
        parts.append(f"it is now called {quoted(edit.details.title)}")
    if edit.moved:
        parts.append(f"it now starts {edit.details.scheduled_for:%a %d %b %Y %H:%M} UTC")
    if "topics" in edit.changed:
        parts.append("its topics changed")
    return f"{host_name} changed {quoted(old_title)}: " + "; ".join(parts)


# --- co-hosts named ahead -----------------------------------------------------------------------
def name_cohost(
    host: Seat,
    target: Seat | None,
    *,
    target_id: int,
    cohost_count: int,
    stage_count: int,
    blocked_either_way: bool,
) -> Seat:
    """The host names someone co-host of a scheduled space (`target`: their seat if they have
    one, e.g. waiting in the room). They hold the role when it starts. The stage's own limits
    hold (domain/stage.py: at most COHOSTS_MAX)."""
    if blocked_either_way:
        raise Blocked("you and that person have blocked one another")
    if target is None:
        target = Seat(user_id=target_id)
    elif target.removed:
        raise Forbidden("that person was removed from this space")
    return stage.make_cohost(host, target, cohost_count=cohost_count, stage_count=stage_count)


def unname_cohost(host: Seat, target: Seat) -> Seat:
    """Before the start nobody is on stage: a co-host no longer named is a listener again."""
    demoted = stage.remove_cohost(host, target)
    return replace(demoted, role=Role.LISTENER, muted=True, stage_request=StageRequest.NONE)


# --- the host's start reminder ------------------------------------------------------------------
def host_start_due(state: SpaceState, scheduled_for: datetime | None, starts_at: datetime) -> bool:
    """A start reminder queued for `starts_at` is still due: the space is still scheduled, for
    that time (an edit that moved it queued another one; a canceled or started space needs none)."""
    return state is SpaceState.SCHEDULED and scheduled_for == starts_at


# --- calendar files (RFC 5545) ------------------------------------------------------------------
@dataclass(frozen=True)
class CalendarEntry:
    space_id: int
    title: str
    topics: list[str]
    host_name: str
    host_handle: str
    state: SpaceState
    starts_at: datetime
    # Bumps with every change of the space (RFC 5545 3.8.7.4: calendars keep the highest).
    sequence: int
    created_at: datetime


def check_calendar_zone(name: str | None) -> str:
    """`?tz=`: an IANA name (default UTC)."""
    if name is None or name == "":
        return "UTC"
    try:
        return check_time_zone(name)
    except Invalid as invalid:
        raise Invalid("tz", invalid.rule, invalid.detail) from None


def event_uid(space_id: int, site_host: str) -> str:
    """Stable per space (RFC 5545 3.8.4.7): a calendar updates the event it has."""
    return f"space-{space_id}@{site_host}"


def calendar_file(
    entries: Sequence[CalendarEntry],
    *,
    time_zone: str,
    site_url: str | None,
    site_host: str,
    now: datetime,
    name: str | None = None,
) -> bytes:
    """One VEVENT per entry, times in `time_zone` (with its VTIMEZONE) or in UTC (`Z`).
    `site_url`: the instance's absolute URL, for links (none: left out)."""
    zone = ZoneInfo(time_zone) if time_zone != "UTC" else UTC
    calendar = Calendar()
    calendar.add("prodid", "-//Parley//Scheduled spaces//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name is not None:
        # Read by Apple Calendar, Outlook and Thunderbird for a subscribed feed.
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", time_zone)
        # Subscribed calendars look again this often (RFC 7986 5.7).
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    for entry in entries:
        event = Event()
        start = entry.starts_at.astimezone(zone)
        event.add("uid", event_uid(entry.space_id, site_host))
        event.add("dtstamp", now.astimezone(UTC))
        event.add("created", entry.created_at.astimezone(UTC))
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_DURATION)
        event.add("summary", entry.title)
        event.add("sequence", entry.sequence)
        description = f"A space on Parley hosted by {entry.host_name} (@{entry.host_handle})."
        if entry.topics:
            description += " Topics: " + ", ".join(entry.topics) + "."
        if site_url is not None:
            link = f"{site_url}/s/{entry.space_id}"
            event.add("url", link)
            description += f"\n{link}"
        event.add("description", description)
        event.add("status", "CANCELLED" if entry.state is SpaceState.CANCELED else "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    if time_zone != "UTC" and entries:
        starts = [entry.starts_at.astimezone(zone).date() for entry in entries]
        calendar.add_missing_timezones(
            first_date=min(starts) - timedelta(days=1),
            last_date=max(starts) + timedelta(days=366),
        )
    ical: bytes = calendar.to_ical()
    return ical
