"""Accounts, sessions with CSRF, API tokens, profiles, follows and blocks, over real HTTP."""

from __future__ import annotations

import pytest

from support import PASSWORD, Running

pytestmark = pytest.mark.integration


async def test_sign_up_in_out_with_cookies_and_csrf(server: Running) -> None:
    async with server.browser() as browser:
        response = await browser.post(
            "/api/auth/signup",
            json={"handle": "Alice", "display_name": "Alice A", "password": PASSWORD},
        )
        assert response.status_code == 201
        assert response.json()["user"]["handle"] == "Alice"
        cookies = response.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith("parley_session="))
        csrf_cookie = next(c for c in cookies if c.startswith("parley_csrf="))
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert "HttpOnly" not in csrf_cookie
        assert (await browser.get("/api/me")).json()["user"]["is_me"] is True

        # A state-changing cookie request without the CSRF header is refused, and changes nothing.
        refused = await browser.patch("/api/me", json={"bio": "hacked"})
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed"
        wrong = await browser.patch(
            "/api/me", json={"bio": "hacked"}, headers={"X-CSRF-Token": "nope"}
        )
        assert wrong.status_code == 403
        assert (await browser.get("/api/me")).json()["user"]["bio"] == ""
        csrf = {"X-CSRF-Token": browser.cookies["parley_csrf"]}
        ok = await browser.patch("/api/me", json={"bio": "hello"}, headers=csrf)
        assert ok.status_code == 200 and ok.json()["user"]["bio"] == "hello"

        out = await browser.post("/api/auth/signout", headers=csrf)
        assert out.status_code == 204
        assert (await browser.get("/api/me")).status_code == 401

        again = await browser.post(
            "/api/auth/signin", json={"handle": "alice", "password": PASSWORD}
        )
        assert again.status_code == 200 and again.json()["user"]["handle"] == "Alice"
        bad = await browser.post(
            "/api/auth/signin", json={"handle": "alice", "password": "wrong password"}
        )
        assert bad.status_code == 401 and bad.json()["error"] == "not_authenticated"


async def test_handles_are_unique_regardless_of_case(server: Running) -> None:
    await server.signup("bob")
    async with server.browser() as browser:
        taken = await browser.post(
            "/api/auth/signup", json={"handle": "BOB", "display_name": "B", "password": PASSWORD}
        )
    assert taken.status_code == 409
    assert (taken.json()["field"], taken.json()["rule"]) == ("handle", "unique")


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"handle": "ab", "display_name": "x", "password": PASSWORD}, "handle", "pattern"),
        ({"handle": "a b c", "display_name": "x", "password": PASSWORD}, "handle", "pattern"),
        (
            {"handle": "abc", "display_name": " ", "password": PASSWORD},
            "display_name",
            "min_length",
        ),
        (
            {"handle": "abc", "display_name": "x" * 51, "password": PASSWORD},
            "display_name",
            "max_length",
        ),
        ({"handle": "abc", "display_name": "x", "password": "short"}, "password", "min_length"),
        ({"handle": "abc", "display_name": "x", "password": "x" * 129}, "password", "max_length"),
        ({"display_name": "x", "password": PASSWORD}, "handle", "required"),
        ({"handle": 5, "display_name": "x", "password": PASSWORD}, "handle", "type"),
        (
            {"handle": "abc", "display_name": "x", "password": PASSWORD, "admin": True},
            "admin",
            "unknown_field",
        ),
    ],
)
async def test_sign_up_validation(
    server: Running, body: dict[str, object], field: str, rule: str
) -> None:
    async with server.browser() as browser:
        response = await browser.post("/api/auth/signup", json=body)
        assert response.status_code == 422
        assert (response.json()["field"], response.json()["rule"]) == (field, rule)
        assert field in response.json()["message"]
        # Nothing was written.
        taken = await browser.post(
            "/api/auth/signup", json={"handle": "abc", "display_name": "x", "password": PASSWORD}
        )
        assert taken.status_code == 201


@pytest.mark.parametrize("body", [b"{not json", b"\x00", b"\xf3\x92"])
async def test_a_body_that_is_not_json_is_a_422_naming_the_body(
    server: Running, body: bytes
) -> None:
    async with server.browser() as browser:
        response = await browser.post(
            "/api/auth/signup", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert (response.json()["field"], response.json()["rule"]) == ("body", "json")


async def test_api_tokens(server: Running) -> None:
    alice = await server.signup("alice")
    listed = await alice.ok("GET", "/api/me/tokens")
    assert [t["name"] for t in listed["tokens"]] == ["tests"]
    created = await alice.ok("POST", "/api/me/tokens", {"name": "bot"}, status=201)
    assert created["token"].startswith("pat_")
    bot_headers = {"Authorization": f"Bearer {created['token']}"}
    async with server.browser() as http:
        assert (await http.get("/api/me", headers=bot_headers)).status_code == 200
        await alice.ok("DELETE", f"/api/me/tokens/{created['id']}", status=204)
        revoked = await http.get("/api/me", headers=bot_headers)
        assert revoked.status_code == 401
        garbage = await http.get("/api/me", headers={"Authorization": "Basic abc"})
        assert garbage.status_code == 401
    bad = await alice.post("/api/me/tokens", json={"name": ""})
    assert (bad.status_code, bad.json()["field"]) == (422, "name")
    bob = await server.signup("bob")
    not_mine = await bob.delete(f"/api/me/tokens/{listed['tokens'][0]['id']}")
    assert not_mine.status_code == 404


async def test_follow_unfollow_and_counts(server: Running) -> None:
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    carol = await server.signup("carol")
    await bob.ok("PUT", "/api/users/alice/follow", status=204)
    await carol.ok("PUT", "/api/users/alice/follow", status=204)
    await carol.ok("PUT", "/api/users/alice/follow", status=204)  # idempotent
    await alice.ok("PUT", "/api/users/bob/follow", status=204)
    profile = (await bob.ok("GET", "/api/users/alice"))["user"]
    assert (profile["follower_count"], profile["following_count"]) == (2, 1)
    assert profile["followed_by_me"] and profile["follows_me"] and not profile["is_me"]
    followers = await bob.ok("GET", "/api/users/alice/followers")
    assert {u["handle"] for u in followers["users"]} == {"bob", "carol"}
    following = await bob.ok("GET", "/api/users/alice/following")
    assert [u["handle"] for u in following["users"]] == ["bob"]
    await carol.ok("DELETE", "/api/users/alice/follow", status=204)
    assert (await bob.ok("GET", "/api/users/alice"))["user"]["follower_count"] == 1
    assert (await alice.put("/api/users/alice/follow")).status_code == 403
    assert (await alice.put("/api/users/nobody/follow")).status_code == 404
    assert (await alice.get("/api/users/nobody")).status_code == 404


async def test_block_ends_follows_and_forbids_following(server: Running) -> None:
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    await bob.ok("PUT", "/api/users/alice/follow", status=204)
    await alice.ok("PUT", "/api/users/bob/follow", status=204)
    await alice.ok("PUT", "/api/users/bob/block", status=204)
    profile = (await alice.ok("GET", "/api/users/bob"))["user"]
    assert profile["blocked_by_me"] and not profile["followed_by_me"] and not profile["follows_me"]
    refused = await bob.put("/api/users/alice/follow")
    assert refused.status_code == 403
    assert (await alice.put("/api/users/alice/block")).status_code == 403
    await alice.ok("DELETE", "/api/users/bob/block", status=204)
    await bob.ok("PUT", "/api/users/alice/follow", status=204)


async def test_profile_edit_validation(server: Running) -> None:
    alice = await server.signup("alice")
    bad = await alice.request("PATCH", "/api/me", json={"bio": "x" * 161})
    assert bad.status_code == 422 and (bad.json()["field"], bad.json()["rule"]) == (
        "bio",
        "max_length",
    )
    ok = await alice.request("PATCH", "/api/me", json={"display_name": "Alice Liddell"})
    assert ok.json()["user"]["display_name"] == "Alice Liddell"


async def test_unauthenticated_requests_get_401(server: Running) -> None:
    async with server.browser() as http:
        for method, path in (
            ("GET", "/api/me"),
            ("POST", "/api/spaces"),
            ("PUT", "/api/users/x/follow"),
            ("POST", "/api/spaces/1/join"),
        ):
            response = await http.request(method, path, json={})
            assert response.status_code == 401, path
            assert response.json()["error"] == "not_authenticated"


async def test_health_reports_backends(server: Running) -> None:
    async with server.browser() as http:
        health = (await http.get("/api/health")).json()
    assert health["status"] == "ok"
    assert health["store"]["backend"] in ("sqlite", "postgresql")
    assert health["bus"]["backend"] in ("memory", "redis")
    assert health["store"]["version"] != "unknown"
    # Every library internal the media relies on is there (media/internals.py).
    assert health["media"]["unavailable"] == {}
    assert "aiortc" in health["media"]["versions"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/%00",
        "/api/users/a%00b/followers",
        "/api/users/%00/spaces",
        "/api/users/%E2%80%AE%20x",
        "/api/users/" + "a" * 200,
    ],
)
async def test_what_cannot_be_a_handle_is_nobody(server: Running, path: str) -> None:
    """A bug: a NUL in a handle reached PostgreSQL, which refuses it (a 500, or a dropped
    connection)."""
    someone = await server.signup("someone")
    response = await someone.get(path)
    assert response.status_code == 404, response.text
