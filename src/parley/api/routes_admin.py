"""The admin desk (instance moderators and admins) and the moderation logs (docs/moderation.md).
Every route checks the caller's instance role in its action; members get 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import FileResponse, Response

from parley.actions import audit, moderation, reports, signups
from parley.api.auth import ServicesDep, UserDep
from parley.api.schemas import (
    AccountOut,
    AccountsOut,
    AuditOut,
    DecisionBody,
    HistoryOut,
    Id,
    InviteBody,
    InvitesOut,
    LiftBody,
    ReasonBody,
    ReportOut,
    ReportsOut,
    RoleBody,
    SanctionBody,
    WarnBody,
)
from parley.domain.errors import NotFound
from parley.domain.moderation import (
    AccountState,
    AdminAction,
    InstanceRole,
    ReportKind,
    ReportState,
    SanctionKind,
)
from parley.domain.moderation import check_may as check_may_staff

router = APIRouter(prefix="/api", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=100)]
OptionalId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


# --- reports ------------------------------------------------------------------------------------
@router.get("/admin/reports")
async def report_queue(
    services: ServicesDep,
    user: UserDep,
    state: ReportState = ReportState.OPEN,
    kind: ReportKind | None = None,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    user_id: OptionalId = None,
    space_id: OptionalId = None,
    after_id: OptionalId = None,
    limit: Limit = 50,
) -> ReportsOut:
    """Reports in a state (open by default), oldest first, with their evidence."""
    found = await reports.queue(
        services,
        user.id,
        state=state,
        kind=kind,
        reason=reason,
        user_id=user_id,
        space_id=space_id,
        after_id=after_id,
        limit=limit,
    )
    return ReportsOut(reports=found)


@router.get("/admin/reports/{report_id}")
async def get_report(report_id: Id, services: ServicesDep, user: UserDep) -> ReportOut:
    return ReportOut(report=await reports.report(services, user.id, report_id))


@router.get("/admin/reports/{report_id}/audio.m4a", response_class=FileResponse)
async def report_audio(report_id: Id, services: ServicesDep, user: UserDep) -> FileResponse:
    """The recording kept with the report (until it is decided)."""
    path = await reports.audio(services, user.id, report_id)
    if not path.is_file():
        raise NotFound(f"report {report_id} has no recording kept")
    return FileResponse(
        path, media_type="audio/mp4", headers={"Cache-Control": "private, no-store"}
    )


@router.post("/admin/reports/{report_id}/decision")
async def decide(
    report_id: Id, body: DecisionBody, services: ServicesDep, user: UserDep
) -> ReportOut:
    decided = await reports.decide(
        services,
        user.id,
        report_id,
        reports.DecisionBody(
            decision=body.decision,
            reason=body.reason,
            message=body.message,
            days=body.days,
            pin_id=body.pin_id,
            clip_id=body.clip_id,
        ),
    )
    return ReportOut(report=decided)


# --- accounts -----------------------------------------------------------------------------------
@router.get("/admin/users")
async def accounts(
    services: ServicesDep,
    user: UserDep,
    state: AccountState | None = None,
    role: InstanceRole | None = None,
    before_id: OptionalId = None,
    limit: Limit = 100,
) -> AccountsOut:
    found = await signups.accounts(
        services, user.id, state=state, role=role, before_id=before_id, limit=limit
    )
    return AccountsOut(accounts=found)


@router.get("/admin/users/{user_id}")
async def account_history(user_id: Id, services: ServicesDep, user: UserDep) -> HistoryOut:
    """An account with its sanctions (newest first)."""
    account = await moderation.account(services, user.id, user_id)
    return HistoryOut(account=account, sanctions=await moderation.history(services, user_id))


@router.put("/admin/users/{handle}/role")
async def grant_role(
    handle: str, body: RoleBody, services: ServicesDep, user: UserDep
) -> AccountOut:
    account = await moderation.grant_role(services, user.id, handle, body.role, body.reason)
    return AccountOut(account=account)


@router.post("/admin/users/{user_id}/warn", status_code=status.HTTP_204_NO_CONTENT)
async def warn(user_id: Id, body: WarnBody, services: ServicesDep, user: UserDep) -> None:
    await moderation.warn(services, user.id, user_id, body.message)


@router.post("/admin/users/{user_id}/suspend")
async def suspend(
    user_id: Id, body: SanctionBody, services: ServicesDep, user: UserDep
) -> AccountOut:
    """Suspends for `days`, or for good (no days: admins only). Every session, socket and media
    session of the account ends at once, and its live spaces end."""
    account = await moderation.suspend(
        services, user.id, user_id, days=body.days, reason=body.reason
    )
    return AccountOut(account=account)


@router.post("/admin/users/{user_id}/restrict-hosting")
async def restrict_hosting(
    user_id: Id, body: SanctionBody, services: ServicesDep, user: UserDep
) -> AccountOut:
    account = await moderation.restrict_hosting(
        services, user.id, user_id, days=body.days, reason=body.reason
    )
    return AccountOut(account=account)


@router.post("/admin/users/{user_id}/lift")
async def lift(user_id: Id, body: LiftBody, services: ServicesDep, user: UserDep) -> AccountOut:
    account = await moderation.lift(services, user.id, user_id, SanctionKind(body.kind))
    return AccountOut(account=account)


@router.post("/admin/users/{user_id}/approve")
async def approve(user_id: Id, services: ServicesDep, user: UserDep) -> AccountOut:
    account = await signups.decide_account(services, user.id, user_id, approve=True)
    assert account is not None
    return AccountOut(account=account)


@router.post("/admin/users/{user_id}/reject", status_code=status.HTTP_204_NO_CONTENT)
async def reject(user_id: Id, services: ServicesDep, user: UserDep) -> None:
    await signups.decide_account(services, user.id, user_id, approve=False)


# --- content ------------------------------------------------------------------------------------
@router.post("/admin/spaces/{space_id}/end", status_code=status.HTTP_204_NO_CONTENT)
async def end_space(space_id: Id, body: ReasonBody, services: ServicesDep, user: UserDep) -> None:
    await moderation.end_space(services, user.id, space_id, reason=body.reason)


@router.post("/admin/pins/{pin_id}/remove", status_code=status.HTTP_204_NO_CONTENT)
async def remove_pin(pin_id: Id, body: ReasonBody, services: ServicesDep, user: UserDep) -> None:
    await moderation.remove_pin(services, user.id, pin_id, reason=body.reason)


@router.post("/admin/clips/{clip_id}/remove", status_code=status.HTTP_204_NO_CONTENT)
async def remove_clip(
    clip_id: Annotated[str, Path(max_length=32)],
    body: ReasonBody,
    services: ServicesDep,
    user: UserDep,
) -> None:
    await moderation.remove_clip(services, user.id, clip_id, reason=body.reason)


# --- invites ------------------------------------------------------------------------------------
@router.post("/admin/invites", status_code=status.HTTP_201_CREATED)
async def create_invites(body: InviteBody, services: ServicesDep, user: UserDep) -> InvitesOut:
    made = await signups.create_invites(
        services, user.id, count=body.count, max_uses=body.max_uses, days=body.days
    )
    return InvitesOut(invites=made, signup_mode=services.settings.signup_mode)


@router.get("/admin/invites")
async def list_invites(services: ServicesDep, user: UserDep) -> InvitesOut:
    found = await signups.invites(services, user.id)
    return InvitesOut(invites=found, signup_mode=services.settings.signup_mode)


# --- audit --------------------------------------------------------------------------------------
async def _check_admin(services: ServicesDep, user_id: int) -> None:
    role = await moderation.staff_role(services, user_id)
    check_may_staff(role, AdminAction.READ_AUDIT)


@router.get("/admin/audit")
async def audit_log(
    services: ServicesDep,
    user: UserDep,
    user_id: OptionalId = None,
    space_id: OptionalId = None,
    before_id: OptionalId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> AuditOut:
    """The whole instance's moderation, newest first (admins)."""
    await _check_admin(services, user.id)
    found = await audit.entries(
        services,
        user_id=user_id,
        space_ids=[space_id] if space_id is not None else None,
        before_id=before_id,
        limit=limit,
    )
    return AuditOut(entries=found)


@router.get("/admin/audit.csv", response_class=Response)
async def audit_export(services: ServicesDep, user: UserDep) -> Response:
    """The audit log as CSV (admins): every line, newest first."""
    await _check_admin(services, user.id)
    lines = await audit.everything(services)
    return Response(
        audit.to_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="parley-audit.csv"'},
    )


@router.get("/spaces/{space_id}/audit", tags=["spaces"])
async def space_audit(space_id: Id, services: ServicesDep, user: UserDep) -> AuditOut:
    """The moderation of one space, for its host and co-hosts."""
    return AuditOut(entries=await audit.space_log(services, space_id, user.id))
