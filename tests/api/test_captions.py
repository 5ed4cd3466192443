"""Captions through the API: who may switch them, consent, languages, the transcript's readers,
validation and limits. (The captions themselves: tests/captions/test_live_captions.py.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support import Client, Running

pytestmark = pytest.mark.integration


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    return body


async def _room(server: Running) -> tuple[int, dict[str, Client]]:
    """A live space with a host, a co-host, a speaker, a listener and an outsider."""
    people = {
        role: await server.signup(role)
        for role in ("host", "cohost", "speaker", "listener", "outsider")
    }
    host = people["host"]
    sid = (await host.create_space("Roles"))["id"]
    for role in ("cohost", "speaker", "listener"):
        await people[role].join(sid)
    await people["speaker"].ok("POST", f"/api/spaces/{sid}/me/request")
    await host.ok("POST", f"/api/spaces/{sid}/members/{people['speaker'].id}/approve")
    await host.ok("POST", f"/api/spaces/{sid}/members/{people['cohost'].id}/invite")
    await people["cohost"].ok("POST", f"/api/spaces/{sid}/me/accept")
    await host.ok("POST", f"/api/spaces/{sid}/members/{people['cohost'].id}/make-cohost")
    return sid, people


async def test_the_server_says_what_it_transcribes(server: Running) -> None:
    async with server.browser() as visitor:
        info = (await visitor.get("/api/captions")).json()
    assert info["engine"] == "whisper-base" and info["default_language"] == "en"
    assert {"en", "fr", "de"} <= set(info["languages"]) and info["languages"] == sorted(
        info["languages"]
    )


@pytest.mark.parley_settings(max_live_spaces_per_host=0)  # one host, several live spaces
async def test_a_space_is_created_with_captions_in_its_language(server: Running) -> None:
    host = await server.signup("host")
    plain = await host.create_space("Plain")
    assert (plain["captions"], plain["caption_language"]) == (False, "en")
    french = await host.create_space("Français", captions=True, caption_language="FR")
    assert (french["captions"], french["caption_language"]) == (True, "fr")


@pytest.mark.parametrize(
    ("language", "rule"),
    [
        ("xx", "supported_language"),
        ("klingonese", "max_length"),
        ("e\u0000n", "supported_language"),
        ("én", "supported_language"),
        ("", "supported_language"),
        (7, "type"),
    ],
)
async def test_a_language_it_does_not_transcribe_is_refused_and_nothing_is_written(
    server: Running, language: Any, rule: str
) -> None:
    host = await server.signup("host")
    body = {"title": "t", "captions": True, "caption_language": language}
    refused = _error(await host.post("/api/spaces", json=body), 422, "validation_failed")
    assert (refused["field"], refused["rule"]) == ("caption_language", rule)
    assert (await host.ok("GET", "/api/spaces?state=live"))["spaces"] == []


async def test_host_and_cohosts_switch_captions_others_may_not(server: Running) -> None:
    sid, people = await _room(server)
    host_socket = await people["listener"].socket(sid)
    await host_socket.until_type("snapshot")
    on = await people["host"].request("PATCH", f"/api/spaces/{sid}", json={"captions": True})
    assert on.status_code == 200 and on.json()["space"]["captions"] is True
    event = await host_socket.until_type("space_updated")
    assert event["space"]["captions"] is True
    lang = await people["cohost"].request(
        "PATCH", f"/api/spaces/{sid}", json={"caption_language": "fr"}
    )
    assert lang.status_code == 200 and lang.json()["space"]["caption_language"] == "fr"
    for role in ("speaker", "listener", "outsider"):
        response = await people[role].request(
            "PATCH", f"/api/spaces/{sid}", json={"captions": False}
        )
        assert response.status_code == 403, (role, response.text)
    async with server.browser() as visitor:
        response = await visitor.patch(f"/api/spaces/{sid}", json={"captions": False})
        assert response.status_code in (401, 403), response.text
    space = (await people["host"].ok("GET", f"/api/spaces/{sid}"))["space"]
    assert (space["captions"], space["caption_language"]) == (True, "fr")
    refused = await people["host"].request(
        "PATCH", f"/api/spaces/{sid}", json={"caption_language": "zz"}
    )
    assert _error(refused, 422, "validation_failed")["field"] == "caption_language"
    # Once ended, nothing changes.
    await people["host"].ok("POST", f"/api/spaces/{sid}/end")
    ended = await people["host"].request("PATCH", f"/api/spaces/{sid}", json={"captions": False})
    assert ended.status_code == 409, ended.text
    await host_socket.close()


async def test_each_member_consents_for_their_own_voice_only(server: Running) -> None:
    sid, people = await _room(server)
    watcher = await people["host"].socket(sid)
    await watcher.until_type("snapshot")
    off = await people["speaker"].ok("POST", f"/api/spaces/{sid}/me/captions", {"captioned": False})
    assert off["member"]["captioned"] is False
    event = await watcher.until_type("member_updated")
    assert event["member"]["user"]["id"] == people["speaker"].id
    assert event["member"]["captioned"] is False
    # Nobody decides for another: there is no such verb on a member.
    other = await people["host"].post(
        f"/api/spaces/{sid}/members/{people['speaker'].id}/captions", {"captioned": True}
    )
    assert other.status_code in (404, 405, 422)
    # Not a member, or bad bodies.
    outsider = await people["outsider"].post(f"/api/spaces/{sid}/me/captions", {"captioned": False})
    assert outsider.status_code == 403
    bad = await people["speaker"].post(f"/api/spaces/{sid}/me/captions", {"captioned": "no"})
    assert _error(bad, 422, "validation_failed")["field"] == "captioned"
    missing = await people["speaker"].post(f"/api/spaces/{sid}/me/captions", {})
    assert _error(missing, 422, "validation_failed")["field"] == "captioned"
    async with server.browser() as visitor:
        anonymous = await visitor.post(f"/api/spaces/{sid}/me/captions", json={"captioned": True})
        assert anonymous.status_code == 401
    # A snapshot says who is not captioned.
    snapshot = await (await people["listener"].socket(sid)).until_type("snapshot")
    shown = {m["user"]["id"]: m["captioned"] for m in snapshot["members"]}
    assert shown[people["speaker"].id] is False and shown[people["host"].id] is True
    await watcher.close()


async def test_switching_consent_is_rate_limited(server: Running) -> None:
    sid, people = await _room(server)
    speaker = people["speaker"]
    statuses = [
        (
            await speaker.post(f"/api/spaces/{sid}/me/captions", {"captioned": n % 2 == 0})
        ).status_code
        for n in range(12)
    ]
    assert statuses[:10] == [200] * 10 and statuses[-1] == 429


async def test_the_transcript_belongs_to_host_and_speakers_until_a_replay_is_published(
    server: Running,
) -> None:
    sid, people = await _room(server)
    # No lines yet: only the host (and co-hosts) read the empty transcript.
    empty = await people["host"].ok("GET", f"/api/spaces/{sid}/transcript")
    assert empty["transcript"]["lines"] == [] and empty["transcript"]["downloadable"] is True
    assert (await people["cohost"].get(f"/api/spaces/{sid}/transcript")).status_code == 200
    for role in ("speaker", "listener", "outsider"):
        response = await people[role].get(f"/api/spaces/{sid}/transcript")
        assert response.status_code == 403, role
        download = await people[role].get(f"/api/spaces/{sid}/transcript.vtt")
        assert download.status_code == 403, role
    async with server.browser() as visitor:
        assert (await visitor.get(f"/api/spaces/{sid}/transcript")).status_code == 403
        assert (await visitor.get(f"/api/spaces/{sid}/transcript.txt")).status_code == 401
    for name in ("transcript.pdf", "transcript.", "transcript.VTT"):
        assert (await people["host"].get(f"/api/spaces/{sid}/{name}")).status_code in (404, 422)
    assert (await people["host"].get("/api/spaces/999999/transcript")).status_code == 404
