"""Serves the built web client: files under static/, and index.html for the app's own paths.

Two kinds of file, cached differently:
- /assets/: the build's JS and CSS, named by their content's hash, so a name never changes
  content: kept by browsers for a year (`immutable`) and sent compressed.
- the files at the root (index.html, the service worker /sw.js, the manifest, the icons) keep
  their names from build to build: `no-cache`, so every use checks its ETag (a 304 when
  unchanged). That is also how a new build's service worker is found (Service Workers spec,
  "Update": a byte-different /sw.js is a new worker).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Scope

from parley.domain.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

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
