"""End-to-end fixtures: the real `parley serve` in a subprocess and Debian's Chromium.

The server runs once per session on a free port with its own data directory and cheap
password hashing. If the browser client has not been built, or is older than its sources in
web/, it is built first (`npm run build`), since the server serves it from src/parley/static.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from browser_support import CHROMIUM, CHROMIUM_ARGS, PASSWORD, SPEECH
from support import free_port

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
INTEROP = REPO / "tests" / "e2e" / "interop"
STATIC_INDEX = REPO / "src" / "parley" / "static" / "index.html"
PARLEY = REPO / ".venv" / "bin" / "parley"
AXE_JS = WEB / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots the browser tests keep for reviewers (ignored by git).
ARTIFACTS = Path(os.environ.get("PARLEY_TEST_ARTIFACTS", REPO / "test-artifacts"))
SERVER_START_TIMEOUT_S = 60.0
DEFAULT_TIMEOUT_MS = 10_000

expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


def _health_ok(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/api/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _client_is_stale() -> bool:
    """No build yet, or a source file in web/ is newer than the build."""
    if not STATIC_INDEX.exists():
        return True
    built_at = STATIC_INDEX.stat().st_mtime
    sources = [
        *(WEB / "src").rglob("*"),
        *(WEB / "scripts").glob("*.mjs"),  # the build's own plugin (manifest, icons, sw.js)
        WEB / "index.html",
        WEB / "vite.config.ts",
    ]
    return any(path.is_file() and path.stat().st_mtime > built_at for path in sources)


@pytest.fixture(scope="session")
def built_client() -> Path:
    if _client_is_stale():
        if not (WEB / "node_modules").exists():
            subprocess.run(["npm", "ci"], cwd=WEB, check=True)
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True)
    assert STATIC_INDEX.exists(), "npm run build did not produce src/parley/static/index.html"
    return STATIC_INDEX


@pytest.fixture(scope="session")
def interop_origin() -> str:
    """The origin the third-party WHIP/WHEP page is served from (another port: another origin),
    which the server allows (PARLEY_CORS_ORIGINS)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def interop_page(interop_origin: str) -> Iterator[str]:
    """tests/e2e/interop, built, served from `interop_origin` by a plain static file server."""
    if not (INTEROP / "dist" / "index.html").exists():
        if not (INTEROP / "node_modules").exists():
            subprocess.run(["npm", "ci"], cwd=INTEROP, check=True)
        subprocess.run(["npm", "run", "build"], cwd=INTEROP, check=True)
    handler = functools.partial(QuietFiles, directory=str(INTEROP / "dist"))
    port = int(interop_origin.rsplit(":", 1)[1])
    files = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=files.serve_forever, name="interop-page", daemon=True)
    thread.start()
    yield f"{interop_origin}/index.html"
    files.shutdown()
    files.server_close()


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def parley_server(
    tmp_path_factory: pytest.TempPathFactory, built_client: Path, interop_origin: str
) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("parley-data")
    log_path = data_dir.parent / "parley-server.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PASSWORD_TIME_COST": "1",
        "PARLEY_PASSWORD_MEMORY_KIB": "8192",
        # One server for the whole browser session, every user signed up from 127.0.0.1: the
        # per-address sign-up limits (tested in tests/api/test_signin_limits.py) would refuse them.
        "PARLEY_AUTH_ADDRESS_BURST": "100000",
        "PARLEY_SIGNUP_ADDRESS_BURST": "100000",
        "PARLEY_CORS_ORIGINS": json.dumps([interop_origin]),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PARLEY), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _health_ok(base_url):
            if process.poll() is not None:
                log_tail = log_path.read_text()[-4000:]
                pytest.fail(f"parley serve exited with {process.returncode}:\n{log_tail}")
            if time.monotonic() > deadline:
                log_tail = log_path.read_text()[-4000:]
                pytest.fail(f"parley serve did not answer /api/health:\n{log_tail}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@dataclass(eq=False)
class Client:
    """One person: a browser context with its page, the page errors it raised and helpers."""

    context: BrowserContext
    page: Page
    page_errors: list[str] = field(default_factory=list)
    password: str = PASSWORD

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the API with this browser's cookies (and its CSRF token), as the client would."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        cookies = {c["name"]: c["value"] for c in self.context.cookies()}
        if "parley_csrf" in cookies and method != "GET":
            headers["X-CSRF-Token"] = cookies["parley_csrf"]
        data = json.dumps(body) if body is not None else None
        response = self.context.request.fetch(path, method=method, headers=headers, data=data)
        assert response.ok, f"{method} {path} -> {response.status}: {response.text()}"
        text = response.text()
        return json.loads(text) if text else None

    def sign_up_via_api(self, handle: str, display_name: str) -> dict[str, Any]:
        credentials = {"handle": handle, "display_name": display_name, "password": self.password}
        body = self.api("POST", "/api/auth/signup", credentials)
        return dict(body["user"])

    def sign_up_via_ui(self, handle: str, display_name: str) -> None:
        page = self.page
        page.goto("/signup")
        page.get_by_label("Handle").fill(handle)
        page.get_by_label("Display name").fill(display_name)
        page.get_by_label("Password").fill(self.password)
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()

    def stage_member(self, handle: str) -> Locator:
        selector = f'[data-testid="stage-member"][data-user-handle="{handle}"]'
        return self.page.get_by_test_id("stage").locator(selector)

    def dock_button(self, name: str) -> Locator:
        """A button of the room's dock (fixed at the bottom of the room), by its name (a count
        after it, as on Requests, is allowed)."""
        named = re.compile(rf"^{re.escape(name)}( ?,|$)")
        return self.page.get_by_test_id("dock").get_by_role("button", name=named)

    def person(self, handle: str) -> Locator:
        """Opens someone's card from their avatar (on stage or in the audience): the sheet."""
        tile = self.page.locator(
            f'[data-testid="stage-member"][data-user-handle="{handle}"], '
            f'[data-testid="listener"][data-user-handle="{handle}"]'
        )
        tile.get_by_role("button").first.click()
        sheet = self.page.get_by_test_id("person-sheet")
        expect(sheet).to_be_visible()
        return sheet

    def approve(self, handle: str) -> None:
        """As a host: the request to speak, one tap away in the dock, approved."""
        self.dock_button("Requests").click()
        request = self.page.get_by_test_id("requests").locator(f'[data-user-handle="{handle}"]')
        request.get_by_role("button", name="Approve").click()
        expect(request).to_have_count(0)
        self.page.get_by_test_id("requests-sheet").get_by_role("button", name="Close").click()

    def screenshot(self, name: str) -> Path:
        """Saves the whole page for a reviewer to look at: kept under test-artifacts/ (not
        committed), one file per name and viewport width."""
        width = self.page.viewport_size["width"] if self.page.viewport_size else 0
        path = ARTIFACTS / f"{name}-{width}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def axe_violations(self) -> list[dict[str, Any]]:
        """Inject axe-core and return its violations, each with the selectors that failed."""
        page = self.page
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated, not added as an inline <script>, which the page's policy refuses.
            page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        violations: list[dict[str, Any]] = page.evaluate(
            """async () => {
                const result = await axe.run(document, { resultTypes: ['violations'] });
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ') + ' -> ' + n.failureSummary),
                }));
            }"""
        )
        return violations

    def has_horizontal_scroll(self) -> bool:
        return bool(
            self.page.evaluate(
                "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
                " || document.body.scrollWidth > document.documentElement.clientWidth"
            )
        )


@pytest.fixture
def new_client(browser: Browser, parley_server: str) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []
    own_browsers: list[Browser] = []

    def make(
        width: int = 1280,
        height: int = 900,
        reduced_motion: bool = False,
        browser_args: list[str] | None = None,
    ) -> Client:
        """A person in a fresh context; `browser_args` launches a Chromium of their own with
        those extra flags (fake microphone, autoplay policy), closed after the test."""
        where = browser
        if browser_args:
            where = browser.browser_type.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *browser_args], headless=True
            )
            own_browsers.append(where)
        context = where.new_context(
            base_url=parley_server,
            viewport={"width": width, "height": height},
            reduced_motion="reduce" if reduced_motion else "no-preference",
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        client = Client(context=context, page=page)
        page.on("pageerror", lambda error: client.page_errors.append(str(error)))
        clients.append(client)
        return client

    yield make
    errors = [e for c in clients for e in c.page_errors]
    for client in clients:
        client.context.close()
    for own in own_browsers:
        own.close()
    assert not errors, f"uncaught errors in the page: {errors}"


_counter = itertools.count(1)


@pytest.fixture
def unique_handle() -> Callable[[str], str]:
    """Handles are unique per server, which lives for the whole session."""
    run = secrets.token_hex(2)

    def make(prefix: str) -> str:
        return f"{prefix[:6]}{run}{next(_counter)}"[:15]

    return make


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of speech, 48 kHz mono 16-bit, for Chromium's fake microphone."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        reason = "espeak-ng and sox make the test speech (apt-get install espeak-ng sox)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"missing tools in CI: {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("speech")
    raw, wav = folder / "raw.wav", folder / "speech.wav"
    subprocess.run([espeak, "-s", "165", "-w", str(raw), SPEECH], check=True)
    subprocess.run([sox, str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav)], check=True)
    return wav
