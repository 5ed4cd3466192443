"""Live captions on a real server: speakers publish known speech over WHIP (real aiortc), a
listener's room socket reads the lines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from speech_support import SENTENCES, once, speech, words
from support import Client, RoomSocket, Running
from webrtc_client import GeneratedTrack, WebRtcClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def overlap(said: str, heard: str) -> float:
    """The share of the words said that were heard (in any order)."""
    expected, got = words(said), set(words(heard))
    return sum(word in got for word in expected) / len(expected)


async def _publish(
    server: Running, user: Client, sid: int, text: str, after_s: float, language: str = "en"
) -> WebRtcClient:
    track = GeneratedTrack(once(speech(text, language), after_s=after_s))
    client = WebRtcClient(server.base_url, user.token, sid, "whip", track)
    response = await client.connect()
    assert response.status_code == 201, response.text
    return client


async def _on_stage(host: Client, user: Client, sid: int) -> None:
    await user.join(sid)
    await user.ok("POST", f"/api/spaces/{sid}/me/request")
    await host.ok("POST", f"/api/spaces/{sid}/members/{user.id}/approve")


async def _finals(socket: RoomSocket, count: int, timeout_s: float = 45.0) -> list[dict[str, Any]]:
    """Reads caption lines until `count` finals came; every caption line read, in order."""
    lines: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while sum(line["final"] for line in lines) < count:
        remaining = deadline - loop.time()
        assert remaining > 0, f"only {lines} came"
        message = await socket.until_type("caption", timeout=remaining)
        lines.append(message["line"])
    return lines


async def test_each_speakers_words_reach_a_listener_as_partials_then_a_final(
    server: Running,
) -> None:
    host = await server.signup("host", "Hana Host")
    bob = await server.signup("bob", "Bob Speaker")
    carol = await server.signup("carol")
    space = await host.create_space("Captioned", captions=True)
    assert space["captions"] is True and space["caption_language"] == "en"
    sid = space["id"]
    await _on_stage(host, bob, sid)
    await carol.join(sid)
    listener = await carol.socket(sid)
    await listener.until_type("snapshot")
    first, second = SENTENCES["en"][0], SENTENCES["en"][2]
    publishers = [
        await _publish(server, host, sid, first, after_s=1.0),
        await _publish(server, bob, sid, second, after_s=7.5),
    ]
    try:
        await host.unmute_on_air(sid)
        await bob.unmute_on_air(sid)
        lines = await _finals(listener, 2)
    finally:
        for publisher in publishers:
            await publisher.close()
    finals = {line["user_id"]: line for line in lines if line["final"]}
    assert set(finals) == {host.id, bob.id}, lines
    assert overlap(first, finals[host.id]["text"]) >= 0.8, finals
    assert overlap(second, finals[bob.id]["text"]) >= 0.8, finals
    # The host spoke first; each line sits on the recording's timeline, in order.
    assert finals[host.id]["end_s"] < finals[bob.id]["start_s"]
    assert 2.5 < finals[host.id]["end_s"] - finals[host.id]["start_s"] < 8.5
    # Partial lines came while each spoke, with the final's id, before it.
    for user_id, final in finals.items():
        partials = [line for line in lines if line["id"] == final["id"] and not line["final"]]
        assert partials, f"no partial line for {user_id}"
        assert lines.index(partials[0]) < lines.index(final)
        assert all(line["user_id"] == user_id for line in partials)

    # Someone who joins late reads the last lines at once.
    dave = await server.signup("dave")
    await dave.join(sid)
    late = await dave.socket(sid)
    snapshot = await late.until_type("snapshot")
    assert [line["text"] for line in snapshot["captions"]] == [
        finals[host.id]["text"],
        finals[bob.id]["text"],
    ]

    # The transcript: the host and the speakers download it; a listener does not.
    vtt = await host.get(f"/api/spaces/{sid}/transcript.vtt")
    assert vtt.status_code == 200, vtt.text
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert "attachment" in vtt.headers["content-disposition"]
    assert vtt.text.startswith("WEBVTT")
    assert "<v Hana Host>" in vtt.text and "<v Bob Speaker>" in vtt.text
    assert finals[host.id]["text"] in vtt.text.replace("&amp;", "&")
    text = await bob.get(f"/api/spaces/{sid}/transcript.txt")
    assert text.status_code == 200 and "Bob Speaker" in text.text
    srt = await bob.get(f"/api/spaces/{sid}/transcript.srt")
    assert srt.status_code == 200 and srt.text.startswith("1\n")
    for refused in ("transcript.vtt", "transcript"):
        response = await carol.get(f"/api/spaces/{sid}/{refused}")
        assert response.status_code == 403, response.text
    transcript = (await host.ok("GET", f"/api/spaces/{sid}/transcript"))["transcript"]
    assert [line["user"]["id"] for line in transcript["lines"]] == [host.id, bob.id]
    assert transcript["downloadable"] is True

    # HLS listeners get them too: a WebVTT subtitles rendition beside the audio (main.m3u8);
    # its segments carry each speaker's words. (ffprobe and hls.js read such a rendition in
    # tests/media/test_hls_subtitles.py and tests/e2e/test_e2e_hls_subtitles.py; FFmpeg 5.1 does
    # not return from probing a live one.)
    listen = await carol.ok("GET", f"/api/spaces/{sid}/listen")
    main_url = listen["hls_captions_url"]
    main = await carol.get(main_url)
    assert main.status_code == 200 and "TYPE=SUBTITLES" in main.text, main.text
    folder = main_url.rsplit("/", 1)[0]

    async def subtitles() -> str:
        subs = (await carol.get(f"{folder}/subs.m3u8")).text
        last = max(int(line[4:10]) for line in subs.splitlines() if line.startswith("sub-"))
        cues = ""
        for number in range(1, last + 1):
            segment = await carol.get(f"{folder}/sub-{number:06d}.vtt")
            assert segment.status_code == 200 and segment.text.startswith("WEBVTT")
            assert segment.headers["content-type"].startswith("text/vtt")
            cues += segment.text
        return cues

    # The subtitle segments trail the audio by two segments: a line shows once its segment is
    # written, at most a few seconds after the final.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    cues = await subtitles()
    while "<v Bob Speaker>" not in cues and loop.time() < deadline:
        await asyncio.sleep(0.5)
        cues = await subtitles()
    assert "<v Hana Host>" in cues and "<v Bob Speaker>" in cues, cues
    assert overlap(finals[host.id]["text"], cues) >= 0.8, cues
    assert overlap(finals[bob.id]["text"], cues) >= 0.8, cues
    for socket in (listener, late):
        await socket.close()


async def test_an_opted_out_speaker_shows_speech_without_text_and_a_muted_one_nothing(
    server: Running,
) -> None:
    host = await server.signup("host")
    bob = await server.signup("bob")
    carol = await server.signup("carol")
    sid = (await host.create_space("Consent", captions=True))["id"]
    await _on_stage(host, bob, sid)
    member = await bob.ok("POST", f"/api/spaces/{sid}/me/captions", {"captioned": False})
    assert member["member"]["captioned"] is False
    await carol.join(sid)
    listener = await carol.socket(sid)
    await listener.until_type("snapshot")
    publishers = [
        # The host is muted the whole time: nothing of theirs is mixed, nothing captioned.
        await _publish(server, host, sid, SENTENCES["en"][1], after_s=1.0),
        await _publish(server, bob, sid, SENTENCES["en"][3], after_s=1.0),
    ]
    try:
        await bob.unmute_on_air(sid)
        lines = await _finals(listener, 1)
        await asyncio.sleep(3.0)  # the host's sentence would have ended by now
    finally:
        for publisher in publishers:
            await publisher.close()
    lines += [
        m["line"] for m in listener.received if m["type"] == "caption" and m["line"] not in lines
    ]
    assert lines, "bob's speech never showed"
    assert all(line["user_id"] == bob.id for line in lines), lines
    assert all(line["text"] is None for line in lines), lines
    assert any(line["final"] for line in lines)
    # Nothing of bob's words is kept: no transcript lines, and he is not "one who spoke" of it.
    transcript = (await host.ok("GET", f"/api/spaces/{sid}/transcript"))["transcript"]
    assert transcript["lines"] == []
    await listener.close()


async def test_french_speech_in_a_french_space_comes_out_in_french(server: Running) -> None:
    host = await server.signup("hote", "Hélène Hôte")
    carol = await server.signup("carol")
    space = await host.create_space("En français", captions=True, caption_language="fr")
    sid = space["id"]
    await carol.join(sid)
    listener = await carol.socket(sid)
    await listener.until_type("snapshot")
    said = SENTENCES["fr"][6]  # "Il y a un nouveau restaurant italien au coin de la rue."
    publisher = await _publish(server, host, sid, said, after_s=1.0, language="fr")
    try:
        await host.unmute_on_air(sid)
        lines = await _finals(listener, 1)
    finally:
        await publisher.close()
    final = next(line for line in lines if line["final"])
    assert final["user_id"] == host.id
    assert overlap(said, final["text"]) >= 0.6, final
    # Written as French: its accented words, not an English rendering of the sounds.
    assert {"nouveau", "restaurant", "italien"} <= set(words(final["text"])), final
    await listener.close()
