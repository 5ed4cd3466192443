"""Live captions and transcripts in real browsers (issue 11, docs/captions.md).

A speaker's Chromium plays English speech made with espeak-ng through a fake microphone; the
server's speech engine captions it. A listener turns captions on and reads the speaker's words
with their name; the speaker is told their words are transcribed and can stop it for their own
voice. After the space, the replay shows the transcript in sync with the player: search, a line
seeks the audio, and a clip carries its own captions. axe finds nothing at 1280 and 360 px.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, expect

from browser_support import AUTOPLAY, fake_microphone

if TYPE_CHECKING:
    from conftest import Client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AUDIO_TIMEOUT_MS = 20_000
# The first captioned space loads the speech model; the engine then needs a pause in the speech
# to finish a line.
CAPTION_TIMEOUT_MS = 90_000
# Words of browser_support.SPEECH the engine recognises reliably.
SPEECH_WORDS = re.compile(r"stage|machine|listener|audio|parley|words", re.IGNORECASE)


def _no_axe_violations(client: Client, state: str) -> None:
    violations = client.axe_violations()
    assert violations == [], f"{state}: {violations}"


def _at_width(client: Client, width: int) -> None:
    client.page.set_viewport_size({"width": width, "height": 900 if width > 600 else 740})


def _final_lines(client: Client) -> Locator:
    return client.page.get_by_test_id("captions-log").locator(
        '[data-testid="caption-line"][data-final="true"]'
    )


def _speaker_line(client: Client, name: str) -> Locator:
    """A final caption line of `name` with words from the speech."""
    return _final_lines(client).filter(has_text=f"{name}:").filter(has_text=SPEECH_WORDS)


def test_a_listener_reads_live_captions_of_a_speaker(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str], speech_wav: Path
) -> None:
    host = new_client()
    host_handle = unique_handle("caphost")
    host.sign_up_via_api(host_handle, "Cora Host")

    # The create form: "Live captions" and the spoken language, the instance's default chosen.
    host.page.goto("/new")
    host.page.get_by_label("Title").fill("Captioned talk")
    expect(host.page.get_by_label("Spoken language")).to_have_count(0)
    host.page.get_by_label("Live captions").check()
    language = host.page.get_by_label("Spoken language")
    expect(language).to_have_value("en")
    names = language.locator("option").all_inner_texts()
    assert "English" in names and len(names) > 10, names
    _no_axe_violations(host, "create form with captions")
    host.page.get_by_role("button", name="Start now").click()
    expect(host.page).to_have_url(re.compile(r"/s/\d+$"))
    space_id = int(host.page.url.rsplit("/", 1)[1])
    space = host.api("GET", f"/api/spaces/{space_id}")["space"]
    assert space["captions"] is True and space["caption_language"] == "en", space

    # The host is on stage: told that what they say is transcribed.
    notice = host.page.get_by_test_id("captions-notice")
    expect(notice).to_contain_text("Captions are on: what you say is transcribed")

    speaker = new_client(browser_args=[*fake_microphone(speech_wav), AUTOPLAY])
    speaker_handle = unique_handle("capspk")
    speaker.sign_up_via_api(speaker_handle, "Sam Speaker")
    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("caplis"), "Lena Listener")
    room = f"/s/{space_id}"
    for client in (speaker, listener):
        client.page.goto(room)
        expect(client.page.get_by_test_id("space-state")).to_have_text("Live")
    # A listener is not on stage: no notice for them, and captions stay off until asked for.
    expect(listener.page.get_by_test_id("captions-notice")).to_have_count(0)
    cc = listener.page.get_by_test_id("captions-toggle")
    expect(cc).to_have_attribute("aria-pressed", "false")
    expect(listener.page.get_by_test_id("captions-panel")).to_have_count(0)

    # The speaker joins the stage and unmutes: they are told too.
    speaker.dock_button("Request to speak").click()
    host.approve(speaker_handle)
    speaker.dock_button("Unmute").click()
    expect(listener.stage_member(speaker_handle)).to_have_attribute(
        "data-muted", "false", timeout=AUDIO_TIMEOUT_MS
    )
    speaker_notice = speaker.page.get_by_test_id("captions-notice")
    expect(speaker_notice).to_contain_text("Captions are on: what you say is transcribed")
    expect(speaker_notice).to_have_attribute("data-captioned", "true")

    # The listener turns captions on (CC): the speaker's words arrive, with the speaker's name.
    cc.click()
    expect(cc).to_have_attribute("aria-pressed", "true")
    panel = listener.page.get_by_test_id("captions-panel")
    expect(panel).to_be_visible()
    log = listener.page.get_by_test_id("captions-log")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("aria-live", "off")  # screen readers are not flooded
    expect(_speaker_line(listener, "Sam Speaker").first).to_be_visible(timeout=CAPTION_TIMEOUT_MS)
    text = " ".join(_final_lines(listener).all_inner_texts()).lower()
    found = {w for w in ("stage", "machine", "listener", "audio", "words") if w in text}
    assert len(found) >= 2, text
    # The panel sits above the dock, never over it.
    panel_box, dock_box = panel.bounding_box(), listener.page.get_by_test_id("dock").bounding_box()
    assert panel_box and dock_box and panel_box["y"] + panel_box["height"] <= dock_box["y"] + 1

    # Settings: a larger text size and reading the final lines aloud (a polite live region).
    listener.page.get_by_test_id("captions-settings-toggle").click()
    listener.page.get_by_label("Text size").select_option("l")
    expect(panel).to_have_class(re.compile(r"caption-size-l"))
    aloud = listener.page.get_by_role("button", name="Read captions aloud")
    aloud.click()
    expect(aloud).to_have_attribute("aria-pressed", "true")
    expect(log).to_have_attribute("aria-live", "polite")
    # Partials (lighter) stay outside the live region.
    assert (
        listener.page.evaluate(
            "() => document.querySelectorAll('[data-testid=captions-log] .is-partial').length"
        )
        == 0
    )

    problems: dict[str, Any] = {}
    for width in (1280, 360):
        for client, who in ((listener, "listener"), (speaker, "speaker")):
            _at_width(client, width)
            for violation in client.axe_violations():
                problems[f"room as the {who} at {width}px: {violation['id']}"] = violation
            if width == 360 and client.has_horizontal_scroll():
                problems[f"room as the {who} at {width}px"] = "horizontal scroll"
            client.screenshot(f"captions-room-{who}")
    assert not problems, problems
    # At 360 px the dock is still whole under the panel.
    for name in ("React", "Share", "Leave"):
        expect(listener.dock_button(name)).to_be_in_viewport()

    # Remembered: after a reload the captions are still on, larger, and the last final lines
    # are there at once (the snapshot carries them).
    listener.page.reload()
    expect(listener.page.get_by_test_id("captions-toggle")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(listener.page.get_by_test_id("captions-panel")).to_have_class(
        re.compile("caption-size-l")
    )
    expect(_speaker_line(listener, "Sam Speaker").first).to_be_visible(timeout=5_000)

    # The speaker stops captioning their voice: the room shows them speaking without words.
    speaker.page.get_by_role("button", name="Stop captioning my voice").click()
    expect(speaker_notice).to_have_attribute("data-captioned", "false")
    expect(speaker_notice).to_contain_text("not for your voice")
    expect(speaker.page.get_by_test_id("announcer")).to_contain_text(
        "Your voice is no longer captioned"
    )
    uncaptioned = listener.page.get_by_test_id("captions-panel").get_by_text(
        re.compile(r"Sam Speaker (is speaking|spoke) \(not captioned\)")
    )
    expect(uncaptioned.first).to_be_visible(timeout=CAPTION_TIMEOUT_MS)
    listener.screenshot("captions-uncaptioned")
    speaker.page.get_by_role("button", name="Caption my voice").click()
    expect(speaker_notice).to_have_attribute("data-captioned", "true")

    # The host turns captions off from More: the CC toggle and the panel go for everyone.
    host.dock_button("More").click()
    sheet = host.page.get_by_test_id("more-sheet")
    switch = sheet.get_by_label("Live captions")
    expect(switch).to_be_checked()
    expect(sheet.get_by_label("Spoken language")).to_have_value("en")
    _no_axe_violations(host, "More sheet with caption settings")
    host.screenshot("captions-host-settings")
    switch.uncheck()
    expect(listener.page.get_by_test_id("captions-toggle")).to_have_count(0)
    expect(listener.page.get_by_test_id("captions-panel")).to_have_count(0)
    expect(speaker.page.get_by_test_id("captions-notice")).to_have_count(0)
    expect(listener.page.get_by_test_id("announcer")).to_contain_text("Live captions turned off")
    switch.check()
    expect(listener.page.get_by_test_id("captions-panel")).to_be_visible()


def test_the_replay_of_a_captioned_space_has_its_transcript(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str], speech_wav: Path
) -> None:
    host = new_client(browser_args=[*fake_microphone(speech_wav), AUTOPLAY])
    host_handle = unique_handle("trhost")
    host.sign_up_via_api(host_handle, "Tara Host")
    space = host.api(
        "POST",
        "/api/spaces",
        {"title": "Transcribed talk", "captions": True, "caption_language": "en"},
    )["space"]
    space_id = space["id"]
    room = f"/s/{space_id}"
    host.page.goto(room)
    host.dock_button("Unmute").click()
    expect(host.stage_member(host_handle)).to_have_attribute(
        "data-muted", "false", timeout=AUDIO_TIMEOUT_MS
    )
    # Speak until a few final lines are in the transcript.
    deadline = time.monotonic() + CAPTION_TIMEOUT_MS / 1000
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        lines = host.api("GET", f"/api/spaces/{space_id}/transcript")["transcript"]["lines"]
        if len(lines) >= 3:
            break
        time.sleep(2)
    assert len(lines) >= 3, lines

    # The space ends: the host finds the transcript's downloads beside the recording.
    host.api("POST", f"/api/spaces/{space_id}/end")
    host.page.goto(room)
    publish = host.page.get_by_test_id("replay-publish")
    expect(publish).to_be_visible(timeout=30_000)
    publish.click()
    expect(host.page.get_by_test_id("replay-published")).to_have_attribute("data-published", "true")
    downloads = host.page.get_by_test_id("space-transcript")
    expect(downloads).to_be_visible()
    for ext in ("vtt", "srt", "txt"):
        expect(downloads.get_by_test_id(f"transcript-download-{ext}")).to_have_attribute(
            "href", f"/api/spaces/{space_id}/transcript.{ext}"
        )
    _no_axe_violations(host, "ended space with its transcript")

    problems: dict[str, Any] = {}
    viewer = new_client(browser_args=[AUTOPLAY])
    viewer.sign_up_via_api(unique_handle("trview"), "Vic Viewer")
    page = viewer.page
    page.goto(f"/spaces/{space_id}/replay")
    expect(page.get_by_role("heading", level=1, name="Transcribed talk")).to_be_visible()
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_be_visible(timeout=AUDIO_TIMEOUT_MS)
    rows = transcript.get_by_test_id("transcript-line")
    expect(rows.first).to_contain_text("Tara Host:")
    total = rows.count()
    assert total >= 3, total
    # A listener who did not speak reads it but gets no downloads.
    expect(page.get_by_test_id("transcript-downloads")).to_have_count(0)

    # A line seeks the player to where it starts, and is marked as the one playing.
    target = rows.nth(2)
    start = float(target.get_attribute("data-start") or 0)
    target.click()
    page.wait_for_function(
        """(at) => { const a = document.querySelector('[data-testid="replay-audio"]');
        return a && a.currentTime >= at - 0.3 && a.currentTime < at + 3; }""",
        arg=start,
        timeout=AUDIO_TIMEOUT_MS,
    )
    expect(
        transcript.locator('[data-testid="transcript-line"][aria-current="true"]')
    ).to_have_count(1)

    # CC shows the line playing now under the player.
    cc = page.get_by_test_id("cc-toggle")
    if cc.get_attribute("aria-pressed") != "true":
        cc.click()
    expect(cc).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("caption-now")).to_contain_text(
        "Tara Host:", timeout=AUDIO_TIMEOUT_MS
    )

    # Search filters the lines and marks the words.
    search = page.get_by_label("Search the transcript")
    search.fill("machine")
    matching = transcript.get_by_test_id("transcript-line")
    expect(matching.first).to_be_visible()
    assert 0 < matching.count() < total
    expect(matching.first.locator("mark").first).to_have_text(re.compile("machine", re.IGNORECASE))
    expect(page.get_by_test_id("transcript-count")).to_contain_text("match")
    search.fill("zzzz no such words")
    expect(transcript.get_by_test_id("transcript-line")).to_have_count(0)
    expect(page.get_by_test_id("transcript-count")).to_contain_text("No line matches")
    search.fill("")
    expect(transcript.get_by_test_id("transcript-line")).to_have_count(total)

    for width in (1280, 360):
        _at_width(viewer, width)
        for found in viewer.axe_violations():
            problems[f"replay page {width}px: {found['id']}"] = found
        if width == 360 and viewer.has_horizontal_scroll():
            problems[f"replay page {width}px"] = "horizontal scroll"
        viewer.screenshot("captions-replay")
    assert not problems, problems

    # A clip from a line carries its captions, on the clip's own clock.
    _at_width(viewer, 1280)
    rows.nth(1).click()
    page.get_by_role("button", name="Clip 30 s from here").click()
    link = page.get_by_test_id("clip-link")
    expect(link).to_be_visible(timeout=30_000)
    clip_url = link.get_attribute("href")
    assert clip_url
    page.goto(clip_url)
    clip_lines = page.get_by_test_id("transcript-line")
    expect(clip_lines.first).to_be_visible(timeout=AUDIO_TIMEOUT_MS)
    assert float(clip_lines.first.get_attribute("data-start") or -1) < 30
    for width in (1280, 360):
        _at_width(viewer, width)
        assert viewer.axe_violations() == [], f"clip page at {width}px"
        if width == 360:
            assert not viewer.has_horizontal_scroll()
        viewer.screenshot("captions-clip")
