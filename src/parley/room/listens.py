"""What this node gathers for host analytics between two writes (issue 14): listens opening and
closing (room sockets, WebRTC sessions, HLS playlist fetches) and interactions counted in memory
(reactions, replay plays, talk time). The hot paths only touch dicts here; `flush` writes it all
in one transaction every `analytics_flush_s` (actions/analytics.py)."""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from parley.actions import analytics
from parley.actions.base import Services
from parley.domain.analytics import Arrival, ListenPath, Tally, TallyKind
from parley.media.playlist import TARGET_DURATION_S
from parley.media.urls import RecentChecks
from parley.store.analytics import NewListen

log = logging.getLogger(__name__)

# A playlist fetched is played for about a segment more: an HLS listen ends that long after its
# last fetch.
HLS_HEARD_AFTER_FETCH = timedelta(seconds=TARGET_DURATION_S)

# A replay counts one play per listener in this long (the web client reports each start).
REPLAY_PLAY_GAP_S = 1800.0

# Talk time of the spaces whose media this node holds: {space id: {user id: ms}}, taken (and
# reset) at each flush.
TalkSource = Callable[[], Mapping[int, Mapping[int, int]]]


@dataclass
class _HlsListen:
    token: int
    last_seen: datetime
    # The app served this listener a playlist: it sees each reload. Else (nginx serves the
    # files) only their link's renewals tell that they are still there.
    fetched: bool


class ListenLog:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.enabled = services.settings.analytics
        self._tokens = itertools.count(1)
        # Opened since the last flush, not written yet.
        self._new: dict[int, NewListen] = {}
        # Written: their row ids.
        self._rows: dict[int, int] = {}
        # Ended, the row known: (row id, when).
        self._ends: list[tuple[int, datetime]] = []
        # Being written by a flush now, and those of them that ended meanwhile.
        self._writing: dict[int, NewListen] = {}
        self._ended_while_writing: dict[int, datetime] = {}
        self._hls: dict[tuple[int, str], _HlsListen] = {}
        self._counts: Counter[tuple[int, TallyKind, str]] = Counter()
        self.talk_source: TalkSource | None = None
        self._plays = RecentChecks[bool](REPLAY_PLAY_GAP_S, max_entries=50_000)
        # How HLS holders said they came (/listen?via=...), for their listen when it opens.
        self._hints = RecentChecks[str](600.0, max_entries=50_000)

    # --- the hot paths ---------------------------------------------------------------------
    def opened(
        self, space_id: int, listener: str, path: ListenPath, arrival: Arrival | None = None
    ) -> int:
        """A listen starts now; its token, for `closed`."""
        token = next(self._tokens)
        if self.enabled:
            now = self.services.clock()
            self._new[token] = NewListen(space_id, listener, path, arrival, now)
        return token

    def closed(self, token: int) -> None:
        self._close(token, self.services.clock())

    def _close(self, token: int, at: datetime) -> None:
        pending = self._new.get(token)
        if pending is not None:
            # Not written yet: written once, already ended.
            self._new[token] = replace(pending, ended_at=at)
            return
        row = self._rows.pop(token, None)
        if row is not None:
            self._ends.append((row, at))
        elif token in self._writing:
            self._ended_while_writing[token] = at

    def hls_seen(
        self, space_id: int, holder: str, arrival: Arrival | None = None, *, fetched: bool = True
    ) -> None:
        """`holder` fetched a live playlist (an HLS listener is there while they fetch), or
        (`fetched` False) was given their live link: a visitor has no other way to listen, so
        behind nginx, which serves the playlists without the app, their link's renewals (every
        minute or so) keep their listen open."""
        if not self.enabled:
            return
        now = self.services.clock()
        found = self._hls.get((space_id, holder))
        if found is None:
            hinted = self._hints.get((space_id, holder), time.monotonic())
            came = arrival or (Arrival(hinted) if hinted else None)
            token = self.opened(space_id, holder, ListenPath.HLS, came)
            self._hls[(space_id, holder)] = _HlsListen(token, now, fetched)
        else:
            found.last_seen = now
            found.fetched = found.fetched or fetched

    def hint(self, space_id: int, holder: str, arrival: Arrival) -> None:
        """How an HLS listener came, said when they asked for their link."""
        if self.enabled:
            self._hints.put((space_id, holder), arrival.value, time.monotonic())

    def first_play(self, space_id: int, holder: str) -> bool:
        """The holder's first replay start in a while (then counted), on this node."""
        key = (space_id, holder)
        now_s = time.monotonic()
        if self._plays.get(key, now_s) is not None:
            return False
        self._plays.put(key, True, now_s)
        return True

    def forget_play(self, space_id: int, holder: str) -> None:
        self._plays.forget((space_id, holder))

    def count(self, space_id: int, kind: TallyKind, key: str = "", amount: int = 1) -> None:
        if self.enabled:
            self._counts[(space_id, kind, key)] += amount

    # --- the writes ------------------------------------------------------------------------
    def _idle_hls(self, now: datetime) -> None:
        settings = self.services.settings
        idle = timedelta(seconds=settings.analytics_hls_idle_s)
        # A link is renewed before it expires: one not renewed within its life is given up.
        unrenewed = idle + timedelta(seconds=settings.hls_live_url_ttl_s)
        for key, listen in list(self._hls.items()):
            if now - listen.last_seen > (idle if listen.fetched else unrenewed):
                del self._hls[key]
                self._close(listen.token, listen.last_seen + HLS_HEARD_AFTER_FETCH)

    def _take_talk(self) -> None:
        if self.talk_source is None:
            return
        for space_id, by_user in self.talk_source().items():
            for user_id, talk_ms in by_user.items():
                self._counts[(space_id, TallyKind.TALK_MS, str(user_id))] += talk_ms

    async def flush(self) -> None:
        if not self.enabled:
            return
        self._idle_hls(self.services.clock())
        self._take_talk()
        new, self._new = self._new, {}
        ends, self._ends = self._ends, []
        counts, self._counts = self._counts, Counter()
        tallies = [
            (space_id, Tally(kind, key, amount)) for (space_id, kind, key), amount in counts.items()
        ]
        self._writing = new
        try:
            ids = await analytics.record(self.services, list(new.values()), ends, tallies)
        except BaseException:
            # Kept for the next flush (the store may be back by then), also when cancelled.
            for token, ended in self._ended_while_writing.items():
                new[token] = replace(new[token], ended_at=ended)
            self._new = new | self._new
            self._ends = ends + self._ends
            self._counts.update(counts)
            raise
        finally:
            ended_meanwhile, self._ended_while_writing = self._ended_while_writing, {}
            self._writing = {}
        for (token, listen), row in zip(new.items(), ids, strict=True):
            # Those written already ended are done, as are a deleted space's (row 0).
            if not row or listen.ended_at is not None:
                continue
            ended_at = ended_meanwhile.get(token)
            if ended_at is not None:
                self._ends.append((row, ended_at))
            else:
                self._rows[token] = row

    async def close_all(self) -> None:
        """The node stops: every listen it holds ends now, and is written."""
        if not self.enabled:
            return
        now = self.services.clock()
        for key, listen in list(self._hls.items()):
            del self._hls[key]
            self._close(listen.token, min(now, listen.last_seen + HLS_HEARD_AFTER_FETCH))
        for token in list(self._rows) + [t for t, n in self._new.items() if n.ended_at is None]:
            self._close(token, now)
        await self.flush()
