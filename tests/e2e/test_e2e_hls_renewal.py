"""Short-lived live HLS links in a real browser (issue 12): hls.js plays a live space across many
renewals of its per-listener link without stalling, reloading or meeting an expired link."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Response, expect

from browser_support import AUTOPLAY, fake_microphone, hls_heard
from support import free_port

if TYPE_CHECKING:
    from conftest import Client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PARLEY = REPO / ".venv" / "bin" / "parley"
TIMEOUT_MS = 30_000
# The client renews a quarter of the life early, at least 5 s after the last: every 6 s here.
TTL_S = 8
# Longer than the client's window of old folders (8) times the renewal period: the folder
# hls.js was loaded from must still be moved after that many renewals.
PLAY_S = 62.0


@pytest.fixture(scope="module")
def parley_server(tmp_path_factory: pytest.TempPathFactory, built_client: Path) -> Iterator[str]:
    """A server of its own, whose live links live TTL_S (the shared one keeps the default)."""
    data_dir = tmp_path_factory.mktemp("parley-short-links")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PASSWORD_TIME_COST": "1",
        "PARLEY_PASSWORD_MEMORY_KIB": "8192",
        "PARLEY_HLS_LIVE_URL_TTL_S": str(TTL_S),
    }
    log_path = data_dir.parent / "parley-short-links.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PARLEY), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/api/health", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, log_path.read_text()[-4000:]
                assert time.monotonic() < deadline, log_path.read_text()[-4000:]
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_hls_plays_on_across_renewals_of_a_short_lived_link(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    speech_wav: Path,
) -> None:
    host = new_client(browser_args=[*fake_microphone(speech_wav), AUTOPLAY])
    host.sign_up_via_api(unique_handle("renewhost"), "Rena Host")
    space = host.api("POST", "/api/spaces", {"title": "Renewals"})["space"]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    host.dock_button("Unmute").click()
    expect(host.page.get_by_test_id("audio-status")).to_have_attribute(
        "data-audio-kind", "whip", timeout=TIMEOUT_MS
    )

    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("renewlis"), "Len Listener")
    page = listener.page
    folders: list[str] = []
    refused: list[str] = []

    def seen(response: Response) -> None:
        path = response.url.split("://", 1)[1].split("/", 1)[1]
        if not path.startswith("hls/"):
            return
        folder = path.rsplit("/", 1)[0]
        if folder not in folders:
            folders.append(folder)
        if response.status >= 400:
            refused.append(f"{response.status} {path}")

    page.on("response", seen)
    page.goto(room)
    status = page.get_by_test_id("audio-status")
    listener.dock_button("More").click()
    page.get_by_label("Playback").select_option("hls")
    expect(status).to_have_attribute("data-playback", "hls", timeout=TIMEOUT_MS)
    hls_heard(page)

    # Play on: time never stands still for long, nothing reconnects, no link is refused.
    hls_time = """() => document.querySelector('audio[data-testid="hls-audio"]').currentTime"""
    # hls.js attaches a new MediaSource (a new blob: URL) each time a player is made again.
    hls_source = """() => document.querySelector('audio[data-testid="hls-audio"]').src"""
    players = {page.evaluate(hls_source)}
    start = time.monotonic()
    last_time = page.evaluate(hls_time)
    last_advance = time.monotonic()
    longest_stall_s = 0.0
    statuses: set[str | None] = set()
    while time.monotonic() - start < PLAY_S:
        page.wait_for_timeout(250)
        now_time = page.evaluate(hls_time)
        if now_time > last_time:
            last_time, last_advance = now_time, time.monotonic()
        longest_stall_s = max(longest_stall_s, time.monotonic() - last_advance)
        statuses.add(status.get_attribute("data-audio-status"))
        players.add(page.evaluate(hls_source))
        assert status.get_attribute("data-playback") == "hls"
    renewals = len(folders) - 1
    assert renewals >= 9, folders
    assert not refused, refused
    assert longest_stall_s < 1.5, longest_stall_s
    assert len(players) == 1, players  # never torn down and made again
    # ("reconnecting" may flash on a 'waiting' event of a loaded machine: the stall above is
    # what one hears.)
    assert statuses <= {"connected", "reconnecting"}, statuses
    # Every folder names this listener, and later ones are still the one player's requests.
    assert len({folder.split("/")[3] for folder in folders}) == 1, folders
    heard = hls_heard(page)
    assert not heard["paused"], heard
