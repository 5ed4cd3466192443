"""The trust and safety rules: who may act on whom, sanctions' ends, reports' states, evidence
spans, sign-up modes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import moderation as rules
from parley.domain.errors import Forbidden, Invalid, InvalidState, RateLimited
from parley.domain.moderation import (
    AccountState,
    AdminAction,
    Decision,
    InstanceRole,
    ReportKind,
    ReportState,
    SignupMode,
)

pytestmark = pytest.mark.unit

MEMBER, MODERATOR, ADMIN = InstanceRole.MEMBER, InstanceRole.MODERATOR, InstanceRole.ADMIN
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# Every desk action by every role, on a member: allowed or not.
EXPECTED = {
    MEMBER: set(),
    MODERATOR: {
        AdminAction.REVIEW,
        AdminAction.DISMISS,
        AdminAction.WARN,
        AdminAction.REMOVE_PIN,
        AdminAction.REMOVE_CLIP,
        AdminAction.END_SPACE,
        AdminAction.RESTRICT_HOSTING,
        AdminAction.SUSPEND,
        AdminAction.LIFT,
    },
    ADMIN: set(AdminAction),
}


@pytest.mark.parametrize("actor", list(InstanceRole))
@pytest.mark.parametrize("action", list(AdminAction))
def test_each_role_may_take_exactly_its_actions(actor: InstanceRole, action: AdminAction) -> None:
    if action in EXPECTED[actor]:
        rules.check_may(actor, action, MEMBER)
    else:
        with pytest.raises(Forbidden):
            rules.check_may(actor, action, MEMBER)


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        (MODERATOR, MEMBER, True),
        (MODERATOR, MODERATOR, False),
        (MODERATOR, ADMIN, False),
        (ADMIN, MEMBER, True),
        (ADMIN, MODERATOR, True),
        (ADMIN, ADMIN, False),
    ],
)
def test_nobody_sanctions_their_own_rank_or_above(
    actor: InstanceRole, target: InstanceRole, allowed: bool
) -> None:
    if allowed:
        rules.check_may(actor, AdminAction.SUSPEND, target)
    else:
        with pytest.raises(Forbidden, match="cannot act on the account"):
            rules.check_may(actor, AdminAction.SUSPEND, target)


def test_an_admin_grants_roles_below_their_own_a_moderator_none() -> None:
    rules.check_may(ADMIN, AdminAction.GRANT_ROLE, MEMBER)
    rules.check_may(ADMIN, AdminAction.GRANT_ROLE, MODERATOR)
    # Demoting another admin is the operator's (`parley admin grant`), not a peer's.
    with pytest.raises(Forbidden, match="cannot act on the account of a admin"):
        rules.check_may(ADMIN, AdminAction.GRANT_ROLE, ADMIN)
    with pytest.raises(Forbidden, match="only an admin"):
        rules.check_may(MODERATOR, AdminAction.GRANT_ROLE, MEMBER)


@pytest.mark.parametrize(
    ("actor", "target", "host", "shown"),
    [
        (MODERATOR, MEMBER, None, True),
        (MODERATOR, None, MEMBER, True),  # a space hosted by a member
        (MODERATOR, MODERATOR, None, False),
        (MODERATOR, ADMIN, None, False),
        (MODERATOR, None, ADMIN, False),
        (MODERATOR, MEMBER, MODERATOR, False),  # a member in a moderator's space
        (ADMIN, MODERATOR, None, True),
        (ADMIN, ADMIN, None, False),
    ],
)
def test_a_report_reaches_only_those_who_may_act_on_it(
    actor: InstanceRole, target: InstanceRole | None, host: InstanceRole | None, shown: bool
) -> None:
    found = rules.may_review(
        actor,
        1,
        target_id=2 if target else None,
        target=target,
        host_id=3 if host else None,
        host=host,
    )
    assert found is shown


def test_nobody_reviews_a_report_about_themselves_or_their_space() -> None:
    assert not rules.may_review(ADMIN, 1, target_id=1, target=MEMBER, host_id=None, host=None)
    assert not rules.may_review(ADMIN, 1, target_id=None, target=None, host_id=1, host=MEMBER)
    assert not rules.may_review(ADMIN, 1, target_id=2, target=MEMBER, host_id=1, host=MEMBER)


def test_a_moderator_lifts_only_what_a_moderator_could_impose() -> None:
    rules.check_lift(MODERATOR, NOW + timedelta(days=30), NOW)
    rules.check_lift(MODERATOR, None, NOW)
    for until in (NOW + timedelta(days=31), rules.FOREVER):
        with pytest.raises(Forbidden, match="only an admin may lift"):
            rules.check_lift(MODERATOR, until, NOW)
        rules.check_lift(ADMIN, until, NOW)


def test_a_new_sanction_never_shortens_one_in_force() -> None:
    soon = NOW + timedelta(minutes=1)
    assert rules.extended(rules.FOREVER, soon, NOW) == rules.FOREVER
    assert rules.extended(soon, rules.FOREVER, NOW) == rules.FOREVER
    assert rules.extended(None, soon, NOW) == soon
    # One that ended is replaced.
    assert rules.extended(NOW - timedelta(days=1), soon, NOW) == soon


def test_a_reporter_has_a_bounded_number_of_reports_waiting() -> None:
    rules.check_open_reports(rules.OPEN_REPORTS_MAX - 1)
    with pytest.raises(RateLimited):
        rules.check_open_reports(rules.OPEN_REPORTS_MAX)


def test_a_sanction_ends_after_its_days_or_never_by_an_admin_only() -> None:
    assert rules.sanction_end(MODERATOR, NOW, 7) == NOW + timedelta(days=7)
    assert rules.sanction_end(ADMIN, NOW, None) == rules.FOREVER
    with pytest.raises(Forbidden, match="for good"):
        rules.sanction_end(MODERATOR, NOW, None)
    with pytest.raises(Forbidden, match="at most 30 days"):
        rules.sanction_end(MODERATOR, NOW, 31)
    assert rules.sanction_end(ADMIN, NOW, 365) == NOW + timedelta(days=365)
    for bad in (0, -1, float("nan"), float("inf"), 3651):
        with pytest.raises(Invalid) as refused:
            rules.sanction_end(ADMIN, NOW, bad)
        assert refused.value.field == "days"


def test_a_sanction_holds_until_its_end() -> None:
    assert rules.in_force(NOW + timedelta(seconds=1), NOW)
    assert not rules.in_force(NOW, NOW)
    assert not rules.in_force(None, NOW)
    assert rules.in_force(rules.FOREVER, NOW)


def test_a_report_is_decided_once() -> None:
    assert rules.close_report(ReportState.OPEN, Decision.DISMISS) is ReportState.DISMISSED
    for decision in set(Decision) - {Decision.DISMISS}:
        assert rules.close_report(ReportState.OPEN, decision) is ReportState.ACTIONED
    for closed in (ReportState.DISMISSED, ReportState.ACTIONED):
        with pytest.raises(InvalidState, match="already decided"):
            rules.close_report(closed, Decision.WARN)


def test_what_each_kind_of_report_names() -> None:
    rules.check_report_target(ReportKind.USER, user_id=2, space_id=None, reporter_id=1)
    rules.check_report_target(ReportKind.SPACE, user_id=None, space_id=5, reporter_id=1)
    rules.check_report_target(ReportKind.MOMENT, user_id=2, space_id=5, reporter_id=1)
    cases = [
        (ReportKind.USER, None, None, "user_id"),
        (ReportKind.SPACE, 2, None, "space_id"),
        (ReportKind.MOMENT, 2, None, "space_id"),
        (ReportKind.MOMENT, None, 5, "user_id"),
        (ReportKind.USER, 1, None, "user_id"),  # oneself
    ]
    for kind, user_id, space_id, field in cases:
        with pytest.raises(Invalid) as refused:
            rules.check_report_target(kind, user_id=user_id, space_id=space_id, reporter_id=1)
        assert refused.value.field == field


def test_the_evidence_is_the_minute_before_the_moment() -> None:
    # Live: the moment is now (the end of what is recorded); nothing after it exists yet.
    assert rules.evidence_span(300.0, 300.0, live=True) == (240.0, 60.0)
    # A replay's moment gets a little after it too, within the recording.
    assert rules.evidence_span(100.0, 600.0, live=False) == (40.0, 70.0)
    assert rules.evidence_span(595.0, 600.0, live=False) == (535.0, 65.0)
    # Early moments keep what there is; a moment past the end is the end.
    assert rules.evidence_span(20.0, 30.0, live=True) == (0.0, 20.0)
    assert rules.evidence_span(900.0, 600.0, live=False) == (540.0, 60.0)


@pytest.mark.parametrize(
    ("mode", "invite_valid", "state"),
    [
        (SignupMode.OPEN, None, AccountState.ACTIVE),
        (SignupMode.OPEN, True, AccountState.ACTIVE),
        (SignupMode.INVITE, True, AccountState.ACTIVE),
        (SignupMode.APPROVAL, None, AccountState.PENDING),
    ],
)
def test_sign_up_modes(mode: SignupMode, invite_valid: bool | None, state: AccountState) -> None:
    assert rules.check_signup(mode, invite_valid=invite_valid) is state


def test_an_invite_only_instance_needs_a_valid_code() -> None:
    with pytest.raises(Invalid) as missing:
        rules.check_signup(SignupMode.INVITE, invite_valid=None)
    assert (missing.value.field, missing.value.rule) == ("invite_code", "required")
    with pytest.raises(Invalid) as bad:
        rules.check_signup(SignupMode.INVITE, invite_valid=False)
    assert (bad.value.field, bad.value.rule) == ("invite_code", "valid")


def test_a_reason_comes_from_the_instance_list() -> None:
    assert rules.check_reason("spam", ["spam", "other"]) == "spam"
    with pytest.raises(Invalid) as refused:
        rules.check_reason("Spam", ["spam", "other"])
    assert refused.value.rule == "one_of"
