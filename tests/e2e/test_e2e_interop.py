"""A page of another origin publishes and listens with WHIP/WHEP libraries none of us wrote:
@eyevinn/whip-web-client (WHIP) and medooze's whip-whep (WHEP), pinned from npm
(tests/e2e/interop). The speaker's speech is measured in the listener's page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from browser_support import AUTOPLAY, MEASURE_AUDIO_JS, SPEAKING_MIN_RMS, fake_microphone

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


def _token(client: Client) -> str:
    token: str = client.api("POST", "/api/me/tokens", {"name": "third-party page"})["token"]
    return token


def test_a_page_of_another_origin_publishes_and_listens(
    new_client: Callable[..., Client],
    parley_server: str,
    interop_page: str,
    speech_wav: Path,
    unique_handle: Callable[[str], str],
) -> None:
    host = new_client(browser_args=fake_microphone(speech_wav))
    host.sign_up_via_api(unique_handle("onair"), "On Air")
    space = host.api("POST", "/api/spaces", {"title": "From another site"})["space"]
    sid = space["id"]
    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("ear"), "Ear")
    listener.api("POST", f"/api/spaces/{sid}/join")

    # Only the third-party libraries talk to Parley from here, across origins.
    host.page.goto(interop_page)
    assert not host.page.url.startswith(parley_server)
    published = host.page.evaluate(
        "([endpoint, token]) => publishWithWhip(endpoint, token)",
        [f"{parley_server}/api/spaces/{sid}/whip?unmute=true", _token(host)],
    )
    assert published == "publishing"
    listener.page.goto(interop_page)
    listening = listener.page.evaluate(
        "([endpoint, token]) => listenWithWhep(endpoint, token)",
        [f"{parley_server}/api/spaces/{sid}/whep", _token(listener)],
    )
    assert listening == "listening"

    last: dict[str, Any] | None = None
    for _ in range(12):
        last = listener.page.evaluate(MEASURE_AUDIO_JS, ["#heard", False, 1500])
        if last is not None and last["rms"] > SPEAKING_MIN_RMS:
            break
    assert last is not None and last["rms"] > SPEAKING_MIN_RMS, last
    # The listener's only connection is the WHEP session of the third-party page: it is their
    # presence (the host's too, unmuted by the query: the speech above).
    present = host.api("GET", f"/api/spaces/{sid}/listeners")["listeners"]
    assert [m["user"]["display_name"] for m in present] == ["Ear"]
