"""A space's lifecycle and what it is made of: states, transitions, title, topics, schedule."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

from parley.domain.errors import Conflict, Invalid, InvalidState
from parley.domain.text import check_text

TITLE_MAX = 70
TOPICS_MAX = 3
TOPIC_MAX = 24
SCHEDULE_AHEAD_MAX = timedelta(days=30)


class SpaceState(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELED = "canceled"


class SpeakerPolicy(enum.StrEnum):
    """Who may ask to speak."""

    EVERYONE = "everyone"
    FOLLOWED = "followed"  # people the host follows
    INVITED = "invited"  # only people the host or a co-host invites


class SpaceTransition(enum.StrEnum):
    START = "start"
    END = "end"
    CANCEL = "cancel"


_TRANSITIONS: dict[tuple[SpaceState, SpaceTransition], SpaceState] = {
    (SpaceState.SCHEDULED, SpaceTransition.START): SpaceState.LIVE,
    (SpaceState.SCHEDULED, SpaceTransition.CANCEL): SpaceState.CANCELED,
    (SpaceState.LIVE, SpaceTransition.END): SpaceState.ENDED,
}


def transition(state: SpaceState, action: SpaceTransition) -> SpaceState:
    """The state after `action`, or InvalidState naming the current state."""
    try:
        return _TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidState(
            f"cannot {action.value} a space that is {state.value}", state=state.value
        ) from None


def require_live(state: SpaceState, doing: str) -> None:
    if state is not SpaceState.LIVE:
        raise InvalidState(f"cannot {doing}: the space is {state.value}", state=state.value)


def require_joinable(state: SpaceState) -> None:
    """Listeners can open a scheduled space (to wait) or a live one, not a finished one."""
    if state in (SpaceState.ENDED, SpaceState.CANCELED):
        raise InvalidState(f"cannot join: the space is {state.value}", state=state.value)


def check_title(title: str) -> str:
    title = check_text("title", title)
    if not title:
        raise Invalid("title", "min_length", "must not be empty")
    if len(title) > TITLE_MAX:
        raise Invalid("title", "max_length", f"must be at most {TITLE_MAX} characters")
    return title


def check_topics(topics: list[str]) -> list[str]:
    if len(topics) > TOPICS_MAX:
        raise Invalid("topics", "max_items", f"at most {TOPICS_MAX} topics")
    cleaned: list[str] = []
    for topic in topics:
        topic = check_text("topics", topic)
        if not topic:
            raise Invalid("topics", "min_length", "a topic must not be empty")
        if len(topic) > TOPIC_MAX:
            raise Invalid("topics", "max_length", f"a topic must be at most {TOPIC_MAX} characters")
        if topic.lower() in (t.lower() for t in cleaned):
            raise Invalid("topics", "unique", f"topic {topic!r} is listed twice")
        cleaned.append(topic)
    return cleaned


def check_schedule(scheduled_for: datetime, now: datetime) -> datetime:
    if scheduled_for.tzinfo is None:
        raise Invalid("scheduled_for", "timezone", "must include a timezone offset")
    if scheduled_for <= now:
        raise Invalid("scheduled_for", "future", "must be in the future")
    if scheduled_for - now > SCHEDULE_AHEAD_MAX:
        raise Invalid("scheduled_for", "max_ahead", "must be at most 30 days ahead")
    return scheduled_for


def host_grace_expired(host_absent_since: datetime | None, now: datetime, grace_s: float) -> bool:
    """A host who drops has `grace_s` to come back before the space ends."""
    return host_absent_since is not None and (now - host_absent_since).total_seconds() >= grace_s


def check_live_spaces_per_host(live_space_ids: Sequence[int], limit: int) -> None:
    """A host runs at most `limit` live spaces at once (0: no limit), so one account cannot keep
    many mixed, encoded and recorded (issue 12). Scheduled spaces count once started. The
    message names where the live ones are, for the client to offer going there."""
    if limit <= 0 or len(live_space_ids) < limit:
        return
    where = ", ".join(f"/s/{space_id}" for space_id in live_space_ids)
    if limit == 1:
        message = (
            f"you are already hosting a live space ({where}): end it before going live again "
            "(1 live space at a time)"
        )
    else:
        message = (
            f"you are already hosting {len(live_space_ids)} live spaces ({where}): end one "
            f"before going live again (at most {limit} live spaces at a time)"
        )
    raise Conflict(message, rule="live_spaces_per_host")
