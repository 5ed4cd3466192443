"""Retention (purged at 30 days, by the server and by `parley purge`) and a crash mid-space."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from media_support import tone_level
from parley.media import playlist
from parley.media.folders import MediaFolders
from support import Client, Running
from webrtc_client import GeneratedTrack, WebRtcClient, tone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HZ = 440.0


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def _recorded_space(host: Client, seconds: float) -> int:
    sid = int((await host.create_space("Kept a while"))["id"])
    await asyncio.sleep(seconds)
    await host.ok("POST", f"/api/spaces/{sid}/end")

    async def complete() -> bool:
        found = await host.get(f"/api/spaces/{sid}/recording")
        return found.status_code == 200 and found.json()["recording"]["state"] == "complete"

    await _until(complete)
    return sid


@pytest.mark.parley_settings(purge_interval_s=0.2)
async def test_the_server_purges_a_30_day_old_recording_and_its_clips(server: Running) -> None:
    host = await server.signup("host")
    sid = await _recorded_space(host, 2.5)
    clip = (
        await host.ok(
            "POST", f"/api/spaces/{sid}/clips", json={"start_s": 0, "duration_s": 1}, status=201
        )
    )["clip"]
    folders = MediaFolders(server.app.state.services.settings.media_dir)
    folder = folders.recording(sid)
    recording = (await host.ok("GET", f"/api/spaces/{sid}/recording"))["recording"]
    assert recording["expires_at"] is not None

    server.clock.advance(days=29, hours=23)
    await asyncio.sleep(1.0)  # several purge passes
    assert (await host.get(f"/api/spaces/{sid}/recording")).status_code == 200
    assert (await host.get(clip["audio_url"])).status_code == 200
    assert (folder / "recording.m4a").is_file() and folders.clips(sid).is_dir()

    server.clock.advance(hours=1)

    async def purged() -> bool:
        return (await host.get(f"/api/spaces/{sid}/recording")).status_code == 404

    await _until(purged)
    assert (await host.get(f"/api/clips/{clip['id']}")).status_code == 404
    assert (await host.get(clip["audio_url"])).status_code == 404
    assert not folder.exists() and not folders.clips(sid).exists()
    # The space itself stays, with no replay to offer.
    assert (await host.get(f"/api/spaces/{sid}")).status_code == 200
    assert (await host.get(f"/api/spaces/{sid}/replay")).status_code == 404


# --- a real `parley serve` process, for the command line and for kill -9 ------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.env = {
            **os.environ,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_PASSWORD_TIME_COST": "1",
            "PARLEY_PASSWORD_MEMORY_KIB": "8192",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    def parley(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "parley", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "parley", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(self.url("/api/health"))).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, self.log.read_text()
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def _running(served: Served) -> Running:
    """The test helpers' view of a `parley serve` process (no app object: another process)."""
    return Running(base_url=served.url(""), app=None, clock=None)  # type: ignore[arg-type]


def test_parley_purge_deletes_what_is_past_retention(tmp_path: Path) -> None:
    served = Served(tmp_path)

    async def record() -> int:
        await served.start()
        try:
            host = await _running(served).signup("host")
            return await _recorded_space(host, 2.0)
        finally:
            served.stop()

    sid = asyncio.run(record())
    folder = MediaFolders(tmp_path / "media").recording(sid)
    assert (folder / "recording.m4a").is_file()
    kept = served.parley("purge")
    assert "purged the recordings of 0 spaces" in kept.stdout and folder.exists()
    served.env["PARLEY_RETENTION_DAYS"] = "0"
    gone = served.parley("purge")
    assert f"purged the recordings of 1 spaces: [{sid}]" in gone.stdout
    assert not folder.exists()


async def test_kill_9_mid_space_loses_nothing_written_and_the_next_start_finishes_it(
    tmp_path: Path,
) -> None:
    served = Served(tmp_path)
    await served.start()
    speaker: WebRtcClient | None = None
    try:
        host = await _running(served).signup("host")
        token = host.token
        async with httpx.AsyncClient() as client:
            auth = {"Authorization": f"Bearer {token}"}
            created = await client.post(
                served.url("/api/spaces"), json={"title": "Crashy"}, headers=auth
            )
            sid = created.json()["space"]["id"]
            speaker = WebRtcClient(served.url(""), token, sid, "whip", GeneratedTrack(tone(HZ)))
            assert (await speaker.connect()).status_code == 201
            await host.unmute_on_air(sid)
            folders = MediaFolders(tmp_path / "media")
            folder = folders.live(sid)
            index = folder / playlist.INDEX_PLAYLIST

            async def enough() -> bool:
                return index.is_file() and len(playlist.parse(index.read_text())[0]) >= 4

            await _until(enough)
            await asyncio.sleep(0.5)
            served.kill()
            await speaker.close()
            speaker = None

            listed, ended = playlist.parse(index.read_text())
            assert not ended and len(listed) >= 4
            before_s = playlist.total_duration_s(listed)
            # Every listed segment is whole: the tone plays through all of them.
            for segment in listed:
                data = (folder / playlist.init_name(1)).read_bytes() + (
                    folder / playlist.segment_name(segment.number)
                ).read_bytes()
                assert _decode(data).size >= 47 * 1024

            await served.start()  # the space is still live: its recording carries on

            async def resumed() -> bool:
                return len(playlist.parse(index.read_text())[0]) > len(listed)

            await _until(resumed)
            ended_space = await client.post(served.url(f"/api/spaces/{sid}/end"), headers=auth)
            assert ended_space.status_code == 200

            async def complete() -> bool:
                found = await client.get(served.url(f"/api/spaces/{sid}/recording"), headers=auth)
                return found.json()["recording"]["state"] == "complete"

            await _until(complete)
            download = await client.get(
                served.url(f"/api/spaces/{sid}/recording.m4a"), headers=auth
            )
            assert download.status_code == 200
    finally:
        if speaker is not None:
            await speaker.close()
        served.stop()

    # Ended: the segments left the live scope for the recording's.
    assert not folder.exists()
    index = folders.recording(sid) / playlist.INDEX_PLAYLIST
    final, closed = playlist.parse(index.read_text())
    assert closed and final[: len(listed)] == listed
    assert any(s.discontinuity and s.run == 2 for s in final)
    audio = _decode(download.content)
    assert audio.size / 48000 >= before_s
    # The audio up to the last complete segment before the crash is all there (the tone began
    # once the speaker connected, within the first second).
    window = audio[int(1.5 * 48000) : int((before_s - 0.1) * 48000)]
    assert tone_level(window * 32767, HZ) > 0.05


def _decode(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        return np.concatenate(
            [f.to_ndarray().reshape(-1).astype(np.float64) for f in container.decode(audio=0)]
        )
