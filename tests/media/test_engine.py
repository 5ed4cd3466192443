"""The media engine on its own: what it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from parley.config import Settings
from parley.domain.errors import AtCapacity, InvalidState
from parley.media.engine import MediaEngine

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[MediaEngine]:
    engine = MediaEngine(Settings(data_dir=tmp_path, webrtc_listener_capacity=0))
    engine.start()
    yield engine
    await engine.stop()


async def _offer() -> str:
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_an_offer_on_a_space_it_does_not_mix_is_refused(engine: MediaEngine) -> None:
    # As when a space's media stopped between the offer's check and its answer.
    with pytest.raises(InvalidState) as refused:
        await engine.open_session("whip", 7, 1, await _offer(), allowed=True, seat_seq=1)
    assert refused.value.state == "ended"
    assert not await engine.has_sessions(7)


async def test_listeners_past_the_capacity_are_sent_to_hls(engine: MediaEngine) -> None:
    await engine.open_space(7, None)
    with pytest.raises(AtCapacity):
        await engine.open_session("whep", 7, 1, await _offer(), allowed=False, seat_seq=1)
    assert not await engine.has_sessions(7)
    await engine.close_space(7)
