"""The instance's trust and safety rules: roles above the host, who may act on whom, sanctions
and their time, reports and their states, sign-up modes. No I/O."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from parley.domain import text
from parley.domain.errors import Forbidden, Invalid, InvalidState, RateLimited

# A sanction for good ends at the end of time (both stores hold this date).
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
# The longest a moderator may suspend or restrict for; for good and longer is an admin's call.
MODERATOR_MAX_DAYS = 30
SANCTION_MAX_DAYS = 3650
REASON_MAX = 500
NOTE_MAX = 1000
# The recording kept with a report: what came before the moment, and a little after (a replay's
# moment; a live one has no after yet).
EVIDENCE_BEFORE_S = 60.0
EVIDENCE_AFTER_S = 10.0
# The reported user's history shown with a report: their last sanctions and reports against them.
HISTORY_ITEMS = 20
# Reports one user may have waiting for a decision at once.
OPEN_REPORTS_MAX = 20


class InstanceRole(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class AccountState(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # signed up on an instance that approves accounts, not approved yet


class SignupMode(StrEnum):
    OPEN = "open"
    INVITE = "invite"  # a valid invite code is needed
    APPROVAL = "approval"  # anyone signs up; an admin approves before they can sign in


class SanctionKind(StrEnum):
    WARNING = "warning"
    HOSTING_RESTRICTED = "hosting_restricted"
    SUSPENDED = "suspended"


class ReportKind(StrEnum):
    USER = "user"
    SPACE = "space"
    MOMENT = "moment"  # a speaker's words at a time of a live space or a replay
    MESSAGE = "message"  # a direct message received (its sender is the reported user)


class ReportState(StrEnum):
    OPEN = "open"
    # A moderator's decision is being carried out: nobody else decides it meanwhile.
    DECIDING = "deciding"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"


class Decision(StrEnum):
    """What a moderator does about a report (or on their own)."""

    DISMISS = "dismiss"
    WARN = "warn"
    REMOVE_PIN = "remove_pin"
    REMOVE_CLIP = "remove_clip"
    END_SPACE = "end_space"
    RESTRICT_HOSTING = "restrict_hosting"
    SUSPEND = "suspend"


class AdminAction(StrEnum):
    """Every action of the admin desk, as the audit log names it."""

    REVIEW = "review_reports"
    DISMISS = "dismiss_report"
    WARN = "warn"
    REMOVE_PIN = "remove_pin"
    REMOVE_CLIP = "remove_clip"
    END_SPACE = "end_space"
    RESTRICT_HOSTING = "restrict_hosting"
    SUSPEND = "suspend"
    SUSPEND_FOR_GOOD = "suspend_for_good"
    LIFT = "lift_sanction"
    GRANT_ROLE = "grant_role"
    APPROVE_ACCOUNT = "approve_account"
    REJECT_ACCOUNT = "reject_account"
    CREATE_INVITE = "create_invite"
    READ_AUDIT = "read_audit"


_MODERATOR_ACTIONS = frozenset(
    {
        AdminAction.REVIEW,
        AdminAction.DISMISS,
        AdminAction.WARN,
        AdminAction.REMOVE_PIN,
        AdminAction.REMOVE_CLIP,
        AdminAction.END_SPACE,
        AdminAction.RESTRICT_HOSTING,
        AdminAction.SUSPEND,
        AdminAction.LIFT,
    }
)
_RANK = {InstanceRole.MEMBER: 0, InstanceRole.MODERATOR: 1, InstanceRole.ADMIN: 2}

DECISION_ACTIONS = {
    Decision.DISMISS: AdminAction.DISMISS,
    Decision.WARN: AdminAction.WARN,
    Decision.REMOVE_PIN: AdminAction.REMOVE_PIN,
    Decision.REMOVE_CLIP: AdminAction.REMOVE_CLIP,
    Decision.END_SPACE: AdminAction.END_SPACE,
    Decision.RESTRICT_HOSTING: AdminAction.RESTRICT_HOSTING,
    Decision.SUSPEND: AdminAction.SUSPEND,
}


def role_of(value: str) -> InstanceRole:
    try:
        return InstanceRole(value)
    except ValueError:
        raise Invalid(
            "role", "one_of", "must be one of " + ", ".join(r.value for r in InstanceRole)
        ) from None


def check_may(actor: InstanceRole, action: AdminAction, target: InstanceRole | None = None) -> None:
    """Raises Forbidden unless `actor` may take `action` (on someone of role `target`).

    Admins may do everything but act against another admin's account; moderators review
    reports and sanction members for a time; members do nothing here. Nobody sanctions someone
    of their own rank or above (a moderator cannot silence the admin who reviews them)."""
    if actor is InstanceRole.MEMBER:
        raise Forbidden("only the instance's moderators and admins may do this")
    if actor is InstanceRole.MODERATOR and action not in _MODERATOR_ACTIONS:
        raise Forbidden(f"only an admin may {action.value.replace('_', ' ')}")
    # Giving a role is checked against the target too: an admin does not demote another admin
    # (the operator does, from the command line).
    if target is not None and _RANK[target] >= _RANK[actor]:
        raise Forbidden(f"a {actor.value} cannot act on the account of a {target.value}")


def sanction_end(
    actor: InstanceRole, now: datetime, duration_days: float | None, *, field: str = "days"
) -> datetime:
    """When a suspension or restriction ends: after `duration_days`, or FOREVER for None (an
    admin's decision only)."""
    if duration_days is None:
        if actor is not InstanceRole.ADMIN:
            raise Forbidden("only an admin may suspend or restrict for good")
        return FOREVER
    if not math.isfinite(duration_days) or duration_days <= 0:
        raise Invalid(field, "min", "must be more than 0 days")
    if duration_days > SANCTION_MAX_DAYS:
        raise Invalid(field, "max", f"must be at most {SANCTION_MAX_DAYS} days (or for good)")
    if actor is InstanceRole.MODERATOR and duration_days > MODERATOR_MAX_DAYS:
        raise Forbidden(
            f"a moderator may suspend or restrict for at most {MODERATOR_MAX_DAYS} days"
        )
    return now + timedelta(days=duration_days)


def in_force(until: datetime | None, now: datetime) -> bool:
    """Whether a sanction ending at `until` holds at `now`."""
    return until is not None and now < until


def close_report(state: ReportState, decision: Decision) -> ReportState:
    if state is not ReportState.OPEN:
        raise InvalidState(f"report is {state.value}: it was already decided", state=state.value)
    return decided(decision)


def decided(decision: Decision) -> ReportState:
    return ReportState.DISMISSED if decision is Decision.DISMISS else ReportState.ACTIONED


def rank(role: InstanceRole) -> int:
    return _RANK[role]


def may_review(
    actor: InstanceRole,
    actor_id: int,
    *,
    target_id: int | None,
    target: InstanceRole | None,
    host_id: int | None,
    host: InstanceRole | None,
) -> bool:
    """Whether a report is on this moderator's desk: never one about themselves or a space they
    host (they would learn who reported them, and could close it), nor one about someone of
    their rank or above (they could not act on it; the admins above them can)."""
    if actor_id in (target_id, host_id):
        return False
    return all(role is None or _RANK[role] < _RANK[actor] for role in (target, host))


def check_lift(actor: InstanceRole, until: datetime | None, now: datetime) -> None:
    """A moderator lifts only what a moderator could have imposed (at most 30 days from now);
    longer and for good is an admin's to lift."""
    if actor is InstanceRole.ADMIN or until is None:
        return
    if until > now + timedelta(days=MODERATOR_MAX_DAYS):
        raise Forbidden("only an admin may lift a sanction longer than 30 days or for good")


def extended(current: datetime | None, new: datetime, now: datetime) -> datetime:
    """A sanction imposed on one in force never shortens it (a moderator cannot turn an admin's
    "for good" into a minute): the later end holds; lifting is how one ends early."""
    if current is not None and in_force(current, now) and current > new:
        return current
    return new


def check_open_reports(waiting: int) -> None:
    """A reporter has at most OPEN_REPORTS_MAX reports waiting: each may keep a minute of audio
    until it is decided (a flood would fill the disk and the desk)."""
    if waiting >= OPEN_REPORTS_MAX:
        raise RateLimited(
            f"you have {waiting} reports waiting for the moderators: wait for their decisions",
            retry_after_s=3600.0,
        )


def check_reason(reason: str, reasons: list[str]) -> str:
    if reason not in reasons:
        raise Invalid("reason", "one_of", "must be one of " + ", ".join(reasons))
    return reason


def check_report_target(
    kind: ReportKind,
    *,
    user_id: int | None,
    space_id: int | None,
    reporter_id: int,
    message_id: int | None = None,
) -> None:
    """What each kind of report names: a user, a space, a moment (a space and who spoke), or a
    message (only it: its sender is the reported user)."""
    if kind is ReportKind.MESSAGE:
        if message_id is None:
            raise Invalid("message_id", "required", "a report of a message names the message")
        for field, value in (("user_id", user_id), ("space_id", space_id)):
            if value is not None:
                raise Invalid(field, "message_only", "a report of a message names only it")
        return
    if message_id is not None:
        raise Invalid("message_id", "message_only", "only a report of a message names one")
    if kind is ReportKind.USER and user_id is None:
        raise Invalid("user_id", "required", "a report of a user names the user")
    if kind is ReportKind.SPACE and space_id is None:
        raise Invalid("space_id", "required", "a report of a space names the space")
    if kind is ReportKind.MOMENT and (space_id is None or user_id is None):
        raise Invalid(
            "space_id" if space_id is None else "user_id",
            "required",
            "a report of a moment names the space and the speaker",
        )
    if user_id is not None and user_id == reporter_id:
        raise Invalid("user_id", "not_self", "you cannot report yourself")


def evidence_span(moment_s: float, recorded_s: float, *, live: bool) -> tuple[float, float]:
    """The [start, start + duration) of the recording kept with a report of the moment
    `moment_s`: the minute before it (and a little after, when the recording goes on past it)."""
    moment_s = min(max(0.0, moment_s), recorded_s)
    start_s = max(0.0, moment_s - EVIDENCE_BEFORE_S)
    end_s = moment_s if live else min(recorded_s, moment_s + EVIDENCE_AFTER_S)
    return start_s, max(0.0, end_s - start_s)


def check_signup(mode: SignupMode, *, invite_valid: bool | None) -> AccountState:
    """The state a new account starts in, or why it may not be made. `invite_valid`: None when
    no code was given."""
    if mode is SignupMode.INVITE:
        if invite_valid is None:
            raise Invalid("invite_code", "required", "this instance is invite-only: give a code")
        if not invite_valid:
            raise Invalid("invite_code", "valid", "this invite code is unknown, used or expired")
    if mode is SignupMode.APPROVAL:
        return AccountState.PENDING
    return AccountState.ACTIVE


def check_text(value: str, field: str, max_length: int) -> str:
    """A note, reason or message: human text (domain/text.py: no control or invisible
    characters; line breaks kept), at most `max_length` characters."""
    value = text.check_text(field, value, multiline=True)
    if len(value) > max_length:
        raise Invalid(field, "max_length", f"must be at most {max_length} characters")
    return value


def check_hosting_allowed(restricted_until: datetime | None, now: datetime) -> None:
    """A host whose hosting the moderators restricted opens no space until the end."""
    if in_force(restricted_until, now):
        assert restricted_until is not None
        until = (
            "for good"
            if restricted_until >= FOREVER
            else f"until {restricted_until:%Y-%m-%d %H:%M} UTC"
        )
        raise Forbidden(f"the moderators restricted your hosting: you may not host {until}")
