"""Serves the built web client: files under static/, and index.html for the app's own paths.

Two kinds of file, cached differently:
- /assets/: the build's JS and CSS, named by their content's hash, so a name never changes
  content: kept by browsers for a year (`immutable`) and sent compressed.
- the files at the root (index.html, the service worker /sw.js, the manifest, the icons) keep
  their names from build to build: `no-cache`, so every use checks its ETag (a 304 when
  unchanged). That is also how a new build's service worker is found (Service Workers spec,
  "Update": a byte-different /sw.js is a new worker).

And the API docs (/api/docs): Swagger UI from our own files (/swagger-ui/, copied by the web
build from the swagger-ui-dist package its package-lock.json pins), never from a CDN.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Scope

from parley.api.headers import page_policy, script_hash
from parley.domain.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

SWAGGER_UI = "/swagger-ui"
DOCS_PATH = "/api/docs"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Smaller files gain nothing from compression.
GZIP_MINIMUM_BYTES = 1024
# Types by suffix where Python's mimetypes may not know them (.webmanifest before 3.13) or
# would send no charset; a service worker must come as JavaScript.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley</title>
</head><body><main><h1>Parley</h1><p>The web client is not built. Run
<code>scripts/install.sh</code> (or <code>npm ci && npm run build</code> in <code>web/</code>).</p>
</main></body></html>"""


class BuiltAssets(StaticFiles):
    """The build's hashed files: never changing under one name."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


class RevalidatedFiles(StaticFiles):
    """Files whose names stay from build to build: checked (ETag) on every use."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = REVALIDATE
        return response


@cache
def _docs_page(openapi_url: str, title: str) -> tuple[str, tuple[str, ...]]:
    """Swagger UI's page, and the hashes of its inline start-up script for its policy."""
    body = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url="/icons/icon.svg",
    ).body
    page = bytes(body).decode()
    return page, tuple(script_hash(script) for script in _INLINE_SCRIPT.findall(page))


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 s13.1.2: If-None-Match compares weakly, and may list several tags or `*`."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def revalidated_file(path: Path, request: Request) -> Response:
    """A root file, `no-cache`: the browser asks each time, and gets a 304 when unchanged."""
    response = FileResponse(
        path,
        stat_result=path.stat(),
        media_type=MEDIA_TYPES.get(path.suffix),
        headers={"Cache-Control": REVALIDATE},
    )
    etag = response.headers["etag"]
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": REVALIDATE})
    return response


def mount(app: FastAPI) -> None:
    assets = STATIC_DIR / "assets"
    if assets.is_dir():
        files = BuiltAssets(directory=assets)
        app.mount("/assets", GZipMiddleware(files, minimum_size=GZIP_MINIMUM_BYTES), name="assets")
    swagger_ui = STATIC_DIR / SWAGGER_UI.lstrip("/")
    if swagger_ui.is_dir():
        docs_files = GZipMiddleware(
            RevalidatedFiles(directory=swagger_ui), minimum_size=GZIP_MINIMUM_BYTES
        )
        app.mount(SWAGGER_UI, docs_files, name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        page, hashes = _docs_page(app.openapi_url or "", app.title)
        public_url = request.app.state.services.settings.public_url
        policy = page_policy(request.scope, public_url, script_hashes=hashes)
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})

    @app.get("/{path:path}", include_in_schema=False)
    async def client(path: str, request: Request) -> Response:
        if path.startswith("api/") or path == "api":
            raise NotFound(f"no endpoint /{path}")
        candidate = (STATIC_DIR / path).resolve()
        if path and candidate.is_file() and STATIC_DIR in candidate.parents:
            return revalidated_file(candidate, request)
        index = STATIC_DIR / "index.html"
        if index.is_file():
            return revalidated_file(index, request)
        return HTMLResponse(_NOT_BUILT)
