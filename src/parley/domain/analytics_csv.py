"""Host analytics as CSV (issue 14): the same figures as the JSON, for spreadsheets. No I/O.

A space's figures are one long table, `section,key,value`, a row per figure (a chart's points
are rows of their section); a host's period is one row per space. Cells a spreadsheet would run
as a formula (a title starting with "=") are quoted with a leading apostrophe (OWASP's "CSV
injection"). The text starts with a byte order mark: without it Excel reads UTF-8 as the
system's code page (emoji and accents garbled)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from parley.domain.analytics import SpaceAnalytics
from parley.domain.analytics_period import HostAnalytics

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | datetime | None


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


BOM = "\ufeff"


def _write(rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


SPACE_HEADER = ("section", "key", "value")


def space_rows(found: SpaceAnalytics) -> list[tuple[str, str, Cell]]:
    space = found.space
    rows: list[tuple[str, str, Cell]] = [
        ("space", "id", space.id),
        ("space", "title", space.title),
        ("space", "live", found.live),
    ]
    figures = found.figures
    if figures is None:
        return rows
    # A live space has no end yet: its figures run to when they were read.
    rows += [
        ("space", "start", figures.start),
        ("space", "as_of" if found.live else "end", figures.end),
    ]
    seen = figures.audience
    rows += [
        ("audience", name, getattr(seen, name))
        for name in (
            "unique_listeners",
            "unique_visitors",
            "peak_listeners",
            "peak_at",
            "total_listening_s",
            "average_listening_s",
        )
    ]
    rows += [("path", path, count) for path, count in seen.by_path.items()]
    rows += [("arrival", arrival, count) for arrival, count in seen.arrivals.items()]
    rows += [
        ("listeners_over_time", point.at.isoformat(), point.listeners)
        for point in figures.listeners_over_time
    ]
    rows += [("retention", str(point.minute), point.share) for point in figures.retention]
    acts = figures.interactions
    rows += [("reactions", emoji, count) for emoji, count in acts.reactions.items()]
    rows += [
        ("interactions", name, getattr(acts, name))
        for name in ("requests", "speakers", "clips", "replay_plays", "shares", "new_followers")
    ]
    rows.append(("interactions", "total", figures.total_interactions))
    handles = {user.id: user.handle for user in found.speakers}
    rows += [
        ("talk", handles.get(line.user_id, str(line.user_id)), line.talk_s) for line in figures.talk
    ]
    return rows


def space_csv(found: SpaceAnalytics) -> str:
    return _write([SPACE_HEADER, *space_rows(found)])


HOST_HEADER = (
    "space_id",
    "title",
    "started_at",
    "ended_at",
    "unique_listeners",
    "unique_visitors",
    "peak_listeners",
    "average_listening_s",
    "total_interactions",
)


def host_csv(found: HostAnalytics) -> str:
    return _write(
        [
            HOST_HEADER,
            *(tuple(getattr(row, name) for name in HOST_HEADER) for row in found.spaces),
        ]
    )
