"""Rules of recordings, replays and clips: retention, clip spans, recording states. No I/O."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum

from parley.domain.errors import Conflict, Invalid, InvalidState

# At most this much audio in a clip (Spaces clips the last 30 s).
CLIP_MAX_S = 30.0
CLIP_MIN_S = 1.0


class RecordingState(StrEnum):
    RECORDING = "recording"  # the space is live and its segments are being written
    COMPLETE = "complete"  # the space ended; the .m4a is made


class ClipVisibility(StrEnum):
    PUBLIC = "public"  # anyone with its link
    PRIVATE = "private"  # its clipper alone


def require_clips_allowed(*, recorded: bool) -> None:
    """The host chose not to record the space (no replay offered), or the instance records none:
    no piece of it is kept to share either."""
    if not recorded:
        raise Conflict(
            "the host chose not to record this space: it cannot be clipped", rule="record_off"
        )


def clip_visibility(*, recorded: bool, live: bool, replay_published: bool) -> ClipVisibility:
    """Who hears a clip follows the audio it was cut from: public while its space is live (the
    room is), then only while the host publishes the replay; otherwise (and for a clip of a space
    not recorded, which is not made any more) only its clipper does."""
    if recorded and (live or replay_published):
        return ClipVisibility.PUBLIC
    return ClipVisibility.PRIVATE


def finish(state: RecordingState) -> RecordingState:
    if state is not RecordingState.RECORDING:
        raise InvalidState(f"cannot finish a recording that is {state.value}", state=state.value)
    return RecordingState.COMPLETE


def expires_at(ended_at: datetime, retention_days: int) -> datetime:
    return ended_at + timedelta(days=retention_days)


def is_expired(ended_at: datetime | None, now: datetime, retention_days: int) -> bool:
    """A recording (and its clips) is purged once `retention_days` have passed since its space
    ended; one still recording never is."""
    return ended_at is not None and now >= expires_at(ended_at, retention_days)


def clip_span(
    *, start_s: float | None, duration_s: float, recorded_s: float, live: bool = False
) -> tuple[float, float]:
    """The [start, start + duration) a clip takes from a recording of `recorded_s` seconds.
    No start means the last `duration_s`: what a clip of a live space always is (as on Spaces;
    a span of the past is for the replay). Never longer than 30 s, nor shorter than 1 s."""
    if live and start_s is not None:
        raise Invalid(
            "start_s", "live", "a live space is clipped from its last seconds: no start_s"
        )
    if not (math.isfinite(duration_s) and CLIP_MIN_S <= duration_s <= CLIP_MAX_S):
        raise Invalid(
            "duration_s", "range", f"a clip lasts {CLIP_MIN_S:g} to {CLIP_MAX_S:g} seconds"
        )
    if start_s is None:
        start_s = max(0.0, recorded_s - duration_s)
    if not math.isfinite(start_s) or start_s < 0:
        raise Invalid("start_s", "min", "start_s must be 0 or more")
    if start_s > recorded_s - CLIP_MIN_S:
        raise Invalid(
            "start_s", "max", f"the recording is {recorded_s:.1f} s long: start 1 s before its end"
        )
    return start_s, min(duration_s, recorded_s - start_s)
