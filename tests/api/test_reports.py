"""Reports through the API: what anyone signed in may report, the evidence a report carries
(the recording around the moment, kept past retention until decided; the caption lines; the
reported user's history), the desk's decisions, and what the reporter and the reported hear."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import av
import httpx
import pytest

from parley.actions import captions, recordings
from parley.domain.views import CaptionLineView
from support import Client, Running, grant

pytestmark = pytest.mark.integration


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if code is not None:
        assert body["error"] == code, body
    return body


async def _recorded(client: Client, space_id: int, seconds: float) -> None:
    """Waits until the live space's recording holds `seconds` of audio (its segments)."""
    for _ in range(200):
        listen = await client.ok("GET", f"/api/spaces/{space_id}/listen")
        async with httpx.AsyncClient(base_url=client.running.base_url) as raw:
            text = (await raw.get(listen["hls_url"])).text
        total = sum(
            float(line.split(":")[1].rstrip(","))
            for line in text.splitlines()
            if line.startswith("#EXTINF:")
        )
        if total >= seconds:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {seconds} s recorded")


async def _live(server: Running) -> tuple[int, dict[str, Client]]:
    people = {
        role: await server.signup(role) for role in ("host", "speaker", "listener", "bystander")
    }
    people["moderator"] = await grant(server, await server.signup("moder"), "moderator")
    sid = (await people["host"].create_space("Heated", captions=True))["id"]
    for role in ("speaker", "listener"):
        await people[role].join(sid)
    await people["speaker"].ok("POST", f"/api/spaces/{sid}/me/request")
    await people["host"].ok("POST", f"/api/spaces/{sid}/members/{people['speaker'].id}/approve")
    return sid, people


async def test_the_reasons_are_the_instances(server: Running) -> None:
    user = await server.signup("user")
    reasons = (await user.ok("GET", "/api/reports/reasons"))["reasons"]
    assert reasons == server.app.state.services.settings.report_reasons
    assert "harassment" in reasons and "other" in reasons


async def test_a_moment_reported_live_carries_its_recording_and_captions(server: Running) -> None:
    sid, people = await _live(server)
    services = server.app.state.services
    speaker, listener, moderator = people["speaker"], people["listener"], people["moderator"]
    await _recorded(people["host"], sid, 3.0)
    # What the speaker just said, as the caption pipeline keeps it.
    line = CaptionLineView(
        id=1, user_id=speaker.id, start_s=0.5, end_s=2.0, text="something vile", final=True
    )
    assert await server.on_server(captions.keep_line(services, sid, line)) is not None
    filed = await listener.ok(
        "POST",
        "/api/reports",
        {"kind": "moment", "space_id": sid, "user_id": speaker.id, "reason": "hate"},
        status=201,
    )
    assert filed["state"] == "open" and filed["target"]["handle"] == "speaker"
    # The reporter is told it arrived.
    notices = (await listener.ok("GET", "/api/me/notices"))["notices"]
    assert [n["kind"] for n in notices] == ["report_received"]
    # The desk sees it with its evidence.
    queue = (await moderator.ok("GET", "/api/admin/reports"))["reports"]
    assert [r["id"] for r in queue] == [filed["id"]]
    report = queue[0]
    evidence = report["evidence"]
    assert report["reporter"]["handle"] == "listener" and report["moment_s"] >= 3.0
    assert evidence["space_title"] == "Heated" and evidence["member_role"] == "speaker"
    assert evidence["captions"] == [
        {"speaker": "speaker", "start_s": 0.5, "end_s": 2.0, "text": "something vile"}
    ]
    assert evidence["audio_start_s"] == 0.0 and evidence["audio_duration_s"] >= 3.0
    # The recording is playable: an AAC file of the kept length, for the desk only.
    audio = await moderator.get(evidence["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mp4"
    with av.open(io.BytesIO(audio.content)) as container:
        seconds = sum(frame.samples for frame in container.decode(audio=0)) / 48000
    assert abs(seconds - evidence["audio_duration_s"]) < 0.2
    for other in (listener, speaker, people["host"]):
        _error(await other.get(evidence["audio_url"]), 403, "forbidden")
        _error(await other.get("/api/admin/reports"), 403, "forbidden")


async def test_a_replay_moment_and_the_recording_kept_past_retention(server: Running) -> None:
    sid, people = await _live(server)
    services = server.app.state.services
    await _recorded(people["host"], sid, 2.0)
    await people["host"].ok("POST", f"/api/spaces/{sid}/end")
    # A replay's moment names its time; one past the end is the end.
    refused = await people["listener"].post(
        "/api/reports",
        {"kind": "moment", "space_id": sid, "user_id": people["speaker"].id, "reason": "spam"},
    )
    assert _error(refused, 422, "validation_failed")["field"] == "at_s"
    for _ in range(100):
        found = await people["host"].get(f"/api/spaces/{sid}/recording")
        if found.status_code == 200 and found.json()["recording"]["state"] == "complete":
            break
        await asyncio.sleep(0.1)
    filed = await people["listener"].ok(
        "POST",
        "/api/reports",
        {
            "kind": "moment",
            "space_id": sid,
            "user_id": people["speaker"].id,
            "reason": "spam",
            "at_s": 1.0,
        },
        status=201,
    )
    report = (await people["moderator"].ok("GET", f"/api/admin/reports/{filed['id']}"))["report"]
    assert report["moment_s"] == 1.0 and report["evidence"]["audio_start_s"] == 0.0
    # Retention purges the space's recording; the report keeps its own.
    server.clock.advance(days=31)
    purged = await server.on_server(recordings.purge_expired(services))
    assert sid in purged
    assert (await people["host"].get(f"/api/spaces/{sid}/recording")).status_code == 404
    kept = await people["moderator"].get(report["evidence"]["audio_url"])
    assert kept.status_code == 200 and len(kept.content) > 1000
    # Decided, the report lets its recording go.
    await people["moderator"].ok(
        "POST", f"/api/admin/reports/{filed['id']}/decision", {"decision": "dismiss"}
    )
    _error(await people["moderator"].get(report["evidence"]["audio_url"]), 404, "not_found")


async def test_a_decision_tells_the_reporter_not_the_reported_who_reported(server: Running) -> None:
    reporter = await server.signup("reporter")
    reported = await server.signup("reported")
    moderator = await grant(server, await server.signup("moder"), "moderator")
    filed = await reporter.ok(
        "POST",
        "/api/reports",
        {"kind": "user", "user_id": reported.id, "reason": "impersonation", "note": "fake"},
        status=201,
    )
    decided = await moderator.ok(
        "POST",
        f"/api/admin/reports/{filed['id']}/decision",
        {"decision": "warn", "message": "Do not pretend to be someone else."},
    )
    assert decided["report"]["state"] == "actioned" and decided["report"]["outcome"] == "warn"
    # Decided once only.
    again = await moderator.post(
        f"/api/admin/reports/{filed['id']}/decision", {"decision": "dismiss"}
    )
    _error(again, 409, "invalid_state")
    mine = (await reporter.ok("GET", "/api/reports/mine"))["reports"]
    assert [(r["id"], r["state"], r["outcome"]) for r in mine] == [
        (filed["id"], "actioned", "warn")
    ]
    told = (await reporter.ok("GET", "/api/me/notices"))["notices"]
    assert told[0]["kind"] == "report_outcome" and "took action" in told[0]["text"]
    warned = await reported.ok("GET", "/api/me/notices")
    assert warned["unread"] == 1
    text = warned["notices"][0]["text"]
    assert "pretend" in text and "reporter" not in text
    # Nothing the reported user can read names the reporter.
    assert (await reported.get("/api/reports/mine")).json()["reports"] == []
    _error(await reported.get(f"/api/admin/reports/{filed['id']}"), 403, "forbidden")
    await reported.ok("POST", "/api/me/notices/read", {}, status=204)
    assert (await reported.ok("GET", "/api/me/notices"))["unread"] == 0
    # The history of the reported user now shows the warning, and the next report says so.
    second = await reporter.ok(
        "POST",
        "/api/reports",
        {"kind": "user", "user_id": reported.id, "reason": "spam"},
        status=201,
    )
    evidence = (await moderator.ok("GET", f"/api/admin/reports/{second['id']}"))["report"][
        "evidence"
    ]
    assert evidence["earlier_reports"] == 1
    assert [h["kind"] for h in evidence["history"]] == ["warning"]


async def test_the_queue_is_oldest_first_and_filters(server: Running) -> None:
    people = [await server.signup(f"user{n}") for n in range(3)]
    moderator = await grant(server, await server.signup("moder"), "moderator")
    host = people[2]
    sid = (await host.create_space("Filtered"))["id"]
    ids = []
    for body in (
        {"kind": "user", "user_id": people[1].id, "reason": "spam"},
        {"kind": "space", "space_id": sid, "reason": "hate"},
        {"kind": "user", "user_id": people[2].id, "reason": "spam"},
    ):
        ids.append((await people[0].ok("POST", "/api/reports", body, status=201))["id"])
        server.clock.advance(seconds=1)

    def listed(out: dict[str, Any]) -> list[int]:
        return [r["id"] for r in out["reports"]]

    assert listed(await moderator.ok("GET", "/api/admin/reports")) == ids
    assert listed(await moderator.ok("GET", "/api/admin/reports?reason=spam")) == [ids[0], ids[2]]
    assert listed(await moderator.ok("GET", "/api/admin/reports?kind=space")) == [ids[1]]
    assert listed(await moderator.ok("GET", f"/api/admin/reports?space_id={sid}")) == [ids[1]]
    assert listed(await moderator.ok("GET", f"/api/admin/reports?user_id={people[1].id}")) == [
        ids[0]
    ]
    assert listed(await moderator.ok("GET", "/api/admin/reports?state=dismissed")) == []
    for bad in ("state=closed", "kind=thing", "limit=0", "limit=101", "after_id=-1"):
        _error(await moderator.get(f"/api/admin/reports?{bad}"), 422, "validation_failed")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"kind": "user", "reason": "spam"}, 422, "user_id"),
        ({"kind": "space", "reason": "spam"}, 422, "space_id"),
        ({"kind": "user", "user_id": "SELF", "reason": "spam"}, 422, "user_id"),
        ({"kind": "user", "user_id": "OTHER", "reason": "Spam"}, 422, "reason"),
        ({"kind": "user", "user_id": "OTHER", "reason": "other"}, 422, "note"),
        ({"kind": "user", "user_id": "OTHER", "reason": "spam", "at_s": 3}, 422, "at_s"),
        ({"kind": "user", "user_id": "OTHER", "reason": "spam", "note": "x" * 1001}, 422, "note"),
        ({"kind": "user", "user_id": "OTHER", "reason": "spam", "note": "\u202eevil"}, 422, "note"),
        ({"kind": "user", "user_id": "OTHER", "reason": "spam", "note": "a\u0000b"}, 422, "note"),
        ({"kind": "user", "user_id": 999999, "reason": "spam"}, 404, None),
        ({"kind": "space", "space_id": 999999, "reason": "spam"}, 404, None),
        ({"kind": "thing", "user_id": "OTHER", "reason": "spam"}, 422, "kind"),
    ],
)
async def test_bad_reports_are_refused_and_nothing_is_written(
    server: Running, body: dict[str, Any], status: int, field: str | None
) -> None:
    reporter = await server.signup("reporter")
    other = await server.signup("other")
    body = {
        key: (reporter.id if value == "SELF" else other.id if value == "OTHER" else value)
        for key, value in body.items()
    }
    refused = _error(await reporter.post("/api/reports", body), status)
    if field is not None:
        assert refused["field"] == field, refused
    assert (await reporter.ok("GET", "/api/reports/mine"))["reports"] == []
    assert (await reporter.ok("GET", "/api/me/notices"))["notices"] == []


async def test_reports_are_rate_limited_and_need_an_account(server: Running) -> None:
    reporter = await server.signup("reporter")
    other = await server.signup("other")
    body = {"kind": "user", "user_id": other.id, "reason": "spam"}
    statuses = [(await reporter.post("/api/reports", body)).status_code for _ in range(11)]
    assert statuses == [201] * 10 + [429]
    async with server.browser() as visitor:
        _error(await visitor.post("/api/reports", json=body), 401)


async def test_staff_never_review_reports_about_themselves_or_their_betters(
    server: Running,
) -> None:
    reporter = await server.signup("reporter")
    moderator = await grant(server, await server.signup("moder"), "moderator")
    admin = await grant(server, await server.signup("admin"), "admin")
    about_moderator = await reporter.ok(
        "POST", "/api/reports", {"kind": "user", "user_id": moderator.id, "reason": "spam"}, 201
    )
    space = (await moderator.create_space("Mod's own"))["id"]
    about_their_space = await reporter.ok(
        "POST", "/api/reports", {"kind": "space", "space_id": space, "reason": "spam"}, 201
    )
    # The moderator sees neither (nor who filed them), and cannot open or close them.
    assert (await moderator.ok("GET", "/api/admin/reports"))["reports"] == []
    for filed in (about_moderator, about_their_space):
        _error(await moderator.get(f"/api/admin/reports/{filed['id']}"), 404, "not_found")
        dismissed = await moderator.post(
            f"/api/admin/reports/{filed['id']}/decision", {"decision": "dismiss"}
        )
        _error(dismissed, 404, "not_found")
    # An admin does.
    listed = [r["id"] for r in (await admin.ok("GET", "/api/admin/reports"))["reports"]]
    assert listed == [about_moderator["id"], about_their_space["id"]]


async def test_two_decisions_at_once_act_once(server: Running) -> None:
    reporter = await server.signup("reporter")
    reported = await server.signup("reported")
    first = await grant(server, await server.signup("moder1"), "moderator")
    second = await grant(server, await server.signup("moder2"), "moderator")
    filed = await reporter.ok(
        "POST", "/api/reports", {"kind": "user", "user_id": reported.id, "reason": "spam"}, 201
    )
    path = f"/api/admin/reports/{filed['id']}/decision"
    answers = await asyncio.gather(
        first.post(path, {"decision": "warn", "message": "one"}),
        second.post(path, {"decision": "dismiss"}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200).json()["report"]
    history = (await first.ok("GET", f"/api/admin/users/{reported.id}"))["sanctions"]
    # The report's outcome is the action that was taken, and only it.
    assert [h["kind"] for h in history] == (["warning"] if winner["outcome"] == "warn" else [])
    told = [
        n
        for n in (await reporter.ok("GET", "/api/me/notices"))["notices"]
        if n["kind"] == "report_outcome"
    ]
    assert len(told) == 1


async def test_a_failed_action_leaves_the_report_open(server: Running) -> None:
    reporter = await server.signup("reporter")
    reported = await server.signup("reported")
    moderator = await grant(server, await server.signup("moder"), "moderator")
    filed = await reporter.ok(
        "POST", "/api/reports", {"kind": "user", "user_id": reported.id, "reason": "spam"}, 201
    )
    # No pin named: refused, and the report is still there to decide.
    refused = await moderator.post(
        f"/api/admin/reports/{filed['id']}/decision", {"decision": "remove_pin"}
    )
    assert _error(refused, 422, "validation_failed")["field"] == "pin_id"
    still = (await moderator.ok("GET", f"/api/admin/reports/{filed['id']}"))["report"]
    assert still["state"] == "open"
    await moderator.ok(
        "POST", f"/api/admin/reports/{filed['id']}/decision", {"decision": "dismiss"}
    )


async def test_a_moment_is_reported_by_those_who_could_hear_it(server: Running) -> None:
    sid, people = await _live(server)
    body = {"kind": "moment", "space_id": sid, "user_id": people["speaker"].id, "reason": "spam"}
    # Someone who never joined learns nothing about who was there.
    outsider = people["bystander"]
    refused = await outsider.post("/api/reports", body)
    assert "space you were in" in _error(refused, 403, "forbidden")["message"]
    stranger = {**body, "user_id": outsider.id}
    _error(await outsider.post("/api/reports", stranger), 422)  # oneself
    _error(await people["listener"].post("/api/reports", stranger), 404, "not_found")


async def test_a_reporter_has_at_most_so_many_reports_waiting(server: Running) -> None:
    reporter = await server.signup("reporter")
    others = [await server.signup(f"other{n}") for n in range(3)]
    services = server.app.state.services
    for n in range(20):
        # Past the per-minute rate: the clock moves a minute between reports.
        server.clock.advance(minutes=1)
        services.buckets.clear()
        body = {"kind": "user", "user_id": others[n % 3].id, "reason": "spam"}
        await reporter.ok("POST", "/api/reports", body, 201)
    services.buckets.clear()
    refused = await reporter.post(
        "/api/reports", {"kind": "user", "user_id": others[0].id, "reason": "spam"}
    )
    assert "20 reports waiting" in _error(refused, 429, "rate_limited")["message"]
