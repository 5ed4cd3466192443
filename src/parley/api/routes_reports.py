"""Reports by anyone signed in, and each user's notices (docs/moderation.md)."""

from __future__ import annotations

from fastapi import APIRouter, status

from parley.actions import notices, reports
from parley.api.auth import ServicesDep, UserDep
from parley.api.schemas import (
    MyReportsOut,
    NoticesOut,
    NoticesReadBody,
    ReasonsOut,
    ReportBody,
)
from parley.domain.moderation import ReportKind
from parley.domain.views import MyReportView

router = APIRouter(prefix="/api", tags=["reports"])


@router.get("/reports/reasons")
async def reasons(services: ServicesDep) -> ReasonsOut:
    """The reasons a report may give on this instance."""
    return ReasonsOut(reasons=services.settings.report_reasons)


@router.post("/reports", status_code=status.HTTP_201_CREATED)
async def file_report(body: ReportBody, services: ServicesDep, user: UserDep) -> MyReportView:
    """Reports a user, a space, a moment of a space (a speaker's words: now in a live space,
    `at_s` in a replay), or a direct message one received (`message_id`). The evidence is
    gathered at once; the reporter is never named to the reported user."""
    return await reports.file(
        services,
        user.id,
        reports.NewReport(
            kind=ReportKind(body.kind),
            reason=body.reason,
            note=body.note,
            user_id=body.user_id,
            space_id=body.space_id,
            at_s=body.at_s,
            message_id=body.message_id,
        ),
    )


@router.get("/reports/mine")
async def my_reports(services: ServicesDep, user: UserDep) -> MyReportsOut:
    return MyReportsOut(reports=await reports.mine(services, user.id))


@router.get("/me/notices")
async def my_notices(services: ServicesDep, user: UserDep) -> NoticesOut:
    shown, unread = await notices.notices(services, user.id)
    return NoticesOut(notices=shown, unread=unread)


@router.post("/me/notices/read", status_code=status.HTTP_204_NO_CONTENT)
async def read_notices(body: NoticesReadBody, services: ServicesDep, user: UserDep) -> None:
    await notices.mark_read(services, user.id, body.ids)
