"""Host analytics over a period (issue 14): a host's spaces together, against the period of the
same length before. Pure; each space is summarized once (`summarize`) from the same facts as its
own figures (domain/analytics.py)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from parley.domain.analytics import (
    Arrival,
    Interactions,
    Listen,
    Tally,
    audience,
    concurrency,
    interactions,
    is_visitor,
    merged_intervals,
    user_key,
    window_listens,
)
from parley.domain.errors import Invalid
from parley.domain.views import View


@dataclass(frozen=True, slots=True)
class HostedSpace:
    """One of a host's spaces in a period: its live window and its facts."""

    space_id: int
    start: datetime
    end: datetime
    listens: Sequence[Listen]
    tallies: Sequence[Tally]


@dataclass(frozen=True, slots=True)
class SpaceSummary:
    """What a host's period needs of one space, computed once."""

    space_id: int
    # Each person's listening time in the space, in seconds.
    seconds: Mapping[str, float]
    peak_listeners: int
    arrivals: Mapping[str, int]
    tallies: Sequence[Tally]
    interactions: Interactions

    @property
    def unique_visitors(self) -> int:
        return sum(1 for person in self.seconds if is_visitor(person))

    @property
    def unique_listeners(self) -> int:
        return len(self.seconds) - self.unique_visitors

    @property
    def average_listening_s(self) -> float:
        people = len(self.seconds)
        return round(sum(self.seconds.values()) / people, 3) if people else 0.0


def summarize(space: HostedSpace, *, host_id: int) -> SpaceSummary:
    host = user_key(host_id)
    windowed = window_listens(
        (listen for listen in space.listens if listen.listener != host), space.start, space.end
    )
    spans = merged_intervals(windowed)
    seen, seconds = audience(windowed, spans)
    # One bucket as long as the space: its peak alone.
    whole_s = max(1, math.ceil((space.end - space.start).total_seconds()))
    peak, _, _ = concurrency(spans, space.start, space.end, bucket_s=whole_s)
    return SpaceSummary(
        space_id=space.space_id,
        seconds=seconds,
        peak_listeners=peak,
        arrivals=seen.arrivals,
        tallies=space.tallies,
        interactions=interactions(space.tallies),
    )


class PeriodFigures(View):
    start: datetime
    end: datetime
    spaces: int
    # Distinct people over all the spaces.
    unique_listeners: int
    unique_visitors: int
    # The most listeners any one space had at once, and which.
    peak_listeners: int
    peak_space_id: int | None
    total_listening_s: float
    # Per listener and space: total listening time over the listeners each space had.
    average_listening_s: float
    # Speakers: distinct people heard on stage over the period.
    interactions: Interactions
    total_interactions: int
    # Each space's arrivals added up (a person who came to two spaces counts in each).
    arrivals: dict[str, int]


class Change(View):
    """A figure now and in the period before, and the change in percent (None: nothing to
    compare with)."""

    current: float
    previous: float
    change_pct: float | None


def period_figures(
    spaces: Iterable[SpaceSummary], *, start: datetime, end: datetime
) -> PeriodFigures:
    people: set[str] = set()
    total_s = 0.0
    audiences = 0
    peak, peak_space = 0, None
    tallies: list[Tally] = []
    arrivals: Counter[str] = Counter()
    count = 0
    for space in spaces:
        count += 1
        people |= set(space.seconds)
        total_s += sum(space.seconds.values())
        audiences += len(space.seconds)
        if space.peak_listeners > peak:
            peak, peak_space = space.peak_listeners, space.space_id
        arrivals.update(space.arrivals)
        tallies.extend(space.tallies)
    visitors = sum(1 for person in people if is_visitor(person))
    acts = interactions(tallies)
    return PeriodFigures(
        start=start,
        end=end,
        spaces=count,
        unique_listeners=len(people) - visitors,
        unique_visitors=visitors,
        peak_listeners=peak,
        peak_space_id=peak_space,
        total_listening_s=round(total_s, 3),
        average_listening_s=round(total_s / audiences, 3) if audiences else 0.0,
        interactions=acts,
        total_interactions=acts.total,
        arrivals={arrival.value: arrivals.get(arrival.value, 0) for arrival in Arrival},
    )


COMPARED = (
    "spaces",
    "unique_listeners",
    "unique_visitors",
    "peak_listeners",
    "total_listening_s",
    "average_listening_s",
    "total_interactions",
)


def compare(current: PeriodFigures, previous: PeriodFigures) -> dict[str, Change]:
    """The headline figures of a period against the period before it."""
    changes = {}
    for name in COMPARED:
        now, before = float(getattr(current, name)), float(getattr(previous, name))
        pct = round((now - before) / before * 100, 1) if before else None
        changes[name] = Change(current=now, previous=before, change_pct=pct)
    return changes


MAX_PERIOD = timedelta(days=366)


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before [start, end)."""
    return start - (end - start), start


FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(9000, 12, 31)


def check_days(start: date, end: date) -> None:
    """Days a period may be given in (far from the calendar's ends, where arithmetic fails)."""
    for name, day in (("start", start), ("end", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise Invalid(name, "range", f"a day from {FIRST_DAY} to {LAST_DAY}")


def check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise Invalid("end", "after_start", "must be after start")
    if end - start > MAX_PERIOD:
        raise Invalid("end", "max_period", f"a period is at most {MAX_PERIOD.days} days")


class SpaceRow(View):
    """One space of a host's period, for their table."""

    space_id: int
    title: str
    started_at: datetime
    ended_at: datetime | None
    unique_listeners: int
    unique_visitors: int
    peak_listeners: int
    average_listening_s: float
    total_interactions: int


class HostAnalytics(View):
    current: PeriodFigures
    previous: PeriodFigures
    changes: dict[str, Change]
    spaces: list[SpaceRow]
