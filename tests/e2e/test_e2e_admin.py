"""Trust and safety in the browser: a report from someone's card in a live room, the admin desk
deciding it with its evidence, and the reporter hearing back in their notices (with the badge)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PARLEY = REPO / ".venv" / "bin" / "parley"
# Screenshots for a reviewer to look at (not kept in the repository).
SHOTS = Path(os.environ.get("PARLEY_SHOTS", "/tmp/shots"))


@pytest.fixture
def grant(
    parley_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], None]:
    """Gives an account an instance role as the operator does (`parley admin grant`), on the
    session's server: its data directory is the one parley-data folder of this session."""
    base = tmp_path_factory.getbasetemp()
    folders = [p for p in base.glob("parley-data*") if re.fullmatch(r"parley-data\d+", p.name)]
    assert len(folders) == 1, folders
    data_dir = folders[0]

    def run(handle: str, role: str) -> None:
        env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir)}
        done = subprocess.run(
            [str(PARLEY), "admin", "grant", handle, "--role", role],
            env=env,
            cwd=data_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    return run


def shoot(client: Client, name: str) -> None:
    """The page at 1280 and at 360 px wide, under SHOTS; no sideways scrolling at 360."""
    page = client.page
    size = page.viewport_size or {"width": 1280, "height": 900}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900 if width > 360 else 780})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=width == 1280)
        if width == 360:
            assert not client.has_horizontal_scroll(), f"{name} scrolls sideways at 360 px"
    page.set_viewport_size(size)


def serious(violations: list[dict[str, object]]) -> list[dict[str, object]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_report_decide_and_hear_back(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    grant: Callable[[str, str], None],
) -> None:
    host = new_client()
    host_handle = unique_handle("thost")
    host.sign_up_via_api(host_handle, "Tess Host")
    space = host.api("POST", "/api/spaces", {"title": "Rough talk"})["space"]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    expect(host.stage_member(host_handle)).to_be_visible()

    reporter = new_client()
    reporter_handle = unique_handle("rrep")
    reporter.sign_up_via_api(reporter_handle, "Rita Reporter")
    reporter.page.goto(room)
    expect(reporter.stage_member(host_handle)).to_be_visible()

    # From the host's card: report what they just said (a moment of the live space).
    card = reporter.person(host_handle)
    card.get_by_role("button", name="Report what they just said").click()
    dialog = reporter.page.get_by_test_id("report-dialog")
    expect(dialog.get_by_role("heading", name=f"Report what @{host_handle} said")).to_be_visible()
    # "Other" needs a note: said next to the field, before anything is sent.
    dialog.get_by_label("Other").check()
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.locator("#report-note-error")).to_be_visible()
    expect(dialog.get_by_label(re.compile("^What happened"))).to_be_focused()
    dialog.get_by_label("Harassment").check()
    dialog.get_by_label(re.compile("^What happened")).fill("Insulted a listener by name.")
    shoot(reporter, "report-dialog")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_test_id("report-thanks")).to_have_text(
        "Thanks — the moderators will review it. You’ll hear back in your notices."
    )
    shoot(reporter, "report-dialog-sent")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_have_count(0)
    # The receipt is a notice already: the badge says so.
    expect(reporter.page.get_by_test_id("unread-badge")).to_have_text(re.compile(r"^1"))
    mine = reporter.api("GET", "/api/reports/mine")["reports"]
    assert [(r["kind"], r["reason"], r["state"]) for r in mine] == [
        ("moment", "harassment", "open")
    ]
    report_id = mine[0]["id"]

    # Members have no desk: no link, and the page says so.
    expect(reporter.page.get_by_role("link", name="Admin")).to_have_count(0)

    moderator = new_client()
    moderator_handle = unique_handle("mmod")
    moderator.sign_up_via_api(moderator_handle, "Mo Moderator")
    grant(moderator_handle, "moderator")
    moderator.page.goto("/")
    moderator.page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page = moderator.page
    expect(page.get_by_role("heading", level=1, name="Admin desk")).to_be_visible()
    # A moderator's desk: the queue only (accounts, invites and the audit log are for admins).
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    report = page.locator(f'[data-testid="report"][data-report-id="{report_id}"]')
    expect(
        report.get_by_role("heading", name=re.compile(f"Harassment.*@{host_handle}"))
    ).to_be_visible()
    expect(report).to_contain_text("Insulted a listener by name.")
    expect(report).to_contain_text("Rough talk")
    expect(report).to_contain_text("the reported user was the host")
    expect(report.get_by_test_id("earlier-reports")).to_have_text("No earlier reports.")
    evidence = moderator.api("GET", f"/api/admin/reports/{report_id}")["report"]["evidence"]
    if evidence["audio_url"]:
        expect(report.get_by_test_id("evidence-audio")).to_have_attribute(
            "src", evidence["audio_url"]
        )
    assert not serious(moderator.axe_violations())
    shoot(moderator, "admin-desk")

    # A severe decision asks first; going back leaves the report open.
    report.get_by_label("Suspend the account").check()
    report.get_by_role("button", name="Suspend the account").click()
    expect(
        report.get_by_role("group", name=re.compile(f"Suspend @{host_handle} for 7 days"))
    ).to_be_visible()
    report.get_by_role("button", name="Go back").click()

    # Warn: the message is needed, then it goes.
    report.get_by_label("Warn the user").check()
    report.get_by_role("button", name="Warn the user").click()
    expect(report.get_by_label(f"Warning to @{host_handle}")).to_be_focused()
    report.get_by_label(f"Warning to @{host_handle}").fill("Keep it civil on stage.")
    report.get_by_label(re.compile("^Reason")).fill("Insults on stage")
    report.get_by_role("button", name="Warn the user").click()
    expect(report.get_by_test_id("report-closed")).to_contain_text("Decided: Warn")
    decided = moderator.api("GET", f"/api/admin/reports/{report_id}")["report"]
    assert (decided["state"], decided["outcome"]) == ("actioned", "warn")

    # The reporter hears back: two unread notices, read once the page shows them.
    reporter.page.goto("/")
    badge = reporter.page.get_by_test_id("unread-badge")
    expect(badge).to_have_text(re.compile(r"^2"))
    reporter.page.get_by_test_id("nav-notices").click()
    notices = reporter.page.get_by_test_id("notice")
    expect(notices).to_have_count(2)
    expect(notices.first).to_contain_text("took action")
    expect(notices.first).to_contain_text("New")
    expect(reporter.page.get_by_test_id("my-report-state")).to_have_text(
        "Reviewed: the moderators took action"
    )
    expect(badge).to_have_count(0)
    assert not serious(reporter.axe_violations())
    shoot(reporter, "notices")

    # The warned host reads the warning in their own notices.
    host.page.goto("/notices")
    expect(host.page.get_by_test_id("notice").first).to_contain_text(
        "A warning from the moderators: Keep it civil on stage."
    )


def test_space_moderation_log_for_the_host(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("lhost")
    host.sign_up_via_api(host_handle, "Lee Host")
    space = host.api("POST", "/api/spaces", {"title": "Logged room"})["space"]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    expect(host.stage_member(host_handle)).to_be_visible()

    guest = new_client()
    guest_handle = unique_handle("lguest")
    guest.sign_up_via_api(guest_handle, "Gil Guest")
    guest.page.goto(room)
    expect(guest.page.get_by_test_id("space-state")).to_have_text("Live")

    card = host.person(guest_handle)
    card.get_by_role("button", name="Remove Gil Guest").click()
    card.get_by_role("button", name="Yes, remove Gil Guest").click()
    expect(guest.page.get_by_test_id("space-state")).to_have_text(
        "You were removed from this space"
    )
    host.dock_button("More").click()
    host.page.get_by_test_id("more-sheet").get_by_role("button", name="Moderation log").click()
    log = host.page.get_by_test_id("moderation-log")
    expect(log).to_contain_text(f"@{guest_handle}")
    expect(log).to_contain_text(f"@{host_handle}")


def test_admin_invites_and_audit_log(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    grant: Callable[[str, str], None],
) -> None:
    admin = new_client()
    admin_handle = unique_handle("aadm")
    admin.sign_up_via_api(admin_handle, "Ada Admin")
    grant(admin_handle, "admin")
    page = admin.page
    page.goto("/admin")
    tabs = page.get_by_role("navigation", name="Admin desk")
    tabs.get_by_role("link", name="Accounts and invites").click()
    expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    page.get_by_label("How many codes").fill("2")
    page.get_by_role("button", name="Make codes").click()
    expect(page.get_by_test_id("invites").locator("li")).to_have_count(2)
    # A bad count is named next to its field.
    page.get_by_label("How many codes").fill("0")
    page.get_by_role("button", name="Make codes").click()
    expect(page.locator("#inv-count-error")).to_be_visible()
    shoot(admin, "admin-accounts")

    tabs.get_by_role("link", name="Audit log").click()
    table = page.get_by_test_id("audit-table")
    expect(table).to_contain_text("Create invite")
    expect(table).to_contain_text(f"@{admin_handle}")
    expect(page.get_by_test_id("audit-csv")).to_have_attribute("href", "/api/admin/audit.csv")
    assert not serious(admin.axe_violations())
    shoot(admin, "admin-audit")
