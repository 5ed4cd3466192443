"""The admin desk through the API: instance roles x actions, sanctions, the suspension closing
every way in, the audit log, invite codes and accounts awaiting approval."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from parley.actions import signups
from parley.store.models import User
from support import PASSWORD, Client, Running, grant
from webrtc_client import WebRtcClient

pytestmark = pytest.mark.integration


async def desk(server: Running) -> dict[str, Client]:
    people = {
        "admin": await grant(server, await server.signup("admin"), "admin"),
        "moderator": await grant(server, await server.signup("moder"), "moderator"),
        "member": await server.signup("member"),
        "target": await server.signup("target"),
    }
    return people


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if code is not None:
        assert body["error"] == code, body
    return body


# (method, path, body, whether a moderator may): every desk action on the account `target`.
def _actions(target: Client) -> list[tuple[str, str, dict[str, Any] | None, bool]]:
    t = target.id
    return [
        ("GET", "/api/admin/reports", None, True),
        ("GET", "/api/admin/users", None, True),
        ("GET", f"/api/admin/users/{t}", None, True),
        ("POST", f"/api/admin/users/{t}/warn", {"message": "be kind"}, True),
        ("POST", f"/api/admin/users/{t}/restrict-hosting", {"days": 2, "reason": "r"}, True),
        ("POST", f"/api/admin/users/{t}/lift", {"kind": "hosting_restricted"}, True),
        ("POST", f"/api/admin/users/{t}/suspend", {"days": 1, "reason": "r"}, True),
        ("POST", f"/api/admin/users/{t}/lift", {"kind": "suspended"}, True),
        ("GET", "/api/admin/audit", None, False),
        ("GET", "/api/admin/audit.csv", None, False),
        ("POST", "/api/admin/invites", {"count": 1}, False),
        ("GET", "/api/admin/invites", None, False),
        ("PUT", f"/api/admin/users/{target.handle}/role", {"role": "member"}, False),
    ]


async def test_each_desk_action_by_role(server: Running) -> None:
    people = await desk(server)
    roles = {name: (await c.ok("GET", "/api/me"))["role"] for name, c in people.items()}
    assert roles == {
        "admin": "admin",
        "moderator": "moderator",
        "member": "member",
        "target": "member",
    }
    target = people["target"]
    for method, path, body, moderator_may in _actions(target):
        member = await people["member"].request(method, path, json=body)
        _error(member, 403, "forbidden")
        moderator = await people["moderator"].request(method, path, json=body)
        if moderator_may:
            assert moderator.status_code in (200, 201, 204), (path, moderator.text)
        else:
            _error(moderator, 403, "forbidden")
        admin = await people["admin"].request(method, path, json=body)
        assert admin.status_code in (200, 201, 204), (path, admin.text)
    async with server.browser() as visitor:
        for method, path, body, _ in _actions(target):
            response = await visitor.request(method, path, json=body)
            _error(response, 401)


async def test_nobody_sanctions_their_rank_or_above_nor_changes_their_own_role(
    server: Running,
) -> None:
    people = await desk(server)
    admin, moderator = people["admin"], people["moderator"]
    other_moderator = await grant(server, await server.signup("moder2"), "moderator")
    for path in (
        f"/api/admin/users/{other_moderator.id}/suspend",
        f"/api/admin/users/{admin.id}/suspend",
    ):
        refused = await moderator.post(path, {"days": 1})
        assert "cannot act on the account" in _error(refused, 403, "forbidden")["message"]
    # For good, or past 30 days, is an admin's call.
    for body in ({}, {"days": 31}):
        response = await moderator.post(f"/api/admin/users/{people['target'].id}/suspend", body)
        _error(response, 403, "forbidden")
    own = await admin.request(
        "PUT", f"/api/admin/users/{admin.handle}/role", json={"role": "member"}
    )
    _error(own, 403, "forbidden")
    made = await admin.ok(
        "PUT", f"/api/admin/users/{people['member'].handle}/role", {"role": "moderator"}
    )
    assert made["account"]["role"] == "moderator"


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"days": 0}, "days", "minimum"),
        ({"days": -3}, "days", "minimum"),
        ({"days": 4000}, "days", "maximum"),
        ({"days": "soon"}, "days", "type"),
        ({"days": 1, "reason": "x" * 4001}, "reason", "max_length"),
        ({"days": 1, "extra": 1}, "extra", "unknown_field"),
    ],
)
async def test_bad_sanctions_are_refused_naming_the_field(
    server: Running, body: dict[str, Any], field: str, rule: str
) -> None:
    people = await desk(server)
    response = await people["admin"].post(f"/api/admin/users/{people['target'].id}/suspend", body)
    refused = _error(response, 422, "validation_failed")
    assert (refused["field"], refused["rule"]) == (field, rule), refused
    account = await people["admin"].ok("GET", f"/api/admin/users/{people['target'].id}")
    assert account["account"]["suspended_until"] is None and account["sanctions"] == []


async def test_a_suspension_closes_every_way_in(server: Running) -> None:
    people = await desk(server)
    target, admin = people["target"], people["admin"]
    # The target hosts a live space, listens in another over WebRTC with a socket open, and has
    # a browser session.
    own = (await target.create_space("Mine"))["id"]
    other_host = await server.signup("otherhost")
    other = (await other_host.create_space("Theirs"))["id"]
    await target.join(other)
    room = await target.socket(other)
    await room.until_type("snapshot")
    listening = WebRtcClient(server.base_url, target.token, other, "whep")
    assert (await listening.connect()).status_code == 201
    await asyncio.wait_for(listening.received.wait(), 10)
    # And speaks in their own space over WHIP.
    publishing = WebRtcClient(server.base_url, target.token, own, "whip")
    assert (await publishing.connect()).status_code == 201
    link = (await target.ok("GET", f"/api/spaces/{other}/listen"))["hls_url"]
    async with server.browser() as browser:
        signed_in = await browser.post(
            "/api/auth/signin", json={"handle": target.handle, "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        assert (await browser.get("/api/me")).status_code == 200
        media = server.app.state.media

        def sessions_of_target() -> int:
            return sum(1 for s in media.engine.sessions() if s.user_id == target.id)

        for _ in range(100):
            if sessions_of_target() == 2:
                break
            await asyncio.sleep(0.05)
        assert sessions_of_target() == 2  # WHEP and WHIP

        suspended = await admin.ok(
            "POST", f"/api/admin/users/{target.id}/suspend", {"days": 3, "reason": "abuse"}
        )
        assert suspended["account"]["suspended_until"] is not None
        # The socket closes at once, the media session ends, the live space they host ends.
        assert await room.closed_with() == 4401
        for _ in range(100):
            if sessions_of_target() == 0:
                break
            await asyncio.sleep(0.05)
        assert sessions_of_target() == 0
        assert (await other_host.ok("GET", f"/api/spaces/{own}"))["space"]["state"] == "ended"
        # HTTP: the token and the browser session are refused; signing in again too.
        assert _error(await target.get("/api/me"), 403, "suspended")["message"].startswith(
            "this account is suspended until"
        )
        assert (await browser.get("/api/me")).status_code == 401  # its session is gone
        again = await browser.post(
            "/api/auth/signin", json={"handle": target.handle, "password": PASSWORD}
        )
        _error(again, 403, "suspended")
        # A new socket, a new offer and a new HLS link are refused; the link handed out before
        # stops working.
        async with server.browser() as raw:
            assert (await raw.get(link)).status_code in (403, 410)
        late = WebRtcClient(server.base_url, target.token, other, "whep")
        _error(await late.connect(), 403, "suspended")
        await late.close()
        _error(await target.get(f"/api/spaces/{other}/listen"), 403, "suspended")
        socket = await target.socket(other)
        assert await socket.closed_with() in (4401, 4403)
    await listening.close()
    await publishing.close()
    # Lifted, the account signs in again.
    await admin.ok("POST", f"/api/admin/users/{target.id}/lift", {"kind": "suspended"})
    async with server.browser() as browser:
        back = await browser.post(
            "/api/auth/signin", json={"handle": target.handle, "password": PASSWORD}
        )
        assert back.status_code == 200, back.text


async def test_a_suspension_ends_when_its_time_is_up(server: Running) -> None:
    people = await desk(server)
    target = people["target"]
    await people["moderator"].ok(
        "POST", f"/api/admin/users/{target.id}/suspend", {"days": 2, "reason": "cool off"}
    )
    _error(await target.get("/api/me"), 403, "suspended")
    server.clock.advance(days=2, seconds=1)
    assert (await target.get("/api/me")).status_code == 200
    history = await people["moderator"].ok("GET", f"/api/admin/users/{target.id}")
    assert history["account"]["suspended_until"] is None
    assert [(s["kind"], s["in_force"]) for s in history["sanctions"]] == [("suspended", False)]


async def test_signing_out_and_revoking_a_token_close_what_they_opened(server: Running) -> None:
    user = await server.signup("user")
    host = await server.signup("host")
    sid = (await host.create_space("Room"))["id"]
    await user.join(sid)
    # A second token's socket stays open when the first token is revoked.
    second = await user.ok("POST", "/api/me/tokens", {"name": "other"}, status=201)
    kept = Client(server, user.user, second["token"])
    by_first = await user.socket(sid)
    by_second = await kept.socket(sid)
    await by_first.until_type("snapshot")
    await by_second.until_type("snapshot")
    # A WebRTC listening session of each token too.
    media = server.app.state.media
    listening = {}
    for name, token in (("first", user.token), ("second", kept.token)):
        listening[name] = WebRtcClient(server.base_url, token, sid, "whep")
        assert (await listening[name].connect()).status_code == 201
    sessions = {name: client.location.rsplit("/", 1)[-1] for name, client in listening.items()}
    tokens = (await kept.ok("GET", "/api/me/tokens"))["tokens"]
    first_id = next(t["id"] for t in tokens if t["name"] == "tests")
    await kept.ok("DELETE", f"/api/me/tokens/{first_id}", status=204)
    assert await by_first.closed_with() == 4401
    for _ in range(100):
        if media.session(sessions["first"]) is None:
            break
        await asyncio.sleep(0.05)
    assert media.session(sessions["first"]) is None
    assert media.session(sessions["second"]) is not None
    for client in listening.values():
        await client.close()
    # The other token's socket is still open, and still fed.
    newcomer = await server.signup("newcomer")
    await newcomer.join(sid)
    await by_second.until(lambda message: message["type"] in ("member_updated", "presence"))
    # A browser's socket closes when it signs out.
    async with server.browser() as browser:
        assert (
            await browser.post(
                "/api/auth/signin", json={"handle": user.handle, "password": PASSWORD}
            )
        ).status_code == 200
        csrf = browser.cookies["parley_csrf"]
        cookie = browser.cookies["parley_session"]
        import websockets

        socket = await websockets.connect(
            f"{server.ws_url}/api/spaces/{sid}/ws",
            additional_headers={"Cookie": f"parley_session={cookie}"},
        )
        from support import RoomSocket

        room = RoomSocket(socket)
        await room.until_type("snapshot")
        out = await browser.post("/api/auth/signout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        assert await room.closed_with() == 4401
    await by_second.close()


async def test_every_action_leaves_one_audit_line(server: Running) -> None:
    people = await desk(server)
    admin, moderator, target = people["admin"], people["moderator"], people["target"]
    await moderator.ok(
        "POST", f"/api/admin/users/{target.id}/warn", {"message": "=1+1"}, status=204
    )
    await moderator.ok(
        "POST", f"/api/admin/users/{target.id}/restrict-hosting", {"days": 1, "reason": "spam"}
    )
    await admin.ok("POST", f"/api/admin/users/{target.id}/suspend", {"reason": "for good"})
    await admin.ok("POST", f"/api/admin/users/{target.id}/lift", {"kind": "suspended"})
    lines = (await admin.ok("GET", "/api/admin/audit"))["entries"]
    mine = [
        (line["actor_handle"], line["actor_role"], line["action"], line["target_handle"])
        for line in lines
        if line["target_user_id"] == target.id
    ]
    assert mine == [
        ("admin", "admin", "lift_sanction", "target"),
        ("admin", "admin", "suspend_for_good", "target"),
        ("moder", "moderator", "restrict_hosting", "target"),
        ("moder", "moderator", "warn", "target"),
    ]
    # The grants by the operator are there too, and the export has every line, formulas
    # defused.
    assert {(line["actor_role"], line["target_handle"]) for line in lines} >= {
        ("operator", "admin"),
        ("operator", "moder"),
    }
    exported = await admin.get("/api/admin/audit.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(lines)
    assert any(row["reason"] == "'=1+1" for row in rows)
    # The warned user got the message; the restricted one cannot host.
    notices = (await target.ok("GET", "/api/me/notices"))["notices"]
    assert any(n["kind"] == "warning" and "=1+1" in n["text"] for n in notices)


async def test_hosts_read_the_log_of_their_own_spaces_only(server: Running) -> None:
    host = await server.signup("host")
    cohost = await server.signup("cohost")
    listener = await server.signup("listener")
    sid = (await host.create_space("Moderated"))["id"]
    for person in (cohost, listener):
        await person.join(sid)
    await host.ok("POST", f"/api/spaces/{sid}/members/{cohost.id}/invite")
    await cohost.ok("POST", f"/api/spaces/{sid}/me/accept")
    await host.ok("POST", f"/api/spaces/{sid}/members/{cohost.id}/make-cohost")
    await cohost.ok("POST", f"/api/spaces/{sid}/members/{listener.id}/remove")
    # The host blocks someone in the room: they leave it, and the log says so.
    heckler = await server.signup("heckler")
    await heckler.join(sid)
    await host.ok("PUT", f"/api/users/{heckler.handle}/block", status=204)
    for reader in (host, cohost):
        lines = (await reader.ok("GET", f"/api/spaces/{sid}/audit"))["entries"]
        actions = [(line["actor_handle"], line["actor_role"], line["action"]) for line in lines]
        assert actions[:2] == [("host", "host", "block"), ("cohost", "cohost", "remove")]
        assert ("host", "host", "make_cohost") in actions
    _error(await listener.get(f"/api/spaces/{sid}/audit"), 403)
    stranger = await server.signup("stranger")
    _error(await stranger.get(f"/api/spaces/{sid}/audit"), 403)
    _error(await host.get("/api/spaces/999999/audit"), 404)


async def test_a_restricted_host_cannot_open_a_space(server: Running) -> None:
    people = await desk(server)
    target = people["target"]
    later = (server.clock() + timedelta(hours=2)).isoformat()
    scheduled = await target.ok(
        "POST", "/api/spaces", {"title": "Planned", "scheduled_for": later}, status=201
    )
    await people["moderator"].ok(
        "POST", f"/api/admin/users/{target.id}/restrict-hosting", {"days": 1, "reason": "spam"}
    )
    refused = await target.post("/api/spaces", {"title": "Again"})
    assert "may not host" in _error(refused, 403, "forbidden")["message"]
    # Nor start one scheduled before.
    start = await target.post(f"/api/spaces/{scheduled['space']['id']}/start")
    assert "may not host" in _error(start, 403, "forbidden")["message"]
    server.clock.advance(days=1, seconds=1)
    assert (await target.post("/api/spaces", {"title": "Later"})).status_code == 201


async def _signup(server: Running, handle: str, **extra: Any) -> httpx.Response:
    async with server.browser() as browser:
        return await browser.post(
            "/api/auth/signup",
            json={"handle": handle, "display_name": handle, "password": PASSWORD, **extra},
        )


@pytest.mark.parley_settings(signup_mode="invite")
async def test_an_invite_only_instance_takes_codes(server: Running) -> None:
    services = server.app.state.services
    # The operator's first code (`parley admin invite`) brings the first account in.
    (first,) = await server.on_server(
        signups.create_invites(services, None, count=1, max_uses=1, days=1)
    )
    _error(await _signup(server, "nocode"), 422, "validation_failed")
    made = await _signup(server, "founder", invite_code=first.code)
    assert made.status_code == 201, made.text
    # Used up.
    again = await _signup(server, "second", invite_code=first.code)
    refused = _error(again, 422, "validation_failed")
    assert (refused["field"], refused["rule"]) == ("invite_code", "valid")
    _error(await _signup(server, "third", invite_code="made-up"), 422, "validation_failed")
    # An admin makes codes for two; they expire.
    admin = await _admin_by_password(server, "founder")
    codes = await admin.ok(
        "POST", "/api/admin/invites", {"count": 1, "max_uses": 2, "days": 1}, 201
    )
    assert codes["signup_mode"] == "invite"
    code = codes["invites"][0]["code"]
    assert (await _signup(server, "guest1", invite_code=code)).status_code == 201
    server.clock.advance(days=1, seconds=1)
    expired = _error(await _signup(server, "guest2", invite_code=code), 422, "validation_failed")
    assert expired["rule"] == "valid"
    listed = (await admin.ok("GET", "/api/admin/invites"))["invites"]
    assert [(i["code"], i["uses"]) for i in listed if i["code"] == code] == [(code, 1)]


async def _admin_by_password(server: Running, handle: str) -> Client:
    """An account made without the test helper (which needs an open instance), made admin."""
    async with server.browser() as browser:
        assert (
            await browser.post("/api/auth/signin", json={"handle": handle, "password": PASSWORD})
        ).status_code == 200
        token = await browser.post(
            "/api/me/tokens",
            json={"name": "tests"},
            headers={"X-CSRF-Token": browser.cookies["parley_csrf"]},
        )
        me = (await browser.get("/api/me")).json()["user"]
    client = Client(server, me, token.json()["token"])
    return await grant(server, client, "admin")


@pytest.mark.parley_settings(signup_mode="approval")
async def test_an_instance_that_approves_accounts(server: Running) -> None:
    services = server.app.state.services
    made = await _signup(server, "newcomer")
    assert made.status_code == 201 and made.json()["pending_approval"] is True
    assert "parley_session" not in made.cookies
    async with server.browser() as browser:
        waiting = await browser.post(
            "/api/auth/signin", json={"handle": "newcomer", "password": PASSWORD}
        )
        _error(waiting, 403, "pending_approval")
    # The first admin: made by the operator from an account they approve themselves.
    boss = await _signup(server, "boss")
    assert boss.json()["pending_approval"] is True

    async def approve_boss() -> None:
        async with services.store.write() as session:
            await session.execute(update(User).where(User.handle == "boss").values(state="active"))

    await server.on_server(approve_boss())
    admin = await _admin_by_password(server, "boss")
    pending = (await admin.ok("GET", "/api/admin/users?state=pending"))["accounts"]
    assert [a["user"]["handle"] for a in pending] == ["newcomer"]
    newcomer_id = pending[0]["user"]["id"]
    approved = await admin.ok("POST", f"/api/admin/users/{newcomer_id}/approve")
    assert approved["account"]["state"] == "active"
    async with server.browser() as browser:
        back = await browser.post(
            "/api/auth/signin", json={"handle": "newcomer", "password": PASSWORD}
        )
        assert back.status_code == 200, back.text
    _error(await admin.post(f"/api/admin/users/{newcomer_id}/approve"), 409, "invalid_state")
    spam = await _signup(server, "spammer")
    spam_id = spam.json()["user"]["id"]
    await admin.ok("POST", f"/api/admin/users/{spam_id}/reject", status=204)
    async with server.browser() as browser:
        gone = await browser.post(
            "/api/auth/signin", json={"handle": "spammer", "password": PASSWORD}
        )
        _error(gone, 401)
    actions = [e["action"] for e in (await admin.ok("GET", "/api/admin/audit"))["entries"]]
    assert actions[:2] == ["reject_account", "approve_account"]


async def test_sanctions_only_grow_and_a_moderator_lifts_only_their_own_size(
    server: Running,
) -> None:
    people = await desk(server)
    admin, moderator, target = people["admin"], people["moderator"], people["target"]
    await admin.ok("POST", f"/api/admin/users/{target.id}/suspend", {"reason": "for good"})
    # A moderator's short suspension does not shorten the admin's.
    shorter = await moderator.ok(
        "POST", f"/api/admin/users/{target.id}/suspend", {"days": 1, "reason": "short"}
    )
    assert shorter["account"]["suspended_until"].startswith("9999")
    lifted = await moderator.post(f"/api/admin/users/{target.id}/lift", {"kind": "suspended"})
    assert "only an admin may lift" in _error(lifted, 403, "forbidden")["message"]
    _error(await target.get("/api/me"), 403, "suspended")
    await admin.ok("POST", f"/api/admin/users/{target.id}/lift", {"kind": "suspended"})
    assert (await target.get("/api/me")).status_code == 200
    # An admin does not demote another admin.
    other_admin = await grant(server, await server.signup("admin2"), "admin")
    demote = await admin.request(
        "PUT", f"/api/admin/users/{other_admin.handle}/role", json={"role": "member"}
    )
    _error(demote, 403, "forbidden")
