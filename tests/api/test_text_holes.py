"""Text that is not what it looks like, over real HTTP (issue 12): a handle with a trailing
newline, invisible and control characters in human text, and lone surrogates in any field."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from fastapi.responses import JSONResponse

from parley.api.errors import error_body
from support import PASSWORD, Client, Running

pytestmark = pytest.mark.integration

# A lone surrogate as a JSON body carries it: the escape, since UTF-8 cannot encode one.
SURROGATE = "\\ud800"


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def _refused(response: httpx.Response, field: str, rule: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["field"], body["rule"]) == (field, rule), body


async def test_a_handle_with_a_trailing_newline_is_no_handle(server: Running) -> None:
    alice = await server.signup("alice")
    async with server.browser() as browser:
        for handle in ("alice\n", "bob\n", "\nbob", "bob\r\n"):
            response = await browser.post(
                "/api/auth/signup",
                json={"handle": handle, "display_name": "Alice", "password": PASSWORD},
            )
            _refused(response, "handle", "pattern")
        signin = await browser.post(
            "/api/auth/signin", json={"handle": "alice\n", "password": PASSWORD}
        )
        assert signin.status_code == 401, signin.text
    assert (await alice.get("/api/users/alice%0A")).status_code == 404
    assert (await alice.get("/api/users/alice")).status_code == 200


async def _space_and_pin_owner(server: Running) -> tuple[Client, int]:
    host = await server.signup("host")
    space = await host.create_space("Text rules")
    return host, space["id"]


# (what to send, the field named, the rule): every way a piece of text may hide what it says.
HIDDEN = [
    ("\u200bAlice", "invisible_character"),  # zero-width space
    ("Ali\u200dce", "invisible_character"),  # zero-width joiner between letters
    ("Ali\u200cce", "invisible_character"),  # zero-width non-joiner in Latin
    ("Alice\u2060", "invisible_character"),  # word joiner
    ("\ufeffAlice", "invisible_character"),  # byte order mark
    ("\u202eecilA", "invisible_character"),  # right-to-left override
    ("Alice\u2066x\u2069", "invisible_character"),  # isolate
    ("Alice\u200f", "invisible_character"),  # right-to-left mark
    ("Al\x00ice", "control_character"),  # NUL (a 500 on PostgreSQL before)
    ("Al\x07ice", "control_character"),
    ("Alice\x85x", "control_character"),  # C1 next line
    ("Ali\nce", "control_character"),
    ("Alice \ue000", "private_use_character"),
    ("Alice \U000e0041", "invisible_character"),  # a tag character outside a flag
    ("Alice \u0378", "unassigned_character"),
]


@pytest.mark.parametrize(("value", "rule"), HIDDEN)
async def test_hidden_characters_are_refused_in_every_human_text_field(
    server: Running, caplog: pytest.LogCaptureFixture, value: str, rule: str
) -> None:
    host, space_id = await _space_and_pin_owner(server)
    async with server.browser() as browser:
        signup = await browser.post(
            "/api/auth/signup",
            json={"handle": "carol", "display_name": value, "password": PASSWORD},
        )
    _refused(signup, "display_name", rule)
    _refused(
        await host.request("PATCH", "/api/me", json={"display_name": value}), "display_name", rule
    )
    if rule != "control_character" or "\n" not in value:
        _refused(await host.request("PATCH", "/api/me", json={"bio": value}), "bio", rule)
    _refused(await host.post("/api/me/tokens", {"name": value}), "name", rule)
    _refused(await host.post("/api/spaces", {"title": value}), "title", rule)
    _refused(await host.post("/api/spaces", {"title": "ok", "topics": [value]}), "topics", rule)
    _refused(await host.post(f"/api/spaces/{space_id}/pins", {"text": value}), "text", rule)
    _refused(
        await host.post(
            f"/api/spaces/{space_id}/pins", {"text": "ok", "url": f"https://x.org/{value}"}
        ),
        "url",
        rule,
    )
    # Nothing was changed by any of them.
    me = (await host.ok("GET", "/api/me"))["user"]
    assert (me["display_name"], me["bio"]) == ("Host", "")
    _no_errors_logged(caplog)


async def test_legitimate_text_is_kept(server: Running) -> None:
    host, space_id = await _space_and_pin_owner(server)
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    rainbow = "\U0001f3f3\ufe0f\u200d\U0001f308"
    coder = "\U0001f469\U0001f3fd\u200d\U0001f4bb"
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with its ZWNJ
    decomposed = "Cafe\u0301"  # NFC makes it one character
    title = f"{family} {rainbow} {coder} {england}"
    guest = await server.signup("guest")  # a host has one live space at a time
    space = await guest.create_space(title, topics=[persian, decomposed])
    assert space["title"] == title
    assert space["topics"] == [persian, "Caf\u00e9"]
    me = await host.ok(
        "PATCH",
        "/api/me",
        {"display_name": f"  {persian} {coder} ", "bio": "line one\r\nline two\n"},
    )
    assert me["user"]["display_name"] == f"{persian} {coder}"
    assert me["user"]["bio"] == "line one\nline two"
    pin = await host.ok("POST", f"/api/spaces/{space_id}/pins", {"text": f"{family}\u00a0!"}, 201)
    assert pin["pin"]["text"] == f"{family}\u00a0!"


async def _raw(client: Client, method: str, path: str, body: str) -> httpx.Response:
    return await client.request(
        method, path, content=body.encode(), headers={"Content-Type": "application/json"}
    )


def _with_surrogate(fields: dict[str, Any], field: str) -> str:
    """A JSON body whose `field` (a topic: its first item) is a lone surrogate."""
    marker = "@@SURROGATE@@"
    body = dict(fields)
    body[field] = [marker] if isinstance(fields.get(field), list) else marker
    return json.dumps(body).replace(marker, SURROGATE)


async def test_a_lone_surrogate_in_any_text_field_is_a_422(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    host, space_id = await _space_and_pin_owner(server)
    signup = {"handle": "dave", "display_name": "Dave", "password": PASSWORD}
    cases: list[tuple[str, str, dict[str, Any], str, str]] = [
        ("POST", "/api/auth/signup", signup, "display_name", "display_name"),
        ("POST", "/api/auth/signup", signup, "password", "password"),
        ("POST", "/api/auth/signup", signup, "handle", "handle"),
        (
            "POST",
            "/api/auth/signin",
            {"handle": "host", "password": PASSWORD},
            "password",
            "password",
        ),
        ("POST", "/api/auth/signin", {"handle": "host", "password": PASSWORD}, "handle", "handle"),
        ("PATCH", "/api/me", {"display_name": "x"}, "display_name", "display_name"),
        ("PATCH", "/api/me", {"bio": "x"}, "bio", "bio"),
        ("POST", "/api/me/tokens", {"name": "x"}, "name", "name"),
        ("POST", "/api/spaces", {"title": "x"}, "title", "title"),
        ("POST", "/api/spaces", {"title": "x", "topics": ["x"]}, "topics", "topics"),
        (
            "POST",
            "/api/spaces",
            {"title": "x", "caption_language": "en"},
            "caption_language",
            "caption_language",
        ),
        (
            "PATCH",
            f"/api/spaces/{space_id}",
            {"caption_language": "en"},
            "caption_language",
            "caption_language",
        ),
        ("POST", f"/api/spaces/{space_id}/pins", {"text": "x"}, "text", "text"),
        (
            "POST",
            f"/api/spaces/{space_id}/pins",
            {"text": "x", "url": "https://x.org"},
            "url",
            "url",
        ),
        ("POST", f"/api/spaces/{space_id}/reactions", {"emoji": "x"}, "emoji", "emoji"),
    ]
    for method, path, fields, field, named in cases:
        response = await _raw(host, method, path, _with_surrogate(fields, field))
        assert response.status_code == 422, (method, path, field, response.text)
        body = response.json()
        assert (body["field"], body["rule"]) == (named, "surrogate"), (method, path, body)
    # Nor a key of the body.
    response = await _raw(host, "POST", "/api/spaces", '{"title": "x", "\\ud800": 1}')
    _refused(response, "body", "surrogate")
    # Half of a pair is as lone as a whole one alone.
    response = await _raw(host, "POST", "/api/spaces", '{"title": "x\\udc00y"}')
    _refused(response, "title", "surrogate")
    # A well-formed pair (an emoji as JSON escapes it) is fine.
    guest = await server.signup("guest")  # a host has one live space at a time
    space = (await _raw(guest, "POST", "/api/spaces", '{"title": "x \\ud83c\\udf99"}')).json()
    assert space["space"]["title"] == "x \U0001f399"
    _no_errors_logged(caplog)


def test_an_error_never_fails_to_encode_what_it_repeats() -> None:
    # What a client sent may come back in a message or a field name: escaped, never a 500.
    body = error_body("validation_failed", "x\ud800: bad", field="\udc00", rule="type")
    assert (body["message"], body["field"]) == ("x\\ud800: bad", "\\udc00")
    JSONResponse(body).render(body)


async def test_undecodable_text_in_paths_and_queries_is_no_500(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    host, _ = await _space_and_pin_owner(server)
    # What would be a surrogate in UTF-8 (ED A0 80) is not UTF-8: never a 500.
    for path in (
        "/api/users/%ED%A0%80",
        "/api/users/%ED%A0%80/spaces",
        "/api/users/%ED%A0%80/followers",
        "/api/spaces?host=%ED%A0%80",
        "/api/search/people?q=%ED%A0%80",
        "/api/search/spaces?q=%ED%A0%80",
    ):
        response = await host.get(path)
        assert response.status_code < 500, (path, response.text)
    for path in ("/api/users/%ED%A0%80/follow", "/api/users/%ED%A0%80/block"):
        response = await host.put(path)
        assert response.status_code < 500, (path, response.text)
    _no_errors_logged(caplog)
