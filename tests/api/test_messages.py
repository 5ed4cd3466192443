"""Direct messages and invitations by message (issue 13): messages reach the recipient's own
socket and bell, the recipient's dm_policy and blocks hold, only a space's host and co-hosts
invite, each invitee is sent or refused on their own, and accepting an invitation to speak puts
the invitee on stage."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from notify_support import user_socket
from support import Client, Running, grant

pytestmark = pytest.mark.integration


async def _events(
    socket: websockets.ClientConnection, count: int, timeout: float = 10.0
) -> dict[str, dict[str, Any]]:
    """The next `count` events (pings aside), by type."""
    found: dict[str, dict[str, Any]] = {}
    while len(found) < count:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message["type"] != "ping":
            found[message["type"]] = message
    return found


def _refused(response: httpx.Response, status: int, field_or_code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert field_or_code in (body.get("field"), body.get("error")), body


async def _send(sender: Client, to: Client, text: str = "hi", **body: Any) -> httpx.Response:
    return await sender.request("POST", f"/api/messages/{to.handle}", json={"text": text, **body})


async def _live_space_with_roles(server: Running) -> tuple[dict[str, Any], dict[str, Client]]:
    """A live space and one person of each role in it (and a stranger who never joined)."""
    people = {
        name: await server.signup(name)
        for name in ("host", "cohost", "speaker", "listener", "stranger")
    }
    space = await people["host"].create_space("Open mic")
    sid = space["id"]
    for name in ("cohost", "speaker", "listener"):
        await people[name].join(sid)
    await people["host"].ok("POST", f"/api/spaces/{sid}/members/{people['cohost'].id}/make-cohost")
    await people["speaker"].ok("POST", f"/api/spaces/{sid}/me/request")
    await people["host"].ok("POST", f"/api/spaces/{sid}/members/{people['speaker'].id}/approve")
    return space, people


async def test_a_message_reaches_the_recipients_socket_and_bell(server: Running) -> None:
    ann = await server.signup("ann", "Ann Archer")
    bob = await server.signup("bob")
    bob_socket = await user_socket(bob)
    ann_socket = await user_socket(ann)
    try:
        sent = (await ann.ok("POST", "/api/messages/bob", {"text": "  Hello\r\nBob  "}, 201))[
            "message"
        ]
        assert sent["text"] == "Hello\nBob"
        assert (sent["sender"]["handle"], sent["recipient"]["handle"]) == ("ann", "bob")
        assert sent["read"] is False and sent["space"] is None and sent["invitation"] is None
        got = await _events(bob_socket, 2)
        assert got["message"]["message"] == sent
        told = got["notification"]["notification"]
        assert (told["kind"], told["link"], told["actor"]["handle"]) == (
            "message",
            "/messages/ann",
            "ann",
        )
        assert told["text"] == "Ann Archer: Hello\nBob"
        # The sender's other tabs see what they sent; they are not notified of it.
        assert (await _events(ann_socket, 1))["message"]["message"]["id"] == sent["id"]
    finally:
        await bob_socket.close()
        await ann_socket.close()
    bell = await bob.ok("GET", "/api/notifications")
    assert [n["kind"] for n in bell["notifications"]] == ["message"]
    assert (await ann.ok("GET", "/api/notifications"))["notifications"] == []

    inbox = await bob.ok("GET", "/api/messages")
    assert inbox["unread"] == 1
    [conversation] = inbox["conversations"]
    assert conversation["with"]["handle"] == "ann"
    assert conversation["last"]["id"] == sent["id"] and conversation["unread"] == 1
    reply = (await bob.ok("POST", "/api/messages/ann", {"text": "Hi Ann"}, 201))["message"]
    thread = await ann.ok("GET", "/api/messages/bob")
    assert thread["with"]["handle"] == "bob"
    assert [m["id"] for m in thread["messages"]] == [sent["id"], reply["id"]]
    assert (thread["can_send"], thread["cannot_send_reason"]) == (True, None)
    assert (await ann.ok("GET", "/api/messages"))["conversations"][0]["last"]["id"] == reply["id"]

    await bob.ok("POST", "/api/messages/ann/read", status=204)
    inbox = await bob.ok("GET", "/api/messages")
    assert inbox["unread"] == 0 and inbox["conversations"][0]["unread"] == 0
    assert (await bob.ok("GET", "/api/notifications"))["unread"] == 0
    assert (await ann.ok("GET", "/api/messages/bob"))["messages"][0]["read"] is True
    # A third person sees none of it.
    carl = await server.signup("carl")
    assert (await carl.ok("GET", "/api/messages"))["conversations"] == []
    assert (await carl.ok("GET", "/api/messages/ann"))["messages"] == []


@pytest.mark.parley_settings(message_burst=100)
async def test_a_conversation_pages_back_oldest_first(server: Running) -> None:
    ann = await server.signup("ann")
    bob = await server.signup("bob")
    ids = [(await ann.ok("POST", "/api/messages/bob", {"text": f"m{i}"}, 201))["message"]["id"]
           for i in range(55)]  # fmt: skip
    page = await bob.ok("GET", "/api/messages/ann")
    assert [m["id"] for m in page["messages"]] == ids[5:]
    before = page["messages"][0]["id"]
    older = await bob.ok("GET", f"/api/messages/ann?before_id={before}")
    assert [m["id"] for m in older["messages"]] == ids[:5]
    assert (await bob.ok("GET", "/api/messages"))["unread"] == 55


async def test_text_is_checked_and_named(server: Running) -> None:
    ann = await server.signup("ann")
    bob = await server.signup("bob")
    space = await bob.create_space("Card")
    for text, rule in [
        ("", "min_length"),
        ("  \n ", "min_length"),
        ("ring\u0007", "control_character"),
        ("a\u202eb", "invisible_character"),
        ("\ue000", "private_use_character"),
        ("x" * 1001, "max_length"),
        ("x" * 5000, "max_length"),
    ]:
        response = await _send(ann, bob, text)
        _refused(response, 422, "text")
        assert response.json()["rule"] == rule, response.text
    # A lone surrogate (a JSON escape) is no text either.
    response = await ann.request(
        "POST",
        "/api/messages/bob",
        content=json.dumps({"text": "\ud800"}),
        headers={"Content-Type": "application/json"},
    )
    _refused(response, 422, "text")
    # Emoji sequences, other scripts and 1000 characters are text.
    for text in ("👩‍💻 سلام", "x" * 1000, "日本語\nline two"):
        assert (await _send(ann, bob, text)).status_code == 201
    # A space card may come alone.
    card = await ann.ok("POST", "/api/messages/bob", {"space_id": space["id"]}, 201)
    assert card["message"]["space"]["id"] == space["id"] and card["message"]["text"] == ""
    bell = await bob.ok("GET", "/api/notifications")
    assert bell["notifications"][0]["text"] == "Ann sent you a space: “Card”"
    _refused(await _send(ann, bob, "x", space_id=999_999), 404, "not_found")
    _refused(
        await ann.request("POST", "/api/messages/nobody", json={"text": "x"}), 404, "not_found"
    )
    _refused(await ann.request("POST", "/api/messages/ann", json={"text": "me"}), 422, "handle")
    _refused(await _send(ann, bob, "x", extra=1), 422, "extra")


@pytest.mark.parley_settings(message_burst=3, message_interval_s=600)
async def test_senders_are_rate_limited(server: Running) -> None:
    ann = await server.signup("ann")
    bob = await server.signup("bob")
    for _ in range(3):
        assert (await _send(ann, bob)).status_code == 201
    limited = await _send(ann, bob)
    assert limited.status_code == 429, limited.text
    assert "retry-after" in limited.headers
    # Others are not held back by ann.
    assert (await _send(bob, ann)).status_code == 201


async def test_dm_policy_and_blocks(server: Running) -> None:
    ann = await server.signup("ann")
    bob = await server.signup("bob")
    carl = await server.signup("carl")
    await bob.ok("PATCH", "/api/notifications/settings", {"dm_policy": "following"})
    _refused(await _send(ann, bob), 403, "forbidden")
    thread = await ann.ok("GET", "/api/messages/bob")
    assert (thread["can_send"], thread["cannot_send_reason"]) == (False, "not_followed")
    await bob.ok("PUT", "/api/users/ann/follow", status=204)
    assert (await _send(ann, bob)).status_code == 201

    await bob.ok("PATCH", "/api/notifications/settings", {"dm_policy": "nobody"})
    _refused(await _send(carl, bob), 403, "forbidden")
    assert (await carl.ok("GET", "/api/messages/bob"))["cannot_send_reason"] == "dm_closed"
    # Whom bob writes to may answer him, whatever his policy.
    assert (await _send(bob, carl)).status_code == 201
    assert (await _send(carl, bob)).status_code == 201

    # A block, either way, stops everything, also a reply.
    await carl.ok("PUT", "/api/users/bob/block", status=204)
    _refused(await _send(bob, carl), 403, "blocked")
    _refused(await _send(carl, bob), 403, "blocked")
    assert (await bob.ok("GET", "/api/messages/carl"))["cannot_send_reason"] == "blocked"
    assert (await carl.ok("GET", "/api/messages/bob"))["can_send"] is False


@pytest.mark.parametrize(
    ("inviter", "allowed"),
    [
        ("host", True),
        ("cohost", True),
        ("speaker", False),
        ("listener", False),
        ("stranger", False),
    ],
)
async def test_who_may_invite(server: Running, inviter: str, allowed: bool) -> None:
    space, people = await _live_space_with_roles(server)
    guest = await server.signup("guest")
    response = await people[inviter].request(
        "POST",
        f"/api/spaces/{space['id']}/invitations",
        json={"handles": ["guest"], "role": "listen"},
    )
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json() == {"sent": ["guest"], "refused": []}
        [told] = (await guest.ok("GET", "/api/notifications"))["notifications"]
        assert told["kind"] == "invitation"
        assert told["text"] == f"{inviter.title()} invites you to listen to “Open mic”"
        assert told["link"] == f"/messages/{inviter}" and told["space_id"] == space["id"]
        [message] = (await guest.ok("GET", f"/api/messages/{inviter}"))["messages"]
        assert message["invitation"] == {"role": "listen", "accepted": False}
        assert message["space"]["id"] == space["id"]
    else:
        _refused(response, 403, "forbidden")
        assert (await guest.ok("GET", "/api/messages"))["conversations"] == []


async def test_each_invitee_is_sent_or_refused_on_their_own(server: Running) -> None:
    space, people = await _live_space_with_roles(server)
    host, sid = people["host"], space["id"]
    fan = await server.signup("fan")
    closed = await server.signup("closed")
    picky = await server.signup("picky")
    blocker = await server.signup("blocker")
    await closed.ok("PATCH", "/api/notifications/settings", {"dm_policy": "nobody"})
    await picky.ok("PATCH", "/api/notifications/settings", {"dm_policy": "following"})
    await blocker.ok("PUT", "/api/users/host/block", status=204)
    fan_socket = await user_socket(fan)
    try:
        done = await host.ok(
            "POST",
            f"/api/spaces/{sid}/invitations",
            {
                "handles": [
                    "fan",
                    "@FAN",
                    "closed",
                    "picky",
                    "blocker",
                    "ghost",
                    "speaker",
                    "host",
                ],
                "role": "speak",
                "text": "Come up!",
            },
        )
        assert done["sent"] == ["fan"]
        assert {r["handle"]: r["reason"] for r in done["refused"]} == {
            "closed": "dm_closed",
            "picky": "not_followed",
            "blocker": "blocked",
            "ghost": "unknown_user",
            "speaker": "already_on_stage",
            "host": "self",
        }
        got = await _events(fan_socket, 2)
        message = got["message"]["message"]
        assert message["text"] == "Come up!"
        assert message["invitation"] == {"role": "speak", "accepted": False}
        assert (
            got["notification"]["notification"]["text"] == "Host invites you to speak in “Open mic”"
        )
    finally:
        await fan_socket.close()
    # Invited once: asking again waits for the first answer.
    again = await host.ok(
        "POST", f"/api/spaces/{sid}/invitations", {"handles": ["fan"], "role": "speak"}
    )
    assert again["refused"] == [{"handle": "fan", "reason": "already_invited"}]
    too_many = await host.request(
        "POST",
        f"/api/spaces/{sid}/invitations",
        json={"handles": [f"u{i}" for i in range(21)], "role": "listen"},
    )
    _refused(too_many, 422, "handles")
    bad_role = await host.request(
        "POST", f"/api/spaces/{sid}/invitations", json={"handles": ["fan"], "role": "sing"}
    )
    _refused(bad_role, 422, "role")
    bad_text = await host.request(
        "POST",
        f"/api/spaces/{sid}/invitations",
        json={"handles": ["fan"], "role": "listen", "text": "a\u0000b"},
    )
    _refused(bad_text, 422, "text")
    await host.ok("POST", f"/api/spaces/{sid}/end")
    ended = await host.request(
        "POST", f"/api/spaces/{sid}/invitations", json={"handles": ["fan"], "role": "listen"}
    )
    _refused(ended, 409, "invalid_state")
    # Accepting after the end is refused too.
    [invitation] = (await fan.ok("GET", "/api/messages/host"))["messages"]
    _refused(await fan.post(f"/api/messages/{invitation['id']}/accept"), 409, "invalid_state")


async def test_accepting_to_speak_puts_the_invitee_on_stage(server: Running) -> None:
    space, people = await _live_space_with_roles(server)
    sid, cohost = space["id"], people["cohost"]
    guest = await server.signup("guest")
    room = await people["host"].socket(sid)
    try:
        await cohost.ok(
            "POST", f"/api/spaces/{sid}/invitations", {"handles": ["guest"], "role": "speak"}
        )
        [invitation] = (await guest.ok("GET", "/api/messages/cohost"))["messages"]
        # Only the invitee accepts; others do not even see it.
        _refused(await cohost.post(f"/api/messages/{invitation['id']}/accept"), 403, "forbidden")
        _refused(
            await people["stranger"].post(f"/api/messages/{invitation['id']}/accept"),
            404,
            "not_found",
        )
        guest_socket = await user_socket(guest)
        try:
            accepted = await guest.ok("POST", f"/api/messages/{invitation['id']}/accept")
            # Both sides' sockets hear that it was accepted.
            changed = (await _events(guest_socket, 1))["message"]["message"]
            assert changed["invitation"] == {"role": "speak", "accepted": True}
        finally:
            await guest_socket.close()
        assert accepted["space_id"] == sid and accepted["role"] == "speak"
        assert accepted["member"]["role"] == "speaker" and accepted["member"]["muted"] is True
        update = await room.until(
            lambda m: m["type"] == "member_updated" and m["member"]["user"]["id"] == guest.id
        )
        assert update["member"]["role"] == "speaker"
    finally:
        await room.close()
    page = await guest.ok("GET", f"/api/spaces/{sid}")
    assert page["me"]["role"] == "speaker"
    assert guest.id in [m["user"]["id"] for m in page["stage"]]
    _refused(await guest.post(f"/api/messages/{invitation['id']}/accept"), 409, "invalid_state")
    thread = await cohost.ok("GET", "/api/messages/guest")
    assert thread["messages"][0]["invitation"]["accepted"] is True
    # A plain message is not an invitation.
    note = (await guest.ok("POST", "/api/messages/cohost", {"text": "thanks"}, 201))["message"]
    _refused(await cohost.post(f"/api/messages/{note['id']}/accept"), 409, "invalid_state")


async def test_an_invitation_holds_only_while_its_sender_moderates(server: Running) -> None:
    space, people = await _live_space_with_roles(server)
    sid = space["id"]
    guest = await server.signup("guest")
    await people["cohost"].ok(
        "POST", f"/api/spaces/{sid}/invitations", {"handles": ["guest"], "role": "speak"}
    )
    [invitation] = (await guest.ok("GET", "/api/messages/cohost"))["messages"]
    await people["host"].ok(
        "POST", f"/api/spaces/{sid}/members/{people['cohost'].id}/remove-cohost"
    )
    _refused(await guest.post(f"/api/messages/{invitation['id']}/accept"), 403, "forbidden")
    page = await guest.ok("GET", f"/api/spaces/{sid}")
    assert page["me"] is None


async def test_a_block_after_the_invitation_refuses_the_accept(server: Running) -> None:
    space, people = await _live_space_with_roles(server)
    guest = await server.signup("guest")
    await people["host"].ok(
        "POST", f"/api/spaces/{space['id']}/invitations", {"handles": ["guest"], "role": "speak"}
    )
    [invitation] = (await guest.ok("GET", "/api/messages/host"))["messages"]
    await people["host"].ok("PUT", "/api/users/guest/block", status=204)
    _refused(await guest.post(f"/api/messages/{invitation['id']}/accept"), 403, "blocked")


async def test_a_full_stage_raises_the_hand_instead(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Packed"))["id"]
    guests = [await server.signup(f"guest{i}") for i in range(13)]
    done = await host.ok(
        "POST",
        f"/api/spaces/{sid}/invitations",
        {"handles": [g.handle for g in guests], "role": "speak"},
    )
    assert len(done["sent"]) == 13
    members = []
    for guest in guests:
        [invitation] = (await guest.ok("GET", "/api/messages/host"))["messages"]
        members.append(
            (await guest.ok("POST", f"/api/messages/{invitation['id']}/accept"))["member"]
        )
    # The host and 12 guests fill the stage's 13 seats; the last waits with a raised hand.
    assert [m["role"] for m in members] == ["speaker"] * 12 + ["listener"]
    assert members[-1]["stage_request"] == "requested"
    page = await host.ok("GET", f"/api/spaces/{sid}")
    assert page["space"]["stage_count"] == 13


async def test_invitations_to_a_scheduled_space(server: Running) -> None:
    host = await server.signup("host")
    speaker = await server.signup("speaker")
    listener = await server.signup("listener")
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    sid = (await host.create_space("Tomorrow", scheduled_for=when))["id"]
    await host.ok(
        "POST", f"/api/spaces/{sid}/invitations", {"handles": ["speaker"], "role": "speak"}
    )
    await host.ok(
        "POST", f"/api/spaces/{sid}/invitations", {"handles": ["listener"], "role": "listen"}
    )
    [to_speak] = (await speaker.ok("GET", "/api/messages/host"))["messages"]
    [to_listen] = (await listener.ok("GET", "/api/messages/host"))["messages"]
    held = await speaker.ok("POST", f"/api/messages/{to_speak['id']}/accept")
    # A speaker's seat is held for when it starts.
    assert held["member"]["role"] == "speaker"
    assert (await speaker.ok("GET", f"/api/spaces/{sid}"))["me"]["role"] == "speaker"
    listening = await listener.ok("POST", f"/api/messages/{to_listen['id']}/accept")
    assert listening == {"space_id": sid, "role": "listen", "member": None}
    # Both are told when it starts (accepting asked for a reminder).
    await host.ok("POST", f"/api/spaces/{sid}/start")
    for invitee in (speaker, listener):
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            kinds = [
                n["kind"] for n in (await invitee.ok("GET", "/api/notifications"))["notifications"]
            ]
            if "live" in kinds or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert "live" in kinds
    page = await speaker.ok("GET", f"/api/spaces/{sid}")
    assert speaker.id in [m["user"]["id"] for m in page["stage"]]


@pytest.mark.parley_settings(message_burst=2, message_interval_s=600)
async def test_invitations_are_counted_per_person(server: Running) -> None:
    host = await server.signup("host")
    for name in ("amy", "ben", "cat"):
        await server.signup(name)
    sid = (await host.create_space("Counted"))["id"]
    done = await host.ok(
        "POST",
        f"/api/spaces/{sid}/invitations",
        {"handles": ["amy", "ben", "cat"], "role": "listen"},
    )
    assert done["sent"] == ["amy", "ben"]
    assert done["refused"] == [{"handle": "cat", "reason": "rate_limited"}]
    # None left: the call itself is refused.
    limited = await host.request(
        "POST", f"/api/spaces/{sid}/invitations", json={"handles": ["cat"], "role": "listen"}
    )
    assert limited.status_code == 429, limited.text


async def test_the_recipient_reports_a_message_with_its_text_kept(server: Running) -> None:
    ann = await server.signup("ann")
    bob = await server.signup("bob")
    carl = await server.signup("carl")
    moderator = await grant(server, await server.signup("moder"), "moderator")
    sent = (await ann.ok("POST", "/api/messages/bob", {"text": "you will regret it"}, 201))[
        "message"
    ]
    # Only its recipient reports it: to the sender and to anyone else it does not exist.
    for other in (ann, carl):
        refused = await other.request(
            "POST",
            "/api/reports",
            json={"kind": "message", "message_id": sent["id"], "reason": "harassment"},
        )
        _refused(refused, 404, "not_found")
    missing = await bob.request("POST", "/api/reports", json={"kind": "message", "reason": "spam"})
    _refused(missing, 422, "message_id")
    filed = await bob.ok(
        "POST",
        "/api/reports",
        {"kind": "message", "message_id": sent["id"], "reason": "harassment"},
        status=201,
    )
    assert filed["kind"] == "message" and filed["target"]["handle"] == "ann"
    report = (await moderator.ok("GET", f"/api/admin/reports/{filed['id']}"))["report"]
    assert report["target"]["handle"] == "ann" and report["reporter"]["handle"] == "bob"
    evidence = report["evidence"]
    assert (evidence["message_id"], evidence["message_text"]) == (sent["id"], "you will regret it")
    assert evidence["message_sent_at"] is not None


@pytest.mark.parley_settings(message_burst=100)
async def test_a_day_of_messages_is_capped_over_every_node(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token bucket is each node's own: the day's cap is counted in the database, so no
    number of nodes lets one sender store messages without end (invitations count too)."""
    from parley.domain import messages as rules

    monkeypatch.setattr(rules, "MESSAGES_PER_DAY_MAX", 3)
    ann, bob, cyd = [await server.signup(name) for name in ("ann", "bob", "cyd")]
    for n in range(3):
        assert (await _send(ann, bob, f"hello {n}")).status_code == 201
    refused = await _send(ann, bob, "one too many")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) > 3600
    space = await ann.create_space("Talk")
    invited = await ann.request(
        "POST",
        f"/api/spaces/{space['id']}/invitations",
        json={"handles": ["cyd"], "role": "listen"},
    )
    assert invited.status_code == 429, invited.text
    thread = await bob.ok("GET", "/api/messages/ann")
    assert [m["text"] for m in thread["messages"]] == ["hello 0", "hello 1", "hello 2"]
    assert (await cyd.ok("GET", "/api/messages"))["conversations"] == []
    # Others still write.
    assert (await _send(bob, ann, "hi ann")).status_code == 201
