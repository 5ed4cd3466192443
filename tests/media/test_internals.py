"""Every capability of media/internals.py, checked against the installed aiortc, aioice and PyAV.

An upgrade that takes away what one relies on fails here with the attribute's name; the bounds on
those three in pyproject.toml lift only when this passes on the new versions. The second half
shows each capability giving way cleanly (logged once, reported) when what it needs is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import is_rtcp

from media_support import tone_level
from parley.media import internals, sessions
from parley.media.fanout import FastSender
from parley.media.jitter import use_decoding_audio
from parley.media.mixer import FRAME_SAMPLES, Samples
from parley.media.opus import libopus
from parley.media.space import OpusEncoder
from webrtc_client import GeneratedTrack, tone

HZ = 440.0


@pytest.fixture(autouse=True)
def nothing_missing_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no capability noted as missing (the record is per process)."""
    monkeypatch.setattr(internals, "_missing", {})


def _missing_message() -> str:
    return f"unavailable with {internals.versions()}: {internals.missing()}"


async def _connected(*pcs: RTCPeerConnection, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(pc.connectionState != "connected" for pc in pcs):
        states = [pc.connectionState for pc in pcs]
        assert "failed" not in states and time.monotonic() < deadline, states
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _session(
    kind: sessions.SessionKind, client: RTCPeerConnection
) -> AsyncIterator[sessions.Session]:
    """The server's side of a session for `client`'s offer, answered and connected."""
    await client.setLocalDescription(await client.createOffer())
    session = await sessions.accept_offer(
        kind, 1, 1, client.localDescription.sdp, ice_servers=[], publisher_bitrate=64000
    )
    try:
        answer = await sessions.answer(session, "")
        await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await _connected(client, session.pc)
        yield session
    finally:
        await sessions.close(session)
        await client.close()


# --- with the installed versions ---------------------------------------------------------------
@pytest.mark.integration
async def test_the_fast_path_sends_on_a_real_connection_and_the_hooks_see_it() -> None:
    client = RTCPeerConnection()
    transceiver = client.addTransceiver("audio", direction="recvonly")
    heard: list[Samples] = []
    assert use_decoding_audio(transceiver.receiver, heard.append) is not None, _missing_message()
    packets_seen = 0

    def counting(handle: internals.RtpHandler) -> internals.RtpHandler:
        async def on_rtp(packet: Any, arrival_time_ms: int) -> None:
            nonlocal packets_seen
            packets_seen += 1
            await handle(packet, arrival_time_ms=arrival_time_ms)

        return on_rtp

    internals.wrap_rtp_received(transceiver.receiver, counting)

    async with _session("whep", client) as session:
        protocols = internals.ice_protocols(transceiver)  # one per local socket, once gathered
        assert protocols and all(p.transport is not None for p in protocols)
        assert "a=setup:passive" in session.pc.localDescription.sdp  # Parley: the DTLS server
        route = internals.listener_send_route(session.pc)
        assert route is not None, _missing_message()
        assert route.srtp is not None and 1 in route.nominated
        # Each thing the route is made of, taken away on its own, makes it give way, named.
        for name in ("CODECS", "SSRC", "SRTP", "ICE_CONNECTION", "NOMINATED"):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(internals, "_missing", {})
                attribute = _gone(patch, name)
                assert internals.listener_send_route(session.pc) is None
                assert internals.missing() == {internals.FAST_PATH: str(attribute)}
        sender = FastSender(route)
        encoder = OpusEncoder.voice(64000)
        for tick in range(50):  # one second of tone, as the media clock would send it
            pts = tick * FRAME_SAMPLES
            for packet in encoder.encode(tone(HZ)(pts), pts):
                sender.send(packet, bytes(packet))
            await asyncio.sleep(0.02)
        for _ in range(50):
            if len(heard) >= 40:
                break
            await asyncio.sleep(0.05)
    assert not sender.failed
    assert packets_seen >= 40
    assert tone_level(np.concatenate(heard), HZ) > 0.1
    assert internals.missing() == {}, _missing_message()


@pytest.mark.integration
async def test_a_publisher_is_asked_for_fec_and_decoded_on_arrival() -> None:
    client = RTCPeerConnection()
    client.addTrack(GeneratedTrack(tone(HZ)))
    sent = 0

    def counting(send: internals.SendRtp) -> internals.SendRtp:
        async def send_rtp(data: bytes) -> None:
            nonlocal sent
            sent += not is_rtcp(data)
            await send(data)

        return send_rtp

    async with _session("whip", client) as session:
        internals.wrap_rtp_sent(client.getTransceivers()[0].sender.transport, counting)
        answer = session.pc.localDescription.sdp
        assert "useinbandfec=1" in answer and "maxaveragebitrate=64000" in answer, answer
        assert "a=setup:passive" in answer, answer  # Parley is the DTLS server
        assert session.decoding_buffer is not None and session.queue is not None, _missing_message()
        blocks: list[Samples] = []
        for _ in range(100):
            block = session.queue.pop()
            if block is not None:
                blocks.append(block)
            if len(blocks) >= 25:
                break
            await asyncio.sleep(0.02)
    assert sent >= 25
    assert tone_level(np.concatenate(blocks), HZ) > 0.1
    assert internals.missing() == {}, _missing_message()


async def test_the_probe_and_pyavs_libopus_find_everything() -> None:
    assert await internals.probe() == {}, _missing_message()
    assert internals.bundled_libopus(), f"no libopus in PyAV's {internals.LIBS_FOLDER} folder"
    assert libopus() is not None


# --- when an upgrade took something away --------------------------------------------------------
def _gone(monkeypatch: pytest.MonkeyPatch, name: str) -> internals.Attribute:
    attribute: internals.Attribute = getattr(internals, name)
    replaced = internals.Attribute(attribute.library, attribute.owner, "_not_there_any_more")
    monkeypatch.setattr(internals, name, replaced)
    return replaced


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == internals.__name__]


async def test_each_capability_gives_way_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, internals.__name__)
    codecs = _gone(monkeypatch, "CODECS")
    buffer = _gone(monkeypatch, "JITTER_BUFFER")
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio")
        for _ in range(2):
            assert not internals.ask_opus_fec(transceiver, {"useinbandfec": 1})
            assert not internals.replace_receive_buffer(transceiver.receiver, JitterBuffer(16))
            assert use_decoding_audio(transceiver.receiver, lambda samples: None) is None
            assert internals.listener_send_route(pc) is None
    finally:
        await pc.close()
    assert internals.missing() == {
        internals.FEC_REQUEST: str(codecs),
        internals.RECEIVE_BUFFER: str(buffer),
        internals.FAST_PATH: str(codecs),
    }
    warnings = _warnings(caplog)
    assert len(warnings) == 3, warnings  # once per capability, however often it is asked
    assert all("aiortc RTCRtp" in w and "_not_there_any_more" in w for w in warnings)


async def test_the_probe_finds_what_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    ssrc = _gone(monkeypatch, "SSRC")
    buffer = _gone(monkeypatch, "JITTER_BUFFER")
    assert await internals.probe() == {
        internals.FAST_PATH: "aiortc RTCRtpSender._not_there_any_more",
        internals.RECEIVE_BUFFER: "aiortc RTCRtpReceiver._not_there_any_more",
    }
    assert (str(ssrc), str(buffer)) == tuple(internals.missing().values())


async def test_without_the_dtls_role_the_answer_stays_active(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role = _gone(monkeypatch, "DTLS_SET_ROLE")
    client = RTCPeerConnection()
    client.addTransceiver("audio", direction="recvonly")
    async with _session("whep", client) as session:
        assert "a=setup:active" in session.pc.localDescription.sdp
        assert internals.listener_send_route(session.pc) is not None  # the rest unaffected
    assert internals.missing() == {internals.DTLS_SERVER: str(role)}


async def test_an_offer_that_chose_its_role_keeps_it() -> None:
    """An offer with `a=setup:passive` (the offerer wants to be the DTLS server) is answered
    `active`, and one with `a=setup:active` `passive`, as RFC 8842 s5 asks."""
    for offered, answered in (("passive", "active"), ("active", "passive")):
        client = RTCPeerConnection()
        client.addTransceiver("audio", direction="recvonly")
        await client.setLocalDescription(await client.createOffer())
        offer = client.localDescription.sdp.replace("a=setup:actpass", f"a=setup:{offered}")
        session = await sessions.accept_offer(
            "whep", 1, 1, offer, ice_servers=[], publisher_bitrate=64000
        )
        try:
            answer = await sessions.answer(session, "")
            assert f"a=setup:{answered}" in answer
        finally:
            await sessions.close(session)
            await client.close()
    assert internals.missing() == {}


async def test_the_hooks_name_what_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _gone(monkeypatch, "RECEIVE_HOOK")
    _gone(monkeypatch, "PROTOCOLS")
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio")
        with pytest.raises(RuntimeError, match=r"RTCRtpReceiver\._not_there_any_more"):
            internals.wrap_rtp_received(transceiver.receiver, lambda handle: handle)
        with pytest.raises(RuntimeError, match=r"aioice Connection\._not_there_any_more"):
            internals.ice_protocols(transceiver)
    finally:
        await pc.close()
    assert internals.missing()[internals.RTP_HOOKS] == str(hook)
