"""Reports: anyone signed in reports a user, a space or a moment of one; the report gathers its
evidence when it is made (the recording around the moment, the caption lines, the reported
user's history) and keeps it until it is decided; moderators decide; the reporter hears back.
The reported user is never told who reported them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parley.actions import audit, captions, moderation
from parley.actions.base import Services, change
from parley.actions.recordings import folders
from parley.domain import moderation as rules
from parley.domain.errors import Forbidden, Invalid, NotFound
from parley.domain.moderation import (
    AdminAction,
    Decision,
    InstanceRole,
    ReportKind,
    ReportState,
)
from parley.domain.space import SpaceState
from parley.domain.views import Evidence, EvidenceLine, MyReportView, ReportView
from parley.media import archive, playlist
from parley.store import repo, views
from parley.store.models import Message, Recording, Report, Space, User

log = logging.getLogger(__name__)

REPORTS_PAGE_MAX = 100
T = TypeVar("T")


@dataclass(frozen=True)
class NewReport:
    kind: ReportKind
    reason: str
    note: str = ""
    user_id: int | None = None
    space_id: int | None = None
    # A moment of a replay, on its timeline; a moment of a live space is "now".
    at_s: float | None = None
    # A direct message received (kind MESSAGE): its sender is the reported user.
    message_id: int | None = None


def evidence_folder(services: Services) -> Path:
    """Outside the spaces' media folders: retention's purge of a recording leaves it alone."""
    return services.settings.data_dir / "reports"


def _audio_path(services: Services, name: str) -> Path:
    return evidence_folder(services) / name


async def _cut_audio(
    services: Services, space: Space, at_s: float | None
) -> tuple[str, float, float, float] | None:
    """The recording around the moment, encoded into the report's own file: (file name, start,
    duration, moment) on the recording's timeline; None when there is no recording."""
    folder = folders(services).current(space.id)
    segments = (await asyncio.to_thread(archive.recover, folder)).segments
    recorded_s = playlist.total_duration_s(segments)
    if recorded_s <= 0:
        return None
    live = space.state == SpaceState.LIVE.value
    moment_s = recorded_s if live or at_s is None else at_s
    start_s, duration_s = rules.evidence_span(moment_s, recorded_s, live=live)
    if duration_s <= 0:
        return None
    audio = await asyncio.to_thread(archive.decode_span, folder, segments, start_s, duration_s)
    name = f"{uuid.uuid4().hex}.m4a"
    target = _audio_path(services, name)
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    try:
        await asyncio.to_thread(archive.export_clip, audio, target, services.settings.hls_bitrate)
    except BaseException:
        # Nothing half-written stays (export_clip writes "<name>.tmp", then renames).
        for leftover in (target, target.with_name(target.name + ".tmp")):
            leftover.unlink(missing_ok=True)
        raise
    return name, start_s, duration_s, min(moment_s, recorded_s)


async def _check_heard(session: AsyncSession, space: Space, reporter_id: int) -> None:
    """A moment is reported by someone who could hear it: a member of the live space (removed
    ones too: they were there), or anyone once its replay is published."""
    if await repo.member(session, space.id, reporter_id) is not None:
        return
    recording = (
        await session.execute(select(Recording).where(Recording.space_id == space.id))
    ).scalar_one_or_none()
    published = recording is not None and recording.replay_published_at is not None
    if space.state != SpaceState.LIVE.value and published:
        return
    raise Forbidden("report what was said in a space you were in, or in a published replay")


async def file(services: Services, reporter_id: int, new: NewReport) -> MyReportView:
    settings = services.settings
    services.take(
        "reports", reporter_id, burst=settings.report_burst, rate_per_s=settings.report_rate_per_s
    )
    reason = rules.check_reason(new.reason, settings.report_reasons)
    note = rules.check_text(new.note, "note", rules.NOTE_MAX)
    if reason == "other" and not note:
        raise Invalid("note", "required", "say what is wrong when the reason is 'other'")
    rules.check_report_target(
        new.kind,
        user_id=new.user_id,
        space_id=new.space_id,
        reporter_id=reporter_id,
        message_id=new.message_id,
    )
    if new.at_s is not None and new.kind is not ReportKind.MOMENT:
        raise Invalid("at_s", "moment_only", "only a report of a moment has a time")
    evidence = Evidence()
    space: Space | None = None
    async with services.store.read() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(Report)
            .where(Report.reporter_id == reporter_id, Report.state == ReportState.OPEN.value)
        )
        rules.check_open_reports(int(waiting or 0))
        if new.message_id is not None:
            new, evidence = await _message_evidence(session, new, reporter_id, evidence)
        target = await session.get(User, new.user_id) if new.user_id is not None else None
        if new.user_id is not None and target is None:
            raise NotFound(f"no user {new.user_id}")
        if new.space_id is not None:
            space = await repo.space(session, new.space_id)
            if space is None:
                raise NotFound(f"no space {new.space_id}")
            host = await session.get(User, space.host_id)
            if new.kind is ReportKind.MOMENT:
                await _check_heard(session, space, reporter_id)
            member = await repo.member(session, space.id, target.id) if target is not None else None
            if new.kind is ReportKind.MOMENT and member is None:
                raise NotFound(f"user {new.user_id} was not in space {space.id}")
            evidence = evidence.model_copy(
                update={
                    "space_title": space.title,
                    "space_state": space.state,
                    "host_handle": host.handle if host is not None else None,
                    "member_role": member.role if member is not None else None,
                }
            )
        if target is not None:
            earlier = await session.execute(
                select(func.count()).select_from(Report).where(Report.target_user_id == target.id)
            )
            evidence = evidence.model_copy(update={"earlier_reports": int(earlier.scalar_one())})
    if target is not None:
        evidence = evidence.model_copy(
            update={"history": await moderation.history(services, target.id)}
        )
    cut = None
    if space is not None and new.kind is ReportKind.MOMENT:
        if space.state not in (SpaceState.LIVE.value, SpaceState.ENDED.value):
            raise Invalid("space_id", "state", "a moment is reported in a live space or a replay")
        if space.state == SpaceState.ENDED.value and new.at_s is None:
            raise Invalid("at_s", "required", "a moment of a replay names its time (at_s)")
        cut = await _cut_audio(services, space, new.at_s)
    try:
        moment_s = new.at_s
        if cut is not None:
            _, start_s, duration_s, moment_s = cut
            assert space is not None
            async with services.store.read() as session:
                lines = await captions.clip_lines(session, space, start_s, start_s + duration_s)
            evidence = evidence.model_copy(
                update={
                    "audio_start_s": start_s,
                    "audio_duration_s": duration_s,
                    "captions": [
                        EvidenceLine(
                            speaker=line.user.handle,
                            start_s=round(line.start_s + start_s, 3),
                            end_s=round(line.end_s + start_s, 3),
                            text=line.text,
                        )
                        for line in lines
                    ],
                }
            )
        async with change(services) as unit:
            row = Report(
                reporter_id=reporter_id,
                kind=new.kind.value,
                target_user_id=new.user_id,
                space_id=new.space_id,
                moment_ms=round(moment_s * 1000) if moment_s is not None else None,
                reason=reason,
                note=note,
                state=ReportState.OPEN.value,
                created_at=unit.now,
                evidence=evidence.model_dump(mode="json"),
                evidence_audio=cut[0] if cut is not None else None,
                evidence_audio_start_ms=round(cut[1] * 1000) if cut is not None else None,
            )
            unit.session.add(row)
            await unit.session.flush()
            await moderation.send_notice(
                unit,
                reporter_id,
                "report_received",
                "Thank you: we received your report and the moderators will review it.",
                report_id=row.id,
            )
            view = await _mine(unit.session, row)
        cut = None  # kept: the file is the report's
        return view
    finally:
        if cut is not None:
            _audio_path(services, cut[0]).unlink(missing_ok=True)


async def _message_evidence(
    session: AsyncSession, new: NewReport, reporter_id: int, evidence: Evidence
) -> tuple[NewReport, Evidence]:
    """A reported message names its sender (the reported user); the report keeps its text as it
    was (the report has no column for a message: its evidence holds it). Only its recipient
    reports it: to anyone else it does not exist."""
    message = await session.get(Message, new.message_id)
    if message is None or message.recipient_id != reporter_id:
        raise NotFound(f"no message {new.message_id}")
    evidence = evidence.model_copy(
        update={
            "message_id": message.id,
            "message_text": message.text,
            "message_sent_at": message.created_at,
            "message_space_id": message.space_id,
        }
    )
    return replace(new, user_id=message.sender_id), evidence


async def _mine(session: AsyncSession, row: Report) -> MyReportView:
    target = await session.get(User, row.target_user_id) if row.target_user_id else None
    return MyReportView(
        id=row.id,
        kind=row.kind,
        state=row.state,
        reason=row.reason,
        created_at=row.created_at,
        outcome=row.outcome,
        space_id=row.space_id,
        target=views.user_brief(target) if target is not None else None,
    )


async def mine(services: Services, reporter_id: int) -> list[MyReportView]:
    async with services.store.read() as session:
        rows = (
            await session.execute(
                select(Report)
                .where(Report.reporter_id == reporter_id)
                .order_by(Report.id.desc())
                .limit(REPORTS_PAGE_MAX)
            )
        ).scalars()
        return [await _mine(session, row) for row in rows]


def _view(row: Report, users: dict[int, User]) -> ReportView:
    evidence = Evidence.model_validate(row.evidence)
    if row.evidence_audio is not None:
        evidence = evidence.model_copy(
            update={"audio_url": f"/api/admin/reports/{row.id}/audio.m4a"}
        )
    reporter = users.get(row.reporter_id) if row.reporter_id is not None else None
    target = users.get(row.target_user_id) if row.target_user_id is not None else None
    return ReportView(
        id=row.id,
        kind=row.kind,
        state=row.state,
        reason=row.reason,
        note=row.note,
        created_at=row.created_at,
        closed_at=row.closed_at,
        outcome=row.outcome,
        reporter=views.user_brief(reporter) if reporter is not None else None,
        target=views.user_brief(target) if target is not None else None,
        space_id=row.space_id,
        moment_s=row.moment_ms / 1000 if row.moment_ms is not None else None,
        evidence=evidence,
    )


async def _reviewable(
    session: AsyncSession, actor: User, report_id: int, *, lock: bool = False
) -> tuple[Report, dict[int, User]]:
    """The report, if it is on this moderator's desk (domain/moderation.py may_review): else
    404, as if it did not exist."""
    row = await session.get(Report, report_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no report {report_id}")
    space = await session.get(Space, row.space_id) if row.space_id is not None else None
    ids = [i for i in (row.reporter_id, row.target_user_id) if i is not None]
    if space is not None:
        ids.append(space.host_id)
    users = await repo.users_by_id(session, ids)
    target = users.get(row.target_user_id) if row.target_user_id is not None else None
    host = users.get(space.host_id) if space is not None else None
    if not rules.may_review(
        InstanceRole(actor.role),
        actor.id,
        target_id=row.target_user_id,
        target=InstanceRole(target.role) if target is not None else None,
        host_id=space.host_id if space is not None else None,
        host=InstanceRole(host.role) if host is not None else None,
    ):
        raise NotFound(f"no report {report_id}")
    return row, users


async def _staff(services: Services, actor_id: int) -> User:
    await moderation.staff_role(services, actor_id)
    async with services.store.read() as session:
        actor = await session.get(User, actor_id)
    assert actor is not None
    return actor


async def queue(
    services: Services,
    actor_id: int,
    *,
    state: ReportState = ReportState.OPEN,
    kind: ReportKind | None = None,
    reason: str | None = None,
    user_id: int | None = None,
    space_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[ReportView]:
    """Reports for the desk, oldest first (the longest waiting is decided first): those this
    moderator may review (none about themselves, a space they host, or someone of their rank or
    above)."""
    actor = await _staff(services, actor_id)
    target, host = aliased(User), aliased(User)
    below = [r.value for r in InstanceRole if rules.rank(r) < rules.rank(InstanceRole(actor.role))]
    query = (
        select(Report)
        .outerjoin(target, target.id == Report.target_user_id)
        .outerjoin(Space, Space.id == Report.space_id)
        .outerjoin(host, host.id == Space.host_id)
        .where(
            Report.state == state.value,
            or_(Report.target_user_id.is_(None), Report.target_user_id != actor.id),
            or_(Space.host_id.is_(None), Space.host_id != actor.id),
            or_(target.id.is_(None), target.role.in_(below)),
            or_(host.id.is_(None), host.role.in_(below)),
        )
        .order_by(Report.created_at, Report.id)
        .limit(max(1, min(limit, REPORTS_PAGE_MAX)))
    )
    if kind is not None:
        query = query.where(Report.kind == kind.value)
    if reason is not None:
        query = query.where(Report.reason == reason)
    if user_id is not None:
        query = query.where(Report.target_user_id == user_id)
    if space_id is not None:
        query = query.where(Report.space_id == space_id)
    if after_id is not None:
        query = query.where(Report.id > after_id)
    async with services.store.read() as session:
        rows = list((await session.execute(query)).scalars())
        ids = {i for row in rows for i in (row.reporter_id, row.target_user_id) if i is not None}
        users = await repo.users_by_id(session, list(ids))
    return [_view(row, users) for row in rows]


async def report(services: Services, actor_id: int, report_id: int) -> ReportView:
    actor = await _staff(services, actor_id)
    async with services.store.read() as session:
        row, users = await _reviewable(session, actor, report_id)
    return _view(row, users)


async def audio(services: Services, actor_id: int, report_id: int) -> Path:
    actor = await _staff(services, actor_id)
    async with services.store.read() as session:
        row, _ = await _reviewable(session, actor, report_id)
    if row.evidence_audio is None:
        raise NotFound(f"report {report_id} has no recording kept")
    return _audio_path(services, row.evidence_audio)


_OUTCOME_TEXT = {
    ReportState.DISMISSED: "The moderators reviewed your report and found no violation.",
    ReportState.ACTIONED: "The moderators reviewed your report and took action. Thank you.",
}


@dataclass(frozen=True)
class DecisionBody:
    decision: Decision
    reason: str = ""
    # warn: the message to the user; suspend/restrict: days (None: for good).
    message: str = ""
    days: float | None = None
    pin_id: int | None = None
    clip_id: str | None = None


async def decide(
    services: Services, actor_id: int, report_id: int, body: DecisionBody
) -> ReportView:
    """Acts on a report (each action audited on its own), closes it, and tells its reporter
    the outcome; the recording kept with it is deleted. The report is claimed first (state
    deciding), so that two moderators never both act on it; an action that fails gives it
    back."""
    actor = await _staff(services, actor_id)
    role = InstanceRole(actor.role)
    rules.check_may(role, rules.DECISION_ACTIONS[body.decision])
    async with change(services) as unit:
        row, _ = await _reviewable(unit.session, actor, report_id, lock=True)
        rules.close_report(ReportState(row.state), body.decision)  # open, or 409
        row.state = ReportState.DECIDING.value
        row.closed_by = actor_id
        target_id, space_id = row.target_user_id, row.space_id
    try:
        await _carry_out(services, actor_id, report_id, body, target_id, space_id)
    except BaseException:
        async with change(services) as unit:
            claimed = await unit.session.get(Report, report_id, with_for_update=True)
            if claimed is not None and claimed.state == ReportState.DECIDING.value:
                claimed.state = ReportState.OPEN.value
                claimed.closed_by = None
        raise
    audio_name: str | None = None
    async with change(services) as unit:
        locked = await unit.session.get(Report, report_id, with_for_update=True)
        assert locked is not None
        state = rules.decided(body.decision)
        locked.state = state.value
        locked.closed_at = unit.now
        locked.outcome = body.decision.value
        audio_name, locked.evidence_audio = locked.evidence_audio, None
        if body.decision is Decision.DISMISS:
            audit.write(
                unit,
                actor=actor,
                actor_role=role.value,
                action=AdminAction.DISMISS.value,
                report_id=report_id,
                reason=body.reason,
            )
        if locked.reporter_id is not None:
            await moderation.send_notice(
                unit, locked.reporter_id, "report_outcome", _OUTCOME_TEXT[state], report_id
            )
    if audio_name is not None:
        await asyncio.to_thread(_audio_path(services, audio_name).unlink, missing_ok=True)
    return await report(services, actor_id, report_id)


async def _carry_out(
    services: Services,
    actor_id: int,
    report_id: int,
    body: DecisionBody,
    target_id: int | None,
    space_id: int | None,
) -> None:
    match body.decision:
        case Decision.DISMISS:
            pass
        case Decision.WARN:
            await moderation.warn(
                services, actor_id, _needs(target_id, "user_id"), body.message, report_id
            )
        case Decision.RESTRICT_HOSTING:
            await moderation.restrict_hosting(
                services,
                actor_id,
                _needs(target_id, "user_id"),
                days=body.days,
                reason=body.reason,
                report_id=report_id,
            )
        case Decision.SUSPEND:
            await moderation.suspend(
                services,
                actor_id,
                _needs(target_id, "user_id"),
                days=body.days,
                reason=body.reason,
                report_id=report_id,
            )
        case Decision.END_SPACE:
            await moderation.end_space(
                services,
                actor_id,
                _needs(space_id, "space_id"),
                reason=body.reason,
                report_id=report_id,
            )
        case Decision.REMOVE_PIN:
            await moderation.remove_pin(
                services,
                actor_id,
                _needs(body.pin_id, "pin_id"),
                reason=body.reason,
                report_id=report_id,
            )
        case Decision.REMOVE_CLIP:
            await moderation.remove_clip(
                services,
                actor_id,
                _needs(body.clip_id, "clip_id"),
                reason=body.reason,
                report_id=report_id,
            )


def _needs(value: T | None, field: str) -> T:
    if value is None:
        raise Invalid(field, "required", f"this decision needs {field}")
    return value
