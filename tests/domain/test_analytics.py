"""Host analytics' figures on scripted timelines: known joins and leaves give exactly the
expected unique count, peak, listening time, listeners over time and retention curve."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from parley.domain import analytics as rules
from parley.domain import analytics_period as period
from parley.domain.analytics import (
    Arrival,
    Listen,
    ListenPath,
    Tally,
    TallyKind,
)
from parley.domain.analytics_csv import host_csv, space_csv, space_rows
from parley.domain.errors import Forbidden, Invalid
from parley.domain.space import SpaceState, SpeakerPolicy
from parley.domain.stage import Role
from parley.domain.views import SpaceView, UserBrief

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
HOST = 1


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def listen(
    who: str,
    start_min: float,
    end_min: float,
    path: ListenPath = ListenPath.ROOM,
    arrival: Arrival | None = None,
) -> Listen:
    return Listen(who, path, arrival, at(start_min), at(end_min))


# A 10-minute space: the host throughout; Ana 0-10 on her socket and WebRTC at once; Ben 2-4,
# away, back 6-8 over HLS; a visitor 1-3; Cy 5-10 from the home page; Dee joins before the
# space started (counted from its start) and stays past its end (counted to its end).
SCRIPT = [
    listen("u1", 0, 10),
    listen("u2", 0, 10, arrival=Arrival.NOTIFICATION),
    listen("u2", 0.5, 10, ListenPath.WEBRTC),
    listen("u3", 2, 4, arrival=Arrival.LINK),
    listen("u3", 6, 8, ListenPath.HLS),
    listen("vabcdefghijklmnop", 1, 3, arrival=Arrival.EMBED),
    listen("u4", 5, 10, arrival=Arrival.HOME),
    listen("u5", -3, 12),
]


def figures() -> rules.SpaceFigures:
    return rules.space_figures(SCRIPT, [], start=at(0), end=at(10), host_id=HOST)


def test_unique_listeners_count_each_person_once_and_visitors_apart() -> None:
    seen = figures().audience
    assert seen.unique_listeners == 4  # u2, u3, u4, u5 (the host is not their own audience)
    assert seen.unique_visitors == 1
    assert seen.by_path == {"room": 5, "webrtc": 1, "hls": 1}


def test_peak_is_the_most_people_there_at_once_and_when() -> None:
    seen = figures().audience
    # 0-1: u2 u5 (2); 1-2: + visitor (3); 2-3: + u3 (4); 3-4: u2 u5 u3 (3); 5-6: u2 u5 u4 (3);
    # 6-8: + u3 (4). u2's two paths count once.
    assert seen.peak_listeners == 4
    assert seen.peak_at == at(2)


def test_listening_time_is_the_union_of_each_persons_listens_within_the_space() -> None:
    seen = figures().audience
    # u2 10 min, u3 4, u4 5, u5 10 (clipped to the space), the visitor 2: 31 min over 5 people.
    assert seen.total_listening_s == 31 * 60
    assert seen.average_listening_s == pytest.approx(31 * 60 / 5)


def test_listeners_over_time_gives_the_most_there_in_each_minute() -> None:
    over_time = figures().listeners_over_time
    assert [point.at for point in over_time] == [at(m) for m in range(10)]
    assert [point.listeners for point in over_time] == [2, 3, 4, 3, 2, 3, 4, 4, 3, 3]


def test_retention_is_the_share_whose_listening_reached_each_minute() -> None:
    points = {point.minute: (point.share, point.listeners) for point in figures().retention}
    # Listening minutes: u2 10, u3 4, u4 5, u5 10, visitor 2; first came at 0, 2, 5, 0, 1.
    assert points[0] == (1.0, 5)
    assert points[2] == (1.0, 5)
    assert points[3] == (0.8, 5)
    assert points[5] == (0.6, 5)
    # After 6 minutes: only those who came by minute 4 could have stayed 6 (u4 came at 5).
    assert points[6] == (0.5, 4)
    assert points[8] == (0.5, 4)
    assert points[9] == (0.6667, 3)  # u2, u5 and the visitor (came at 1) could have
    assert points[10] == (1.0, 2)
    assert sorted(points) == list(range(11))


def test_late_arrivals_who_stay_do_not_read_as_leaving() -> None:
    # Ten people there the whole hour, ten more from minute 50 to the end: nobody left.
    listens = [listen(f"u{10 + n}", 0, 60) for n in range(10)]
    listens += [listen(f"u{30 + n}", 50, 60) for n in range(10)]
    found = rules.space_figures(listens, [], start=at(0), end=at(60), host_id=HOST)
    assert {point.share for point in found.retention} == {1.0}
    assert found.retention[15].listeners == 10


def test_arrivals_take_each_persons_first_stated_way_in() -> None:
    arrivals = figures().audience.arrivals
    # u5 said nothing: a link.
    assert arrivals == {"link": 2, "home": 1, "notification": 1, "embed": 1, "message": 0}


def test_a_live_space_counts_open_listens_to_now() -> None:
    now = at(3)
    live = rules.space_figures(
        [listen("u2", 1, 3)], [], start=at(0), end=now, host_id=HOST
    ).audience
    assert live.total_listening_s == 120
    assert rules.effective_end(None, at(2.95), now, lease_s=15) == now
    # The node holding it stopped renewing: it ended when last heard of.
    assert rules.effective_end(None, at(2), now, lease_s=15) == at(2)
    assert rules.effective_end(at(2.5), at(2.5), now, lease_s=15) == at(2.5)


def test_an_empty_space_has_zero_figures_not_errors() -> None:
    empty = rules.space_figures([], [], start=at(0), end=at(0), host_id=HOST)
    assert empty.audience.unique_listeners == 0
    assert empty.audience.peak_at is None
    assert empty.audience.average_listening_s == 0
    assert empty.retention == [rules.RetentionPoint(minute=0, share=0.0, listeners=0)]


TALLIES = [
    Tally(TallyKind.REACTION, "👏", 7),
    Tally(TallyKind.REACTION, "🔥", 2),
    Tally(TallyKind.REACTION, "👏", 1),
    Tally(TallyKind.REQUEST, "", 3),
    Tally(TallyKind.CLIP, "", 1),
    Tally(TallyKind.REPLAY_PLAY, "", 4),
    Tally(TallyKind.SHARE, "", 2),
    Tally(TallyKind.FOLLOWER, "", 5),
    Tally(TallyKind.TALK_MS, "1", 90_000),
    Tally(TallyKind.TALK_MS, "4", 30_020),
    Tally(TallyKind.TALK_MS, "1", 10_000),
    Tally(TallyKind.TALK_MS, "9", 0),  # on stage, never heard: a speaker still
]


def test_interactions_and_talk_time_sum_the_tallies() -> None:
    found = rules.space_figures([], TALLIES, start=at(0), end=at(10), host_id=HOST)
    acts = found.interactions
    assert acts.reactions == {"👏": 8, "🔥": 2}
    assert list(acts.reactions) == ["👏", "🔥"]  # the most used first
    assert (acts.requests, acts.clips, acts.replay_plays, acts.shares) == (3, 1, 4, 2)
    assert acts.new_followers == 5
    assert acts.speakers == 3
    assert found.total_interactions == 10 + 3 + 1 + 4 + 2 + 5
    assert [(line.user_id, line.talk_s) for line in found.talk] == [
        (1, 100.0),
        (4, 30.02),
        (9, 0.0),
    ]


def test_long_spaces_have_coarser_buckets_and_retention_steps() -> None:
    assert rules.bucket_seconds(3 * 3600) == 300
    assert rules.bucket_seconds(2 * 3600) == 60
    assert rules.retention_minutes(90 * 60)[:3] == [0, 5, 10]
    assert len(rules.retention_minutes(12 * 3600)) <= 60


def test_only_the_host_and_co_hosts_see_a_spaces_analytics() -> None:
    rules.require_viewer(is_host=True, role=None)
    rules.require_viewer(is_host=False, role=Role.COHOST)
    for role in (Role.SPEAKER, Role.LISTENER, None):
        with pytest.raises(Forbidden):
            rules.require_viewer(is_host=False, role=role)


def test_a_period_counts_people_once_over_all_spaces_and_compares() -> None:
    first = period.summarize(period.HostedSpace(1, at(0), at(10), SCRIPT, TALLIES), host_id=HOST)
    second = period.summarize(
        period.HostedSpace(
            2,
            at(60),
            at(70),
            [listen("u2", 60, 70), listen("u6", 60, 61)],
            [Tally(TallyKind.TALK_MS, "1", 5000)],
        ),
        host_id=HOST,
    )
    assert (second.unique_listeners, second.peak_listeners) == (2, 2)
    assert second.average_listening_s == 330
    now = period.period_figures([first, second], start=at(0), end=at(120))
    assert now.spaces == 2
    assert now.unique_listeners == 5  # u2 u3 u4 u5 u6
    assert now.unique_visitors == 1
    assert now.peak_listeners == 4 and now.peak_space_id == 1
    assert now.total_listening_s == (31 + 10 + 1) * 60
    assert now.average_listening_s == pytest.approx((31 + 11) * 60 / 7)  # 5 + 2 audiences
    assert now.interactions.speakers == 3  # user 1 spoke in both: one person
    assert now.arrivals["link"] == 2 + 2  # each space's arrivals added up
    before = period.period_figures([second], start=at(-120), end=at(0))
    changes = period.compare(now, before)
    assert changes["spaces"].change_pct == 100.0
    assert changes["unique_listeners"].previous == 2
    nothing = period.period_figures([], start=at(0), end=at(1))
    assert period.compare(now, nothing)["spaces"].change_pct is None
    assert period.previous_period(at(0), at(120)) == (at(-120), at(0))


def test_a_period_must_be_forward_and_at_most_a_year() -> None:
    with pytest.raises(Invalid, match="end: must be after start"):
        period.check_period(at(10), at(0))
    with pytest.raises(Invalid, match="at most 366 days"):
        period.check_period(at(0), at(0) + timedelta(days=400))
    # Far from the calendar's ends, where the arithmetic would fail.
    with pytest.raises(Invalid, match="end: a day from 2000-01-01"):
        period.check_days(date(2026, 1, 1), date(9999, 12, 31))
    with pytest.raises(Invalid, match="start: a day from"):
        period.check_days(date(1, 1, 1), date(2026, 1, 1))


def _space_view() -> SpaceView:
    host = UserBrief(id=HOST, handle="host", display_name="Host", avatar_url=None)
    return SpaceView(
        id=7,
        title="=HYPERLINK(evil)",
        topics=[],
        speaker_policy=SpeakerPolicy.EVERYONE,
        state=SpaceState.ENDED,
        host=host,
        scheduled_for=None,
        started_at=at(0),
        ended_at=at(10),
        created_at=at(0),
        listener_count=0,
        stage_count=0,
        record=True,
        accounts_required=False,
    )


def test_the_csv_holds_every_figure_of_the_json_and_no_formula() -> None:
    found = rules.SpaceAnalytics(
        space=_space_view(),
        live=False,
        figures=rules.space_figures(SCRIPT, TALLIES, start=at(0), end=at(10), host_id=HOST),
        speakers=[UserBrief(id=1, handle="host", display_name="Host", avatar_url=None)],
    )
    text = space_csv(found)
    assert text.startswith("\ufeff")  # for Excel
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["section", "key", "value"]
    assert ["space", "title", "'=HYPERLINK(evil)"] in rows
    assert ["audience", "unique_listeners", "4"] in rows
    assert ["audience", "peak_at", at(2).isoformat()] in rows
    assert ["space", "end", at(10).isoformat()] in rows
    live = space_rows(found.model_copy(update={"live": True}))
    assert ("space", "as_of", at(10)) in live and not [r for r in live if r[1] == "end"]
    assert ["reactions", "👏", "8"] in rows
    assert ["talk", "host", "100.0"] in rows
    assert ["talk", "4", "30.02"] in rows  # a speaker not named falls back to their id
    assert len(rows) == 1 + len(space_rows(found))
    assert sum(1 for row in rows if row[0] == "listeners_over_time") == 10


def test_the_host_csv_has_a_row_per_space() -> None:
    row = period.SpaceRow(
        space_id=7,
        title="+1 idea",
        started_at=at(0),
        ended_at=None,
        unique_listeners=3,
        unique_visitors=0,
        peak_listeners=2,
        average_listening_s=12.5,
        total_interactions=4,
    )
    empty = period.period_figures([], start=at(0), end=at(1))
    found = period.HostAnalytics(current=empty, previous=empty, changes={}, spaces=[row])
    rows = list(csv.reader(io.StringIO(host_csv(found).removeprefix("\ufeff"))))
    assert rows[1] == ["7", "'+1 idea", at(0).isoformat(), "", "3", "0", "2", "12.5", "4"]


def test_unknown_arrivals_are_ignored() -> None:
    assert rules.arrival_of("home") is Arrival.HOME
    assert rules.arrival_of("<script>") is None
    assert rules.arrival_of(None) is None
