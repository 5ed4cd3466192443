"""Host analytics (issue 14): figures about a space's audience, computed from recorded facts.

The facts are listens (one person on one path, from a moment to a moment: a room socket, a WebRTC
session, HLS fetches) and tallies (counts by kind: reactions by emoji, requests to speak, clips,
replay plays, shares, followers gained, each speaker's talk time). Everything here is pure: the
store resolves when each listen ended (`effective_end`) and hands the facts over.

What the figures mean (docs/analytics.md):
- A listener is anyone in the space's audience but its host: co-hosts and speakers listen too.
  People are keys: "u{id}" for an account, "v{digest}" for a visitor (no account; one per client
  address, media/urls.py), counted apart. A person on two paths at once (their room socket and
  their WebRTC session) is one listener for that time.
- Listening time is the union of a person's listens within the space's live window.
- The retention curve: after N minutes, the share of listeners whose listening time reached N
  minutes (so someone who dropped for a moment and came back still counts as there), among those
  who came at least N minutes before the end (someone who came late could not have stayed N
  minutes: counting them would read as leaving).
- Listeners over time: for each bucket of the live window, the most people there at once.
"""

from __future__ import annotations

import enum
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from parley.domain.errors import Forbidden
from parley.domain.stage import MODERATORS, Role
from parley.domain.views import SpaceView, UserBrief, View

VISITOR_PREFIX = "v"
USER_PREFIX = "u"


class ListenPath(enum.StrEnum):
    ROOM = "room"  # the room's socket (the web client, in the room)
    WEBRTC = "webrtc"  # a WHEP (listen) or WHIP (stage) session
    HLS = "hls"  # HLS playlist fetches (the web client's HLS, an outside player)


class Arrival(enum.StrEnum):
    """How a person came to the space (the web client says, from where they opened it)."""

    LINK = "link"  # a shared link, typed or opened from outside
    HOME = "home"  # the home page's lists
    NOTIFICATION = "notification"  # a notification (the bell, a push, an email)
    EMBED = "embed"  # an embedded player on another site
    MESSAGE = "message"  # an invitation or a link sent by direct message


class TallyKind(enum.StrEnum):
    REACTION = "reaction"  # key: the emoji
    REQUEST = "request"  # a request to speak
    CLIP = "clip"
    REPLAY_PLAY = "replay_play"
    SHARE = "share"  # a repost, or the space sent by direct message
    FOLLOWER = "follower"  # someone followed the host while the space was live
    TALK_MS = "talk_ms"  # key: the speaker's user id; amount: ms heard speaking


def arrival_of(value: str | None) -> Arrival | None:
    """A client's hint of how they came; None when absent or not one we know."""
    try:
        return Arrival(value) if value else None
    except ValueError:
        return None


def user_key(user_id: int) -> str:
    return f"{USER_PREFIX}{user_id}"


def is_visitor(listener: str) -> bool:
    return listener.startswith(VISITOR_PREFIX)


def effective_end(
    ended_at: datetime | None, last_seen_at: datetime, now: datetime, lease_s: float
) -> datetime:
    """When a listen ended: its recorded end; else now, while the node that holds it still
    renews it (within `lease_s`); else when that node was last heard of (it died)."""
    if ended_at is not None:
        return ended_at
    if now - last_seen_at <= timedelta(seconds=lease_s):
        return now
    return last_seen_at


@dataclass(frozen=True, slots=True)
class Listen:
    listener: str
    path: ListenPath
    arrival: Arrival | None
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Tally:
    kind: TallyKind
    key: str
    amount: int


class CountAt(View):
    at: datetime
    listeners: int


class RetentionPoint(View):
    minute: int
    # Of the listeners who could have listened `minute` minutes (they came at least that long
    # before the end), the share whose listening time reached it (0..1); 0 when there were none.
    share: float
    # How many listeners that share is of.
    listeners: int


class SpeakerTime(View):
    user_id: int
    talk_s: float


class Interactions(View):
    reactions: dict[str, int]
    requests: int
    speakers: int
    clips: int
    replay_plays: int
    shares: int
    new_followers: int

    @property
    def total(self) -> int:
        """Everything the audience did (speakers excluded: they are people, not acts)."""
        return (
            sum(self.reactions.values())
            + self.requests
            + self.clips
            + self.replay_plays
            + self.shares
            + self.new_followers
        )


class Audience(View):
    # People with an account, and visitors (no account), each counted once.
    unique_listeners: int
    unique_visitors: int
    # People who used each path (a person on two paths counts on both).
    by_path: dict[str, int]
    peak_listeners: int
    peak_at: datetime | None
    total_listening_s: float
    average_listening_s: float
    # First arrival of each person, by how they came.
    arrivals: dict[str, int]


class SpaceFigures(View):
    start: datetime
    end: datetime
    audience: Audience
    listeners_over_time: list[CountAt]
    bucket_s: int
    retention: list[RetentionPoint]
    interactions: Interactions
    total_interactions: int
    talk: list[SpeakerTime]


def window_listens(listens: Iterable[Listen], start: datetime, end: datetime) -> list[Listen]:
    """The listens clipped to the window; those wholly outside it, or empty, dropped."""
    kept = []
    for listen in listens:
        begin, finish = max(listen.start, start), min(listen.end, end)
        if finish > begin:
            kept.append(Listen(listen.listener, listen.path, listen.arrival, begin, finish))
    return kept


def merged_intervals(listens: Iterable[Listen]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each person's time there: their listens' intervals merged where they overlap or touch."""
    by_person: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for listen in listens:
        by_person[listen.listener].append((listen.start, listen.end))
    merged: dict[str, list[tuple[datetime, datetime]]] = {}
    for person, spans in by_person.items():
        spans.sort()
        out: list[tuple[datetime, datetime]] = []
        for begin, finish in spans:
            if out and begin <= out[-1][1]:
                if finish > out[-1][1]:
                    out[-1] = (out[-1][0], finish)
            else:
                out.append((begin, finish))
        merged[person] = out
    return merged


def _seconds(spans: Sequence[tuple[datetime, datetime]]) -> float:
    return sum((finish - begin).total_seconds() for begin, finish in spans)


def bucket_seconds(duration_s: float) -> int:
    """A bucket for the listeners-over-time chart: a minute, or longer so that a long space has
    at most about 120 points."""
    for bucket_s in (60, 300, 900, 3600):
        if duration_s / bucket_s <= 120:
            return bucket_s
    return 3600 * math.ceil(duration_s / 3600 / 120)


def retention_minutes(duration_s: float) -> list[int]:
    """The minutes the retention curve is given at: each minute of a short space, every 5 or 15
    minutes of a longer one (at most about 60 points), from 0 to the space's length."""
    length_min = int(duration_s // 60)
    step = 1 if length_min <= 60 else 5 if length_min <= 300 else 15
    return list(range(0, length_min + 1, step))


def concurrency(
    spans_by_person: Mapping[str, Sequence[tuple[datetime, datetime]]],
    start: datetime,
    end: datetime,
    bucket_s: int,
) -> tuple[int, datetime | None, list[CountAt]]:
    """The peak of people there at once (and when it was first reached), and the most there at
    once in each bucket of [start, end)."""
    changes: Counter[datetime] = Counter()
    for spans in spans_by_person.values():
        for begin, finish in spans:
            changes[begin] += 1
            changes[finish] -= 1
    moments = sorted(changes)
    buckets: list[CountAt] = []
    peak, peak_at = 0, None
    now_there, index = 0, 0
    bucket_start = start
    while bucket_start < end:
        bucket_end = min(bucket_start + timedelta(seconds=bucket_s), end)
        # Changes up to and at the bucket's start set who is there as it begins.
        while index < len(moments) and moments[index] <= bucket_start:
            now_there += changes[moments[index]]
            index += 1
        most = now_there
        if now_there > peak:
            peak, peak_at = now_there, bucket_start
        while index < len(moments) and moments[index] < bucket_end:
            now_there += changes[moments[index]]
            if now_there > most:
                most = now_there
            if now_there > peak:
                peak, peak_at = now_there, moments[index]
            index += 1
        buckets.append(CountAt(at=bucket_start, listeners=most))
        bucket_start = bucket_end
    return peak, peak_at, buckets


def interactions(tallies: Iterable[Tally]) -> Interactions:
    sums: Counter[TallyKind] = Counter()
    reactions: Counter[str] = Counter()
    speakers: set[str] = set()
    for tally in tallies:
        if tally.kind is TallyKind.REACTION:
            reactions[tally.key] += tally.amount
        elif tally.kind is TallyKind.TALK_MS:
            speakers.add(tally.key)
        else:
            sums[tally.kind] += tally.amount
    return Interactions(
        reactions=dict(sorted(reactions.items(), key=lambda item: (-item[1], item[0]))),
        requests=sums[TallyKind.REQUEST],
        speakers=len(speakers),
        clips=sums[TallyKind.CLIP],
        replay_plays=sums[TallyKind.REPLAY_PLAY],
        shares=sums[TallyKind.SHARE],
        new_followers=sums[TallyKind.FOLLOWER],
    )


def talk_times(tallies: Iterable[Tally]) -> list[SpeakerTime]:
    """Each speaker's time heard speaking, the longest first."""
    talk_ms: Counter[int] = Counter()
    for tally in tallies:
        if tally.kind is TallyKind.TALK_MS:
            talk_ms[int(tally.key)] += tally.amount
    return [
        SpeakerTime(user_id=user_id, talk_s=round(ms / 1000, 3))
        for user_id, ms in sorted(talk_ms.items(), key=lambda item: (-item[1], item[0]))
    ]


def audience(
    listens: Sequence[Listen], spans: Mapping[str, Sequence[tuple[datetime, datetime]]]
) -> tuple[Audience, dict[str, float]]:
    """Who listened (the listens already windowed, the host left out), and each person's
    listening time in seconds."""
    people = set(spans)
    visitors = {person for person in people if is_visitor(person)}
    by_path: dict[str, set[str]] = defaultdict(set)
    first: dict[str, Listen] = {}
    for listen in listens:
        by_path[listen.path.value].add(listen.listener)
        known = first.get(listen.listener)
        # A person's arrival: their earliest listen that says how they came.
        if listen.arrival is not None and (known is None or listen.start < known.start):
            first[listen.listener] = listen
    arrivals: Counter[str] = Counter()
    for person in people:
        came = first.get(person)
        arrivals[(came.arrival if came and came.arrival else Arrival.LINK).value] += 1
    seconds = {person: _seconds(person_spans) for person, person_spans in spans.items()}
    total_s = sum(seconds.values())
    return (
        Audience(
            unique_listeners=len(people) - len(visitors),
            unique_visitors=len(visitors),
            by_path={path.value: len(by_path.get(path.value, ())) for path in ListenPath},
            peak_listeners=0,
            peak_at=None,
            total_listening_s=round(total_s, 3),
            average_listening_s=round(total_s / len(people), 3) if people else 0.0,
            arrivals={arrival.value: arrivals.get(arrival.value, 0) for arrival in Arrival},
        ),
        seconds,
    )


def retention_curve(
    spans: Mapping[str, Sequence[tuple[datetime, datetime]]],
    seconds: Mapping[str, float],
    end: datetime,
    duration_s: float,
) -> list[RetentionPoint]:
    # Each person's first arrival: their spans are sorted.
    came = {person: person_spans[0][0] for person, person_spans in spans.items() if person_spans}
    points = []
    for minute in retention_minutes(duration_s):
        latest = end - timedelta(minutes=minute)
        eligible = [person for person, at in came.items() if at <= latest]
        stayed = sum(1 for person in eligible if seconds[person] >= minute * 60)
        points.append(
            RetentionPoint(
                minute=minute,
                share=round(stayed / len(eligible), 4) if eligible else 0.0,
                listeners=len(eligible),
            )
        )
    return points


def space_figures(
    listens: Iterable[Listen],
    tallies: Iterable[Tally],
    *,
    start: datetime,
    end: datetime,
    host_id: int,
) -> SpaceFigures:
    """A space's figures over its live window [start, end) (end: now while it is live)."""
    end = max(end, start)
    host = user_key(host_id)
    windowed = window_listens((listen for listen in listens if listen.listener != host), start, end)
    spans = merged_intervals(windowed)
    seen, seconds = audience(windowed, spans)
    duration_s = (end - start).total_seconds()
    bucket_s = bucket_seconds(duration_s)
    peak, peak_at, over_time = concurrency(spans, start, end, bucket_s)
    retention = retention_curve(spans, seconds, end, duration_s)
    tallies = list(tallies)
    acts = interactions(tallies)
    return SpaceFigures(
        start=start,
        end=end,
        audience=seen.model_copy(update={"peak_listeners": peak, "peak_at": peak_at}),
        listeners_over_time=over_time,
        bucket_s=bucket_s,
        retention=retention,
        interactions=acts,
        total_interactions=acts.total,
        talk=talk_times(tallies),
    )


def require_viewer(*, is_host: bool, role: Role | None) -> None:
    """A space's analytics are for its host and co-hosts (issue 14), during it and after."""
    if not is_host and role not in MODERATORS:
        raise Forbidden("only the host and co-hosts see a space's analytics")


class SpaceAnalytics(View):
    space: SpaceView
    # The space is live: the figures run to now and change.
    live: bool
    # None before the space started.
    figures: SpaceFigures | None
    # The people `figures.talk` names.
    speakers: list[UserBrief]
