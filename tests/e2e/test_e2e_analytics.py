"""Host analytics in a real browser (issue 14): a listener comes from a home-page card (the room
tells the server `via=home`) and reacts; the host opens the space's analytics from the room and
reads the right figures in the headline and in the charts' tables, downloads the CSV, and finds
the space on their own /analytics page; a listener is refused with a clear message; playing the
replay reports a play. Screenshots at 1280 and 360 px go to /tmp/h5-shots (or
PARLEY_ANALYTICS_SHOTS), axe runs on each page."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, Page, expect

from browser_support import AUTOPLAY

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("PARLEY_ANALYTICS_SHOTS", "/tmp/h5-shots"))
# The server writes the figures every few seconds (analytics_flush_s, 5 s by default).
FIGURES_TIMEOUT_S = 40.0
RECORDING_TIMEOUT_S = 30.0


def _get(client: Client, path: str) -> tuple[int, Any]:
    response = client.context.request.get(path)
    text = response.text()
    return response.status, (json.loads(text) if text else None)


def _until_figures(host: Client, sid: int, check: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + FIGURES_TIMEOUT_S
    while True:
        status, body = _get(host, f"/api/spaces/{sid}/analytics")
        assert status == 200, body
        figures = body["analytics"]["figures"]
        if figures is not None and check(figures):
            return figures
        assert time.monotonic() < deadline, f"figures never matched: {figures}"
        time.sleep(1.0)


def _until_recording(host: Client, sid: int, state: str) -> None:
    deadline = time.monotonic() + RECORDING_TIMEOUT_S
    while True:
        status, body = _get(host, f"/api/spaces/{sid}/recording")
        if status == 200 and body["recording"]["state"] == state:
            return
        assert time.monotonic() < deadline, f"recording never {state}: {body}"
        time.sleep(0.3)


def _cell(table: Locator, row_header: str) -> Locator:
    """The value cell of the row named `row_header` in a chart's data table."""
    row = table.locator("tbody tr").filter(
        has=table.page.get_by_role("rowheader", name=row_header, exact=True)
    )
    return row.locator("td").first


def _show_data(panel: Locator) -> None:
    panel.locator("details.chart-data summary").first.click()


def _final_figures(host: Client, sid: int) -> dict[str, Any]:
    status, body = _get(host, f"/api/spaces/{sid}/analytics")
    assert status == 200, body
    figures: dict[str, Any] = body["analytics"]["figures"]
    return figures


def _check_retention(page: Page, figures: dict[str, Any]) -> None:
    """The retention panel as the figures say: too short a space has no curve; else the curve,
    and a table with the listeners each share is of, "—" where there were none."""
    panel = page.get_by_test_id("chart-retention")
    if len(figures["retention"]) < 3:
        expect(panel.get_by_test_id("retention-too-short")).to_contain_text(
            "Too short for a retention curve"
        )
        expect(panel.get_by_role("img")).to_have_count(0)
        return
    expect(panel.get_by_role("img")).to_have_attribute(
        "aria-label",
        re.compile(r"^Retention, the share of listeners whose listening time reached each minute"),
    )
    _show_data(panel)
    table = panel.get_by_test_id("retention-table")
    expect(table.locator("caption")).to_contain_text("among those who came at least")
    expect(table.locator("thead th")).to_have_text(
        ["Minutes listened", "Share of listeners", "Listeners counted"]
    )
    for point in figures["retention"]:
        row = table.locator("tbody tr").filter(
            has=page.get_by_role("rowheader", name=f"{point['minute']} min", exact=True)
        )
        cells = row.locator("td")
        expect(cells.nth(1)).to_have_text(str(point["listeners"]))
        if point["listeners"] == 0:
            expect(cells.nth(0)).to_have_text("—")
    if any(point["listeners"] == 0 for point in figures["retention"]):
        expect(panel.get_by_test_id("retention-table-note")).to_contain_text("—: no listener")


def _check_page(client: Client, name: str) -> None:
    """Axe finds nothing, no sideways scroll at a phone's width (the page or a table in it); a
    screenshot at each width, with the charts' data open."""
    for width, height in ((1280, 900), (360, 740)):
        client.page.set_viewport_size({"width": width, "height": height})
        violations = client.axe_violations()
        assert violations == [], f"{name} at {width} px: {violations}"
        assert not client.has_horizontal_scroll(), f"{name} at {width} px"
        # Nothing cut off inside a box either: every chart's data shown, no table scrolls sideways.
        wide = client.page.evaluate(
            """() => {
                document.querySelectorAll('details.chart-data').forEach((d) => { d.open = true; });
                return [...document.querySelectorAll('.table-scroll')]
                    .filter((e) => e.scrollWidth > e.clientWidth)
                    .map((e) => e.getAttribute('aria-label'));
            }"""
        )
        assert wide == [], f"{name} at {width} px: sideways scroll in {wide}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        client.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    client.page.set_viewport_size({"width": 1280, "height": 900})


def test_host_reads_a_spaces_figures_and_their_own_period(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("anhost")
    host.sign_up_via_api(host_handle, "Ana Host")
    sid = host.api("POST", "/api/spaces", {"title": "Figures on show", "topics": ["stats"]})[
        "space"
    ]["id"]
    host.page.goto(f"/s/{sid}")
    expect(host.stage_member(host_handle)).to_be_visible()

    # A listener opens the space from its card on the home page: the room says `via=home`.
    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("anlis"), "Lee Listener")
    sockets: list[str] = []
    listener.page.on("websocket", lambda ws: sockets.append(ws.url))
    listener.page.goto("/")
    card = (
        listener.page.get_by_test_id("spaces-live")
        .get_by_test_id("space-card")
        .filter(has_text="Figures on show")
    )
    link = card.get_by_role("link", name="Figures on show")
    # The card's address stays clean (copied, it says nothing of where it was found).
    expect(link).to_have_attribute("href", f"/s/{sid}")
    link.click()
    expect(listener.page.get_by_test_id("space-state")).to_have_text("Live")
    # In the room: the socket's snapshot shows the stage.
    expect(listener.stage_member(host_handle)).to_be_visible()
    # The hint reached the server, and left the address bar (a copied link does not carry it).
    assert any(re.search(rf"/api/spaces/{sid}/ws\?(.*&)?via=home", url) for url in sockets), sockets
    expect(listener.page).to_have_url(re.compile(rf"/s/{sid}$"))

    # Two reactions.
    listener.dock_button("React").click()
    listener.page.get_by_role("button", name="React with fire").click()
    listener.page.get_by_role("button", name="React with clapping hands").click()
    figures = _until_figures(
        host,
        sid,
        lambda f: (
            f["audience"]["unique_listeners"] == 1
            and f["audience"]["arrivals"]["home"] == 1
            and sum(f["interactions"]["reactions"].values()) == 2
        ),
    )
    assert figures["audience"]["unique_visitors"] == 0
    assert figures["total_interactions"] == 2

    # The host finds Analytics among the room's host tools.
    host.dock_button("More").click()
    host.page.get_by_test_id("more-sheet").get_by_test_id("room-analytics").click()
    page = host.page
    expect(page).to_have_url(re.compile(rf"/s/{sid}/analytics$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Figures on show")
    expect(page.get_by_test_id("analytics-live")).to_have_text("Live")
    expect(page.get_by_test_id("stat-unique_listeners-value")).to_have_text("1")
    expect(page.get_by_test_id("stat-unique_visitors-value")).to_have_text("0")
    expect(page.get_by_test_id("stat-peak_listeners-value")).to_have_text("1")
    expect(page.get_by_test_id("stat-total_interactions-value")).to_have_text("2")
    expect(page.get_by_test_id("stat-reactions-value")).to_have_text("2")
    # Each chart is an image named by its summary, with its data as a table.
    arrivals = page.get_by_test_id("chart-arrivals")
    expect(arrivals.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"How people arrived: A link 0, Home page 1,")
    )
    _show_data(arrivals)
    table = arrivals.get_by_test_id("chart-arrivals-table")
    expect(table.locator("caption")).to_have_text("How people arrived")
    expect(_cell(table, "Home page")).to_have_text("1")
    expect(_cell(table, "A link")).to_have_text("0")
    reactions = page.get_by_test_id("interactions")
    _show_data(reactions)
    expect(_cell(reactions.get_by_test_id("reactions-table"), "🔥")).to_have_text("1")
    expect(_cell(reactions.get_by_test_id("reactions-table"), "👏")).to_have_text("1")
    listeners = page.get_by_test_id("chart-listeners")
    expect(listeners.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"peak 1 listener at")
    )
    _show_data(listeners)
    # Times carry their units ("10 s", "1 min 5 s"), not a bare clock.
    expect(listeners.get_by_test_id("listeners-table").locator("tbody tr th").first).to_have_text(
        re.compile(r"^(\d+ min )?\d+ s$|^\d+ min$")
    )
    expect(page.get_by_test_id("stat-peak_listeners")).to_contain_text(
        re.compile(r"\d+ (s|min)[^:]* into the space")
    )
    expect(page.get_by_test_id("stat-speakers-note")).to_have_text(
        "heard on stage with the microphone on"
    )
    # Live, a space younger than 2 minutes has no curve yet.
    expect(page.get_by_test_id("retention-too-short")).to_contain_text(
        "Too short for a retention curve"
    )

    # The CSV download holds the same figures.
    with page.expect_download() as download_info:
        page.get_by_test_id("analytics-csv").click()
    download = download_info.value
    assert download.suggested_filename == f"space-{sid}-analytics.csv"
    rows = {
        (row[0], row[1]): row[2]
        for row in csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig")))
        if len(row) >= 3
    }
    assert rows[("audience", "unique_listeners")] == "1"
    assert rows[("arrival", "home")] == "1"
    assert rows[("reactions", "🔥")] == "1"
    _check_page(host, "space-analytics-live")
    # While live the page asks again every 10 s: a new reaction shows without a reload.
    listener.api("POST", f"/api/spaces/{sid}/reactions", {"emoji": "❤️"})
    expect(page.get_by_test_id("stat-reactions-value")).to_have_text("3", timeout=30_000)
    expect(page.get_by_test_id("stat-total_interactions-value")).to_have_text("3")

    # Someone who does not host it is told so, not shown a broken page.
    other = new_client()
    other.sign_up_via_api(unique_handle("anoth"), "Oli Other")
    other.page.goto(f"/s/{sid}/analytics")
    expect(other.page.get_by_test_id("analytics-forbidden")).to_contain_text(
        "Only the host and co-hosts of this space see its analytics."
    )
    _check_page(other, "space-analytics-refused")

    # The end: the ended room offers the analytics to its host; their period lists the space.
    host.api("POST", f"/api/spaces/{sid}/end")
    host.page.goto(f"/s/{sid}")
    host.page.get_by_test_id("space-analytics-link").click()
    expect(host.page.get_by_test_id("space-analytics")).to_have_attribute("data-live", "false")
    expect(host.page.get_by_test_id("stat-unique_listeners-value")).to_have_text("1")
    # Started first, then ended; final figures say nothing of "yet".
    expect(host.page.get_by_test_id("analytics-when")).to_have_text(
        re.compile(r"^Started .+ · ended .+")
    )
    final = _final_figures(host, sid)
    if not final["talk"]:
        expect(host.page.get_by_test_id("talk-none")).to_have_text("Nobody was heard speaking.")
    _check_retention(host.page, final)
    _check_page(host, "space-analytics-ended")

    host.page.goto(f"/u/{host_handle}")
    host.page.get_by_test_id("profile-analytics").click()
    expect(host.page.get_by_role("heading", level=1)).to_have_text("Your analytics")
    host.page.get_by_test_id("period-7").click()
    expect(host.page).to_have_url(re.compile(r"/analytics\?days=7$"))
    expect(host.page.get_by_test_id("period-7")).to_have_attribute("aria-current", "page")
    row = host.page.get_by_test_id("host-space").and_(host.page.locator(f'[data-space-id="{sid}"]'))
    expect(row.get_by_role("link", name="Figures on show")).to_have_attribute(
        "href", f"/s/{sid}/analytics"
    )
    expect(row.locator("td").nth(1)).to_have_text("1")  # listeners
    expect(host.page.get_by_test_id("stat-spaces-value")).to_have_text("1")
    # The peak names its space; a new host has nothing before: said once, not on each figure.
    expect(host.page.get_by_test_id("peak-space").get_by_role("link")).to_have_attribute(
        "href", f"/s/{sid}/analytics"
    )
    expect(host.page.get_by_test_id("peak-space")).to_have_text("in Figures on show")
    expect(host.page.get_by_test_id("no-comparison")).to_have_text(
        "No spaces in the previous 7 days to compare with."
    )
    expect(host.page.get_by_test_id("host-analytics")).not_to_contain_text("No earlier data")
    expect(host.page.get_by_test_id("change-spaces")).to_have_count(0)
    # A phone: each space stacks, nothing scrolls sideways inside the list, the title is whole.
    host.page.set_viewport_size({"width": 360, "height": 740})
    spaces_box = host.page.get_by_role("region", name="Table of your spaces")
    overflow = spaces_box.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 0, f"the spaces list scrolls sideways by {overflow} px at 360 px"
    link_box = row.get_by_role("link", name="Figures on show").bounding_box()
    assert link_box is not None
    assert link_box["x"] + link_box["width"] <= 360
    # The figures keep their names beside them once the header row is out of sight.
    cell = row.locator("td").nth(1)
    expect(cell).to_have_attribute("data-label", "Listeners")
    label = cell.evaluate("e => getComputedStyle(e, '::before').content")
    assert label not in ("none", "normal", ""), label
    host.page.set_viewport_size({"width": 1280, "height": 900})
    with host.page.expect_download() as download_info:
        host.page.get_by_test_id("analytics-csv").click()
    lines = list(
        csv.DictReader(
            io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))
        )
    )
    assert str(sid) in [line["space_id"] for line in lines]
    _check_page(host, "host-analytics")

    # The replay: its page reports a play when the player starts.
    _until_recording(host, sid, "complete")
    host.api("POST", f"/api/spaces/{sid}/replay")
    listener.page.goto(f"/spaces/{sid}/replay")
    audio = listener.page.get_by_test_id("replay-audio")
    expect(audio).to_be_visible()
    with listener.page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith(f"/api/spaces/{sid}/replay/plays"),
        timeout=20_000,
    ):
        audio.evaluate("a => a.play()")
    _until_figures(host, sid, lambda f: f["interactions"]["replay_plays"] == 1)
