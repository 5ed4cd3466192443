"""JSON logs (PARLEY_LOG_FORMAT=json): `parley serve` writes JSON lines with each request's id,
and its user and space where they apply; the request id comes back in X-Request-ID."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.telemetry import logs
from parley.telemetry.http import request_id_of
from support import PASSWORD, Running, free_port


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123_X.y", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("has space", False),
        ("semi;colon", False),
        ("", False),
        ("é", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_sane(sent: str, kept: bool) -> None:
    made = request_id_of([(b"x-request-id", sent.encode())])
    assert (made == sent) is kept
    if not kept:
        assert len(made) == 32 and made.isalnum()


@pytest.mark.unit
def test_a_json_line_carries_the_context_that_applies() -> None:
    formatter = logs.json_formatter()
    context = logs.ContextFilter()

    def line(message: str) -> dict[str, Any]:
        record = logging.LogRecord("parley.x", logging.INFO, __file__, 1, message, (), None)
        context.filter(record)
        parsed: dict[str, Any] = json.loads(formatter.format(record))
        return parsed

    outside = line("outside")
    assert {"time", "level", "logger", "message"} <= outside.keys()
    assert not {"request_id", "space_id", "user_id"} & outside.keys()
    tokens = logs.REQUEST_ID.set("r1"), logs.USER_ID.set(7)
    try:
        inside = line("inside")
    finally:
        logs.USER_ID.reset(tokens[1])
        logs.REQUEST_ID.reset(tokens[0])
    assert (inside["request_id"], inside["user_id"], inside["level"]) == ("r1", 7, "INFO")
    assert "space_id" not in inside


@pytest.fixture
async def json_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """`parley serve` with PARLEY_LOG_FORMAT=json; its stderr goes to a file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("PARLEY_")
    }
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env.update(
        {
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_LOG_FORMAT": "json",
            "PARLEY_PASSWORD_TIME_COST": "1",
            "PARLEY_PASSWORD_MEMORY_KIB": "8192",
        }
    )
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "parley", "serve", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(1200):  # up to a minute: a loaded machine imports slowly
                if process.poll() is not None:
                    raise RuntimeError(log_path.read_text())
                try:
                    if (await http.get(f"{base_url}/api/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError("the server did not start")
        yield base_url, log_path
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


@pytest.mark.integration
@pytest.mark.slow
async def test_serve_writes_json_lines_with_the_request_user_and_space(
    json_server: tuple[str, Path],
) -> None:
    base_url, log_path = json_server
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/api/auth/signup",
            json={"handle": "logged", "display_name": "Logged", "password": PASSWORD},
        )
        assert response.status_code == 201, response.text
        user_id = response.json()["user"]["id"]
        csrf = {"X-CSRF-Token": http.cookies["parley_csrf"]}
        response = await http.post("/api/spaces", json={"title": "Logged space"}, headers=csrf)
        assert response.status_code == 201, response.text
        space_id = response.json()["space"]["id"]
        # An id a proxy set is kept; without one, the server makes one.
        response = await http.get(
            f"/api/spaces/{space_id}", headers={"X-Request-ID": "edge-7f3a.1"}
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "edge-7f3a.1"
        async with httpx.AsyncClient(base_url=base_url) as signed_out:
            anonymous = await signed_out.get("/api/nothing-here")
        assert anonymous.status_code == 404
        made_id = anonymous.headers["x-request-id"]
        assert len(made_id) == 32
    await asyncio.sleep(0.5)  # the access lines are written as the responses go out

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON
    for entry in parsed:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    # uvicorn's own lines are JSON too, without its terminal-colored copy of the message.
    assert not any("color_message" in entry for entry in parsed)
    assert any(entry["logger"] == "uvicorn.error" for entry in parsed)
    tagged = [entry for entry in parsed if entry.get("request_id") == "edge-7f3a.1"]
    assert tagged, lines
    access = [entry for entry in tagged if entry["logger"] == "uvicorn.access"]
    assert len(access) == 1, tagged
    assert access[0]["user_id"] == user_id
    assert access[0]["space_id"] == space_id
    assert f"/api/spaces/{space_id}" in access[0]["message"]
    # The signed-out request has its made id, and neither user nor space.
    (missing,) = [entry for entry in parsed if entry.get("request_id") == made_id]
    assert missing["logger"] == "uvicorn.access"
    assert "user_id" not in missing and "space_id" not in missing
    # Lines logged outside any request carry no request id.
    assert any("request_id" not in entry for entry in parsed)


@pytest.mark.integration
async def test_an_unexpected_error_is_logged_once_with_its_request(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 keeps the request's id in its answer and in the error's log line (the handler that
    answers it runs outside the request middleware), and the server's own copy of the
    traceback is left out (it was logged already)."""

    async def broken(space_id: int) -> None:
        raise RuntimeError("a bug")

    server.app.add_api_route("/api/spaces/{space_id}/broken", broken)
    # Before the web client's catch-all mount.
    server.app.router.routes.insert(0, server.app.router.routes.pop())
    caplog.handler.addFilter(logs.ContextFilter())
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/api/spaces/42/broken", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert response.headers["x-request-id"] == "trace-500"
    await asyncio.sleep(0.2)
    (logged,) = [r for r in caplog.records if r.name == "parley.api.errors"]
    assert (getattr(logged, "request_id", None), getattr(logged, "space_id", None)) == (
        "trace-500",
        42,
    )
    assert logged.exc_info is not None
    servers_copy = [r for r in caplog.records if r.name == "uvicorn.error" and r.exc_info]
    assert servers_copy, "uvicorn logs the exception too"
    context = contextvars.copy_context()

    def dropped() -> bool:
        logs.ERROR_LOGGED.set(True)
        return not logs.LoggedOnce().filter(servers_copy[0])

    assert context.run(dropped)
    assert logs.LoggedOnce().filter(servers_copy[0])  # not dropped where nothing was logged
