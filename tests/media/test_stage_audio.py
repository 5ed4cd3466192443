"""Real aiortc clients on a real server: the stage is enforced on the audio itself."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from media_support import last_tick_heard as last_tick
from media_support import tone_level
from parley.domain.errors import Conflict
from parley.media import internals
from parley.room import media as media_runtime
from support import Client, Running
from webrtc_client import GeneratedTrack, WebRtcClient, tone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

A_HZ, B_HZ = 440.0, 660.0
HEARD = 0.05  # a 0.3-amplitude tone arrives at about 0.2 RMS; silence is far below 0.01
GONE = 0.01


async def _speaker(
    server: Running, host: Client, user: Client, sid: int, hz: float
) -> WebRtcClient:
    if user is not host:
        await user.ok("POST", f"/api/spaces/{sid}/me/request")
        await host.ok("POST", f"/api/spaces/{sid}/members/{user.id}/approve")
    client = WebRtcClient(server.base_url, user.token, sid, "whip", GeneratedTrack(tone(hz)))
    response = await client.connect()
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/sdp")
    await user.unmute_on_air(sid)
    return client


async def _listener(server: Running, user: Client, sid: int) -> WebRtcClient:
    client = WebRtcClient(server.base_url, user.token, sid, "whep")
    response = await client.connect()
    assert response.status_code == 201, response.text
    return client


async def _host_heard_by_a_listener(
    server: Running, title: str
) -> tuple[Client, WebRtcClient, WebRtcClient]:
    """A live space whose host publishes A_HZ to a listener: (host, publisher, listener)."""
    host = await server.signup("host")
    listener = await server.signup("listener")
    space = await host.create_space(title)
    await listener.join(space["id"])
    publisher = await _speaker(server, host, host, space["id"], A_HZ)
    return host, publisher, await _listener(server, listener, space["id"])


async def _wait_hearing(client: WebRtcClient, hz: float, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tone_level(client.recording.last(0.5), hz) > HEARD:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never heard {hz} Hz")


async def test_mix_minus_full_mix_and_moderation(server: Running) -> None:
    host = await server.signup("host")
    bob = await server.signup("bob")
    carol = await server.signup("carol")
    space = await host.create_space("Tones")
    sid = space["id"]
    for user in (bob, carol):
        await user.join(sid)
    host_socket = await host.socket(sid)
    await host_socket.until_type("snapshot")
    listener_socket = await carol.socket(sid)
    await listener_socket.until_type("snapshot")

    engine = server.app.state.media.engine
    a = await _speaker(server, host, host, sid, A_HZ)
    b = await _speaker(server, host, bob, sid, B_HZ)
    c = await _listener(server, carol, sid)
    clients = [a, b, c]

    def last_tick_heard(client: WebRtcClient, hz: float) -> int:
        assert client.location is not None
        session = engine.session(client.location.rsplit("/", 1)[1])
        assert session is not None and session.fast is not None
        blocks = [block for _, block in client.recording.arrivals]
        return last_tick(
            blocks, client.recording.timestamps, session.fast.timestamp_origin, hz, floor=0.03
        )

    try:
        await _wait_hearing(c, A_HZ)
        await _wait_hearing(c, B_HZ)
        await _wait_hearing(a, B_HZ)
        await _wait_hearing(b, A_HZ)
        await asyncio.sleep(1.0)
        # The listener hears both; each speaker hears only the other (mix-minus).
        listener = c.recording.last(1.0)
        assert tone_level(listener, A_HZ) > HEARD
        assert tone_level(listener, B_HZ) > HEARD
        assert tone_level(a.recording.last(1.0), A_HZ) < GONE
        assert tone_level(a.recording.last(1.0), B_HZ) > HEARD
        assert tone_level(b.recording.last(1.0), B_HZ) < GONE
        assert tone_level(b.recording.last(1.0), A_HZ) > HEARD

        # Speaking indicators reach the room.
        levels = await listener_socket.until(
            lambda m: (
                m["type"] == "levels"
                and {str(host.id), str(bob.id)} & {k for k, v in m["levels"].items() if v > 0}
            )
        )
        assert levels["seq"] is None

        # The host mutes B, whose client goes on sending: 660 Hz is gone within 100 ms.
        # Timed on the server's media clock: the listener's stream carries it (RTP timestamp =
        # tick x 960), so a busy test machine delaying arrivals cannot blur the measure.
        await host.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/mute")
        muted_tick, muted_at = engine.ticks_of(sid), time.time()
        await asyncio.sleep(1.2)
        heard_tick = last_tick_heard(c, B_HZ)
        print(f"660 Hz in the listener's stream until {(heard_tick - muted_tick) * 20} ms after")
        assert muted_tick - heard_tick < 10  # it was heard right up to the mute...
        assert heard_tick - muted_tick <= 100 // 20  # ...and was gone within 100 ms of it
        assert tone_level(c.recording.since(muted_at + 0.5), B_HZ) < GONE
        assert tone_level(c.recording.since(muted_at + 0.5), A_HZ) > HEARD

        # B unmutes, is heard again; then moved down while still sending: never heard again,
        # and their publishing session is closed.
        await bob.unmute_on_air(sid)
        await _wait_hearing(c, B_HZ)
        await host.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/move-down")
        moved_tick, moved_at = engine.ticks_of(sid), time.time()
        await asyncio.sleep(1.2)
        assert 0 <= moved_tick - last_tick_heard(c, B_HZ) + 5 < 15
        assert tone_level(c.recording.since(moved_at + 0.5), B_HZ) < GONE
        assert await b.delete() == 404  # the server already ended that session

        # A removed listener's session is closed.
        await host.ok("POST", f"/api/spaces/{sid}/members/{carol.id}/remove")
        for _ in range(50):
            if c.pc.connectionState in ("closed", "failed"):
                break
            await asyncio.sleep(0.1)
        assert await c.delete() == 404
    finally:
        for client in clients:
            await client.close()
        for socket in (host_socket, listener_socket):
            await socket.close()


async def test_only_the_stage_publishes_and_members_listen(server: Running) -> None:
    host = await server.signup("host")
    listener = await server.signup("listener")
    outsider = await server.signup("outsider")
    space = await host.create_space("Rules")
    sid = space["id"]
    await listener.join(sid)
    refused = WebRtcClient(server.base_url, listener.token, sid, "whip", GeneratedTrack(tone(300)))
    response = await refused.connect()
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    stranger = WebRtcClient(server.base_url, outsider.token, sid, "whep")
    assert (await stranger.connect()).status_code == 403
    await host.ok("POST", f"/api/spaces/{sid}/end")
    late = WebRtcClient(server.base_url, listener.token, sid, "whep")
    response = await late.connect()
    assert response.status_code == 409
    assert response.json()["state"] == "ended"
    for client in (refused, stranger, late):
        await client.close()


async def test_bad_offers_get_clear_errors(server: Running) -> None:
    host = await server.signup("host")
    space = await host.create_space("Offers")
    sid = space["id"]
    url = f"/api/spaces/{sid}/whep"
    wrong_type = await host.request("POST", url, content=b"v=0")
    assert wrong_type.status_code == 415
    garbage = await host.request(
        "POST", url, content=b"not sdp", headers={"Content-Type": "application/sdp"}
    )
    assert garbage.status_code == 400
    assert garbage.json()["error"] == "bad_sdp"
    assert (await host.request("PATCH", f"{url}/abc")).status_code == 405
    assert (await host.delete(f"{url}/nope")).status_code == 404


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "aiortc-sender"])
async def test_listeners_hear_the_stage_on_either_send_path(
    server: Running, fast_path: bool
) -> None:
    engine = server.app.state.media.engine
    engine.settings = engine.settings.model_copy(update={"listener_fast_path": fast_path})
    host, a, c = await _host_heard_by_a_listener(server, "Paths")
    try:
        await _wait_hearing(c, A_HZ)
        assert c.location is not None
        session = engine.session(c.location.rsplit("/", 1)[1])
        assert (session.fast is not None) is fast_path
    finally:
        await a.close()
        await c.close()


@pytest.mark.parametrize(
    ("taken", "unavailable"),
    [
        (
            ("JITTER_BUFFER", "SRTP"),
            {"decoding_receive_path": "JITTER_BUFFER", "listener_fast_path": "SRTP"},
        ),
        (("CODECS",), {"opus_fec_request": "CODECS", "listener_fast_path": "CODECS"}),
    ],
    ids=["receive-buffer-and-srtp", "codec-list"],
)
async def test_the_stage_sounds_on_the_stock_paths_when_internals_are_gone(
    server: Running,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    taken: tuple[str, ...],
    unavailable: dict[str, str],
) -> None:
    """As after an aiortc upgrade that took away what the receive path, the fast path or the FEC
    request relies on: publishers are decoded by aiortc, listeners served by aiortc's sender, the
    FEC request is not made, and the health check says so, naming what is gone."""
    monkeypatch.setattr(internals, "_missing", {})
    gone = {}
    for name in taken:
        attribute = getattr(internals, name)
        gone[name] = internals.Attribute(attribute.library, attribute.owner, "_gone_in_upgrade")
        monkeypatch.setattr(internals, name, gone[name])
    caplog.set_level(logging.WARNING, internals.__name__)
    engine = server.app.state.media.engine
    host, a, c = await _host_heard_by_a_listener(server, "Stock")
    try:
        await _wait_hearing(c, A_HZ)
        assert a.location is not None and c.location is not None
        publishing = engine.session(a.location.rsplit("/", 1)[1])
        listening = engine.session(c.location.rsplit("/", 1)[1])
        decoded_here = "decoding_receive_path" not in unavailable
        assert (publishing.decoding_buffer is not None) is decoded_here
        assert (publishing.consumer is None) is decoded_here
        assert listening.fast is None
        fec_asked = "useinbandfec=1" in publishing.pc.localDescription.sdp
        assert fec_asked is ("opus_fec_request" not in unavailable)
    finally:
        await a.close()
        await c.close()
    health = await host.ok("GET", "/api/health")
    assert health["status"] == "degraded"
    assert health["media"]["unavailable"] == {
        capability: str(gone[name]) for capability, name in unavailable.items()
    }
    warnings = [r.getMessage() for r in caplog.records if r.name == internals.__name__]
    assert len(warnings) == len(unavailable), warnings


async def _state(user: Client, sid: int) -> dict[str, Any]:
    space: dict[str, Any] = (await user.ok("GET", f"/api/spaces/{sid}"))["space"]
    return space


def _broadcasting(server: Running, user: Client, sid: int, hz: float) -> WebRtcClient:
    """A WHIP-only publisher, as a broadcasting tool is: it asks to be unmuted on connecting."""
    client = WebRtcClient(server.base_url, user.token, sid, "whip", GeneratedTrack(tone(hz)))
    client.url += "?unmute=true"
    return client


async def _seat(user: Client, sid: int, member_id: int) -> dict[str, Any]:
    """A member as the room's snapshot shows them (read on a socket of `user`'s)."""
    socket = await user.socket(sid)
    try:
        snapshot = await socket.until_type("snapshot")
    finally:
        await socket.close()
    return next(m for m in snapshot["members"] if m["user"]["id"] == member_id)


@pytest.mark.parley_settings(host_grace_s=2.0)
async def test_a_host_who_only_publishes_over_whip_runs_the_space(server: Running) -> None:
    """As from OBS, ffmpeg or GStreamer: no room socket, no REST unmute. The WHIP session is the
    host's presence (the space outlives the grace period) and `?unmute=true` puts them on air
    until the tool stops; a moderator's mute of a speaker publishing the same way holds, and a
    session the server ends (moved down) takes their presence with it."""
    host = await server.signup("host")
    sid = (await host.create_space("On air"))["id"]  # live at once: the host's grace starts now
    on_air = {host.id: _broadcasting(server, host, sid, A_HZ)}
    assert (await on_air[host.id].connect()).status_code == 201
    bob = await server.signup("bob")
    carol = await server.signup("carol")
    for user in (bob, carol):
        await user.join(sid)
    await bob.ok("POST", f"/api/spaces/{sid}/me/request")
    await host.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/approve")
    on_air[bob.id] = _broadcasting(server, bob, sid, B_HZ)
    listener = await _listener(server, carol, sid)
    try:
        assert (await on_air[bob.id].connect()).status_code == 201
        await _wait_hearing(listener, A_HZ)
        await _wait_hearing(listener, B_HZ)
        await asyncio.sleep(3.0)  # well past the grace period
        space = await _state(host, sid)
        assert space["state"] == "live"
        assert space["listener_count"] == 1  # carol, by her WHEP session alone
        assert tone_level(listener.recording.last(1.0), A_HZ) > HEARD

        await host.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/mute")
        muted_at = time.time()
        await asyncio.sleep(2.0)
        assert tone_level(listener.recording.since(muted_at + 0.5), B_HZ) < GONE
        assert tone_level(listener.recording.since(muted_at + 0.5), A_HZ) > HEARD
        # Moved down, bob's WHIP session is ended by the server, and with it his presence: he
        # is not among the listeners present (no socket, no WHEP of his own).
        await host.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/move-down")
        await asyncio.sleep(0.5)
        present = (await host.ok("GET", f"/api/spaces/{sid}/listeners"))["listeners"]
        assert [m["user"]["id"] for m in present] == [carol.id]

        # The host's tool stops: off the air (muted again), and the space ends after the grace.
        assert await on_air[host.id].delete() == 200
        await asyncio.sleep(0.3)
        assert (await _seat(host, sid, host.id))["muted"] is True
        for _ in range(60):
            if (await _state(host, sid))["state"] == "ended":
                break
            await asyncio.sleep(0.1)
        assert (await _state(host, sid))["state"] == "ended"
    finally:
        for client in (*on_air.values(), listener):
            await client.close()


async def _until_no_sessions(engine: Any, sid: int) -> None:
    """Waits (10 s at most) until the space has no media session left."""
    for _ in range(100):
        if not await engine.has_sessions(sid):
            return
        await asyncio.sleep(0.1)
    assert not await engine.has_sessions(sid)


async def test_an_unmute_refused_when_the_audio_arrives_closes_the_session(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?unmute=true` unmutes once the tool's audio reaches the server; the stage can refuse it
    then (a move-down in between). That refusal is injected here, as the race cannot be timed
    from outside: the session is closed and the member stays muted."""
    host = await server.signup("host")
    sid = (await host.create_space("Refused"))["id"]
    original = media_runtime.stage.set_mic_live

    async def refusing(*args: Any, unmute: bool = False, **kwargs: Any) -> Any:
        if unmute:
            raise Conflict("the stage changed meanwhile", rule="stage_changed")
        return await original(*args, unmute=unmute, **kwargs)

    monkeypatch.setattr(media_runtime.stage, "set_mic_live", refusing)
    engine = server.app.state.media.engine
    client = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(300)))
    client.url += "?unmute=true"
    try:
        assert (await client.connect()).status_code == 201
        await _until_no_sessions(engine, sid)
    finally:
        await client.close()
    seat = await _seat(host, sid, host.id)
    assert (seat["muted"], seat["mic_live"]) == (True, False)


async def test_a_speaker_is_unmuted_only_while_their_audio_arrives(server: Running) -> None:
    """Unmuting is refused until the speaker's audio reaches the server; when their publishing
    session ends (the microphone went away, the connection dropped), they are muted and the room
    is told their microphone is off."""
    host = await server.signup("host")
    sid = (await host.create_space("Heard"))["id"]
    refused = await host.me(sid, "unmute")
    assert refused.status_code == 409 and refused.json()["state"] == "mic_off"
    client = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(300)))
    try:
        assert (await client.connect()).status_code == 201
        member = await host.unmute_on_air(sid)
        assert (member["muted"], member["mic_live"]) == (False, True)
    finally:
        await client.close()
    for _ in range(50):
        seat = await _seat(host, sid, host.id)
        if seat["muted"]:
            break
        await asyncio.sleep(0.1)
    assert (seat["muted"], seat["mic_live"]) == (True, False)
    refused = await host.me(sid, "unmute")
    assert refused.status_code == 409 and refused.json()["state"] == "mic_off"


async def test_unmute_on_publish_is_a_boolean_and_only_for_the_stage(server: Running) -> None:
    host = await server.signup("host")
    listener = await server.signup("listener")
    sid = (await host.create_space("Rules"))["id"]
    await listener.join(sid)
    refused = WebRtcClient(server.base_url, listener.token, sid, "whip", GeneratedTrack(tone(300)))
    refused.url += "?unmute=true"
    assert (await refused.connect()).status_code == 403  # a listener publishes nothing
    await refused.close()
    bad = await host.request(
        "POST",
        f"/api/spaces/{sid}/whip?unmute=maybe",
        content=b"v=0",
        headers={"Content-Type": "application/sdp"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "unmute"


async def test_a_store_failure_when_audio_arrives_closes_the_session(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug: a failure other than a refusal (the store busy) left the session open with its
    member never shown heard, so every unmute failed until a reload. Now the session is closed
    (its client sets up another)."""
    host = await server.signup("host")
    sid = (await host.create_space("Busy store"))["id"]
    original = media_runtime.stage.set_mic_live

    async def failing(*args: Any, live: bool, **kwargs: Any) -> Any:
        if live:
            raise RuntimeError("database is locked")
        return await original(*args, live=live, **kwargs)

    monkeypatch.setattr(media_runtime.stage, "set_mic_live", failing)
    engine = server.app.state.media.engine
    client = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(300)))
    try:
        assert (await client.connect()).status_code == 201
        await _until_no_sessions(engine, sid)
    finally:
        await client.close()


async def test_a_replacing_session_heard_while_the_old_one_ends_stays_heard(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client replaces its publishing session (a network change): the old one's end is noted
    (slowly here) while the new one's first audio arrives. A bug let the old `live=False` land
    after the new `live=True`: the member showed their microphone off, and could never unmute."""
    host = await server.signup("host")
    sid = (await host.create_space("Handover"))["id"]
    original = media_runtime.stage.set_mic_live

    async def slow_to_forget(*args: Any, live: bool, **kwargs: Any) -> Any:
        if not live:
            await asyncio.sleep(3.0)
        return await original(*args, live=live, **kwargs)

    old = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(300)))
    new = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(300)))
    try:
        assert (await old.connect()).status_code == 201
        await host.unmute_on_air(sid)
        monkeypatch.setattr(media_runtime.stage, "set_mic_live", slow_to_forget)
        await old.close()  # its `live=False` now takes 3 s
        assert (await new.connect()).status_code == 201  # heard well within those 3 s
        await asyncio.sleep(4.5)
        assert (await _seat(host, sid, host.id))["mic_live"] is True
    finally:
        await new.close()


class PausingTrack(GeneratedTrack):
    """A tone whose sending stops while `sending` is clear, the connection staying up (a frozen
    uplink, a tool that stopped sending)."""

    def __init__(self, hz: float) -> None:
        super().__init__(tone(hz))
        self.sending = asyncio.Event()
        self.sending.set()

    async def recv(self) -> Any:
        await self.sending.wait()
        return await super().recv()


async def test_a_speaker_whose_audio_stops_arriving_is_shown_so_and_muted(server: Running) -> None:
    """Connected but silent on the wire (no RTP for MIC_STALL_S): nobody hears them, so nobody
    sees them unmuted; when their audio comes back they are heard again (and unmute again)."""
    host = await server.signup("host")
    sid = (await host.create_space("Frozen uplink"))["id"]
    track = PausingTrack(300)
    client = WebRtcClient(server.base_url, host.token, sid, "whip", track)
    try:
        assert (await client.connect()).status_code == 201
        assert (await host.unmute_on_air(sid))["muted"] is False
        track.sending.clear()
        stopped_at = time.monotonic()
        for _ in range(100):
            seat = await _seat(host, sid, host.id)
            if not seat["mic_live"]:
                break
            await asyncio.sleep(0.1)
        waited_s = time.monotonic() - stopped_at
        assert (seat["muted"], seat["mic_live"]) == (True, False)
        assert media_runtime.MIC_STALL_S <= waited_s < media_runtime.MIC_STALL_S + 3
        refused = await host.me(sid, "unmute")
        assert refused.status_code == 409 and refused.json()["state"] == "mic_off"
        track.sending.set()
        assert (await host.unmute_on_air(sid))["mic_live"] is True
    finally:
        track.sending.set()
        await client.close()
