"""The media runtime on a real server: spaces opened and closed as the room changes, whatever
order the notice, the end and the offers arrive in."""

from __future__ import annotations

import asyncio

import pytest

from support import Running
from webrtc_client import WebRtcClient

pytestmark = pytest.mark.integration


async def _until(condition: object, timeout_s: float = 10.0) -> None:
    assert callable(condition)
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time")


async def test_spaces_that_end_while_their_media_opens_are_closed_and_recorded(
    server: Running,
) -> None:
    media = server.app.state.media
    host = await server.signup("host")
    # Going live starts the media (the node-wide notice); ending at once races with it, at a
    # different point each time.
    spaces = []
    for delay_s in (0.0, 0.0, 0.01, 0.05, 0.2):
        space = await host.create_space(f"Short {delay_s}")
        await asyncio.sleep(delay_s)
        await host.ok("POST", f"/api/spaces/{space['id']}/end")
        spaces.append(space["id"])
    # However it fell, nothing of them is left mixing, and no recording is left unfinished
    # (one that ended before this node claimed it has none).
    await _until(lambda: all(media.engine.ticks_of(sid) is None for sid in spaces))
    for sid in spaces:
        for _ in range(100):
            found = await host.get(f"/api/spaces/{sid}/recording")
            state = found.json()["recording"]["state"] if found.status_code == 200 else None
            if state != "recording":
                break
            await asyncio.sleep(0.05)
        assert (found.status_code, state) in ((200, "complete"), (404, None)), found.text


async def test_a_refused_offer_leaves_a_space_open_only_where_it_is_mixed(server: Running) -> None:
    media = server.app.state.media
    host = await server.signup("host")
    outsider = await server.signup("outsider")
    space = await host.create_space("Open")
    sid = space["id"]
    await _until(lambda: media.engine.ticks_of(sid) is not None)
    # Someone who has not joined is refused; the space this node mixes (it claimed it) goes on.
    refused = WebRtcClient(server.base_url, outsider.token, sid, "whep")
    assert (await refused.connect()).status_code == 403
    await refused.close()
    ticks = media.engine.ticks_of(sid)
    await asyncio.sleep(0.2)
    assert media.engine.ticks_of(sid) > ticks
    # Once it ended, an offer opens nothing again.
    await host.ok("POST", f"/api/spaces/{sid}/end")
    await _until(lambda: media.engine.ticks_of(sid) is None)
    late = WebRtcClient(server.base_url, host.token, sid, "whep")
    assert (await late.connect()).status_code == 409
    await late.close()
    assert media.engine.ticks_of(sid) is None
