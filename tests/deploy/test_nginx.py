"""The documented nginx configuration, run in Debian's nginx in front of a live space."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from media_support import tone_level
from parley import deploy
from parley.media import playlist, urls
from picture_support import encode, noise
from support import Running, free_port
from webrtc_client import GeneratedTrack, WebRtcClient, tone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
HZ = 440.0


def test_the_docs_show_the_packaged_configuration() -> None:
    text = DOCS.read_text()
    block = text.split("<!-- nginx-config -->\n```nginx\n", 1)[1].split("```\n", 1)[0]
    assert block == deploy.nginx_template()


def test_values_that_would_break_the_configuration_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not usable"):
        deploy.nginx_config(listen="80; evil", app="x:1", media_dir=tmp_path, secret="s")
    with pytest.raises(ValueError, match="not usable"):
        deploy.nginx_config(listen="80", app="x:1", media_dir=tmp_path, secret='a"b')


@pytest.fixture
def nginx(server: Running, tmp_path: Path) -> Iterator[str]:
    assert Path(NGINX).exists(), "nginx is installed by scripts/install.sh --test"
    settings = server.app.state.services.settings
    port = free_port()
    config = deploy.nginx_config(
        listen=f"127.0.0.1:{port}",
        app=server.base_url.removeprefix("http://"),
        media_dir=settings.media_dir,
        secret=settings.media_url_secret,
    )
    run_dir = tmp_path / "nginx"
    conf = run_dir / "nginx.conf"
    run_dir.mkdir()
    conf.write_text(deploy.standalone_nginx(config, run_dir, as_root=True))
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(run_dir)])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, (run_dir / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def test_a_live_space_plays_through_nginx(server: Running, nginx: str) -> None:
    proxied = Running(base_url=nginx, app=server.app, clock=server.clock, loop=server.loop)
    host = await proxied.signup("host")  # the API through nginx's proxy
    sid = (await host.create_space("Through nginx"))["id"]
    room = await host.socket(sid)  # the room WebSocket through nginx's upgrade
    await room.until_type("snapshot")
    speaker = WebRtcClient(nginx, host.token, sid, "whip", GeneratedTrack(tone(HZ)))
    assert (await speaker.connect()).status_code == 201  # WHIP through the proxy
    await host.unmute_on_air(sid)
    try:
        listen = await host.ok("GET", f"/api/spaces/{sid}/listen")
        async with httpx.AsyncClient(base_url=nginx) as anyone:
            deadline = time.monotonic() + 15
            while True:
                live = await anyone.get(listen["hls_url"])
                if live.status_code == 200 and len(playlist.parse(live.text)[0]) >= 3:
                    break
                assert time.monotonic() < deadline, live.text
                await asyncio.sleep(0.2)
            # nginx served it from the folder (its own ETag), with the app's headers.
            assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', live.headers["etag"])
            assert live.headers["content-type"] == "application/vnd.apple.mpegurl"
            assert live.headers["cache-control"] == "no-cache"
            segments, _ = playlist.parse(live.text)
            base = listen["hls_url"].rsplit("/", 1)[0]
            init = await anyone.get(f"{base}/{playlist.init_name(segments[-1].run)}")
            media = [
                await anyone.get(f"{base}/{playlist.segment_name(s.number)}") for s in segments[-2:]
            ]
            assert all(r.status_code == 200 for r in [init, *media])
            assert media[0].headers["cache-control"] == "public, max-age=31536000, immutable"
            assert media[0].headers["content-type"] == "audio/mp4"
            with av.open(io.BytesIO(init.content + b"".join(r.content for r in media))) as heard:
                audio = np.concatenate(
                    [f.to_ndarray().reshape(-1) for f in heard.decode(audio=0)]
                ).astype(np.float64)
            assert tone_level(audio * 32767, HZ) > 0.05

            # The signed link is checked by nginx as by the app.
            _, _, space, scope, holder, expires, signature, name = listen["hls_url"].split("/")
            assert holder == f"u{host.id}"
            base = f"/hls/{space}/{scope}/{holder}/{expires}"
            forged = await anyone.get(f"{base}/AAAA{signature[4:]}/{name}")
            assert forged.status_code == 403
            rescoped = f"/hls/{space}/replay/{holder}/{expires}/{signature}/{name}"
            assert (await anyone.get(rescoped)).status_code == 403
            # Another holder's name in the link: not the signed one.
            swapped = f"/hls/{space}/{scope}/u{host.id + 1}/{expires}/{signature}/{name}"
            assert (await anyone.get(swapped)).status_code == 403
            secret = server.app.state.services.settings.media_url_secret
            stale = urls.hls_url(int(space), "live", holder, int(time.time()) - 5, secret, name)
            assert (await anyone.get(stale)).status_code == 410
            hidden = await anyone.get(f"{base}/{signature}/timeline.jsonl")
            assert hidden.status_code == 404
        # ffprobe plays the live playlist from nginx.
        probed = await asyncio.to_thread(
            subprocess.run,
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
                nginx + listen["hls_url"],
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert set(probed.stdout.split()) == {"aac"}
        # And FFmpeg (ffplay's engine) follows the live playlist and decodes 3 s of it.
        played = await asyncio.to_thread(
            subprocess.run,
            [
                "ffmpeg",
                "-v",
                "error",
                "-i",
                nginx + listen["hls_url"],
                "-t",
                "3",
                "-f",
                "null",
                "-",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert played.returncode == 0 and not played.stderr.strip(), played.stderr
    finally:
        await speaker.close()
        await room.close()


TTL_S = 6


@pytest.mark.parley_settings(hls_live_url_ttl_s=TTL_S)
async def test_a_removed_listeners_link_dies_behind_nginx(server: Running, nginx: str) -> None:
    """nginx cannot ask who may still listen (issue 12): a removed listener's link works until
    it expires, and /listen gives them no new one, while another listener renews and goes on."""
    proxied = Running(base_url=nginx, app=server.app, clock=server.clock, loop=server.loop)
    host = await proxied.signup("host")
    alice = await proxied.signup("alice")
    bob = await proxied.signup("bob")
    sid = (await host.create_space("Short links"))["id"]
    await alice.join(sid)
    await bob.join(sid)
    alices = await alice.ok("GET", f"/api/spaces/{sid}/listen")
    bobs = await bob.ok("GET", f"/api/spaces/{sid}/listen")
    assert alices["hls_url"] != bobs["hls_url"]
    expires = datetime.fromisoformat(alices["hls_expires_at"]).timestamp()
    bob_expires = datetime.fromisoformat(bobs["hls_expires_at"]).timestamp()
    async with httpx.AsyncClient(base_url=nginx) as anyone:
        deadline = time.monotonic() + 15
        while (await anyone.get(alices["hls_url"])).status_code != 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        served = await anyone.get(bobs["hls_url"])
        assert served.status_code == 200 and "etag" in served.headers  # nginx's, not the app's
        await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/remove")
        assert (await alice.get(f"/api/spaces/{sid}/listen")).status_code == 403
        await asyncio.sleep(max(0.0, expires - 1.5 - time.time()))
        renewed = await bob.ok("GET", f"/api/spaces/{sid}/listen")
        await asyncio.sleep(max(0.0, max(expires, bob_expires) + 1.5 - time.time()))
        assert (await anyone.get(alices["hls_url"])).status_code == 410
        assert (await anyone.get(bobs["hls_url"])).status_code == 410
        again = await anyone.get(renewed["hls_url"])
        assert again.status_code == 200 and again.text.startswith("#EXTM3U")
        assert "etag" in again.headers


async def test_a_large_profile_picture_goes_through_nginx(server: Running, nginx: str) -> None:
    """nginx takes what the app takes: a picture of a few MiB (the app's own limit is 5 MiB) is
    not cut by the proxy's body size (it was 1 MiB: 413 from nginx)."""
    proxied = Running(base_url=nginx, app=server.app, clock=server.clock, loop=server.loop)
    user = await proxied.signup("pictured")
    big = encode(noise((800, 800)), "PNG")
    assert 1024 * 1024 < len(big) < 5 * 1024 * 1024
    answer = await user.request(
        "PUT", "/api/me/avatar", content=big, headers={"Content-Type": "image/png"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["avatar_url"] is not None
