"""Serving the built web client: the app's paths, the service worker and manifest at the root
(revalidated on every use), the hashed assets (kept a year, compressed), and never the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from parley.api import errors, static

pytestmark = pytest.mark.unit

INDEX = "<!doctype html><title>Parley</title>"
SERVICE_WORKER = "self.addEventListener('fetch', () => {});\n"
SCRIPT = "export const words = '" + "parley " * 400 + "';\n"


@pytest.fixture
async def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """An app serving a small made-up build (the real one needs `npm run build`)."""
    built = tmp_path / "static"
    (built / "assets").mkdir(parents=True)
    (built / "icons").mkdir()
    (built / "index.html").write_text(INDEX)
    (built / "sw.js").write_text(SERVICE_WORKER)
    (built / "manifest.webmanifest").write_text('{"name": "Parley"}')
    (built / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (built / "assets" / "index-abc123.js").write_text(SCRIPT)
    (built / "assets" / "tiny-abc123.css").write_text("p{}")
    (tmp_path / "secret.txt").write_text("outside the build")
    monkeypatch.setattr(static, "STATIC_DIR", built)
    app = FastAPI()
    errors.install(app)
    static.mount(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as test_client:
        yield test_client


async def test_the_service_worker_is_javascript_at_the_root_and_never_kept_stale(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.text == SERVICE_WORKER
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    # Unchanged: a 304 with no body, still no-cache.
    again = await client.get("/sw.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["cache-control"] == "no-cache"
    assert again.headers["etag"] == response.headers["etag"]
    # Another build's tag is not a match.
    other = await client.get("/sw.js", headers={"If-None-Match": '"other", W/"older"'})
    assert other.status_code == 200


async def test_the_manifest_and_icons_have_their_types_and_are_revalidated(
    client: httpx.AsyncClient,
) -> None:
    manifest = await client.get("/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.headers["cache-control"] == "no-cache"
    icon = await client.get("/icons/icon-192.png")
    assert icon.headers["content-type"] == "image/png"
    assert icon.headers["cache-control"] == "no-cache"


async def test_app_paths_get_index_html_revalidated(client: httpx.AsyncClient) -> None:
    for path in ("/", "/s/12", "/spaces/12/replay", "/clips/AbCdEf0123456789", "/index.html"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX, path
        assert response.headers["content-type"] == "text/html; charset=utf-8", path
        assert response.headers["cache-control"] == "no-cache", path


async def test_hashed_assets_are_immutable_and_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == SCRIPT  # httpx decodes it
    assert int(response.headers["content-length"]) < len(SCRIPT) // 10
    assert "accept-encoding" in response.headers["vary"].lower()
    # Too small to gain from compression; and a client that does not ask gets it plain.
    tiny = await client.get("/assets/tiny-abc123.css", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in tiny.headers
    plain = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == SCRIPT
    # A revalidation of an asset still says immutable.
    again = await client.get(
        "/assets/index-abc123.js", headers={"If-None-Match": plain.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_a_missing_asset_is_404_not_the_app(client: httpx.AsyncClient) -> None:
    assert (await client.get("/assets/index-gone.js")).status_code == 404


async def test_the_api_is_never_the_app_and_nothing_outside_the_build_is_served(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/api", "/api/nothing-here", "/api/spaces/1/nothing"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
    escaped = await client.get("/..%2Fsecret.txt")
    assert "outside the build" not in escaped.text


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
    ],
)
def test_etag_matching(header: str | None, matches: bool) -> None:
    assert static.etag_matches(header, '"abc"') is matches
