"""Sign-in and sign-up limits over real HTTP (issue 12: 200 wrong passwords in 21 s were all
answered): per client address, per handle from one address and per handle from every address,
answered 429 with Retry-After in the API's error shape, with locks that stay short.

Other client addresses are loopback ones (127.0.0.x): the client binds its side of the
connection there, and the server sees that address.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from parley.config import Settings
from support import PASSWORD, Running

pytestmark = pytest.mark.integration

DEFAULTS = Settings()
WRONG = "not the password"


@asynccontextmanager
async def from_address(server: Running, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(
        base_url=server.base_url, transport=transport, timeout=10
    ) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, handle: str, password: str) -> httpx.Response:
    response = await client.post("/api/auth/signin", json={"handle": handle, "password": password})
    assert response.status_code in (200, 401, 429), response.text
    return response


async def sign_up(client: httpx.AsyncClient, handle: str) -> httpx.Response:
    body = {"handle": handle, "display_name": handle.title(), "password": PASSWORD}
    response = await client.post("/api/auth/signup", json=body)
    assert response.status_code in (201, 429), response.text
    return response


def retry_after_s(response: httpx.Response) -> int:
    """The wait a 429 names, checked to be in the API's error shape."""
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited" and response.json()["message"]
    return int(response.headers["Retry-After"])


async def test_the_defaults_are_the_products(server: Running) -> None:
    # The tests below that set nothing test these; the test server must not raise them.
    settings: Settings = server.app.state.services.settings
    for name in (
        "auth_address_burst",
        "auth_address_rate_per_s",
        "signup_address_burst",
        "signup_address_rate_per_s",
        "signin_free_failures",
        "signin_account_free_failures",
        "signin_max_wait_s",
    ):
        assert getattr(settings, name) == getattr(DEFAULTS, name), name
    assert DEFAULTS.signin_max_wait_s <= 15 * 60


async def test_wrong_passwords_for_one_handle_get_429_with_retry_after(server: Running) -> None:
    await server.signup("alice")
    async with server.browser() as browser:
        answers = [await sign_in(browser, "alice", WRONG) for _ in range(12)]
        statuses = [answer.status_code for answer in answers]
        free = DEFAULTS.signin_free_failures
        assert statuses[:free] == [401] * free
        assert set(statuses[free:]) == {429}
        assert 1 <= retry_after_s(answers[free]) <= 2
        # The right password waits too, and the answer does not say whether it was right.
        right = await sign_in(browser, "alice", PASSWORD)
        assert right.status_code == 429 and "parley_session" not in right.cookies


async def test_wrong_passwords_across_handles_from_one_address_get_429(server: Running) -> None:
    # Password spraying: one guess at each of many handles (real or not) from one address.
    burst = int(DEFAULTS.auth_address_burst)
    async with from_address(server, "127.0.0.2") as attacker:
        for n in range(burst):
            assert (await sign_in(attacker, f"user{n}", WRONG)).status_code == 401
        assert retry_after_s(await sign_in(attacker, "someone", WRONG)) >= 1
        # Sign-ups from there count against the same attempts.
        assert (await sign_up(attacker, "newcomer")).status_code == 429
    async with from_address(server, "127.0.0.3") as neighbour:
        assert (await sign_up(neighbour, "newcomer")).status_code == 201
    server.clock.advance(seconds=1 / DEFAULTS.auth_address_rate_per_s)
    async with from_address(server, "127.0.0.2") as attacker:
        assert (await sign_in(attacker, "someone", WRONG)).status_code == 401
        assert (await sign_in(attacker, "someone", WRONG)).status_code == 429


async def test_the_lock_of_a_handle_is_short_ends_and_a_success_resets_it(
    server: Running,
) -> None:
    await server.signup("alice")
    waits: list[int] = []
    async with server.browser() as browser:
        for _ in range(60):
            answer = await sign_in(browser, "alice", WRONG)
            if answer.status_code == 429:
                waits.append(retry_after_s(answer))
                assert waits[-1] <= 15 * 60
                if waits[-1] >= DEFAULTS.signin_max_wait_s:
                    break
                server.clock.advance(seconds=waits[-1])
        # Each failure after the free ones waits longer than the one before, up to the cap.
        assert waits == sorted(waits) and waits[0] <= 2 and len(set(waits)) > 5
        assert waits[-1] == DEFAULTS.signin_max_wait_s
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 429
        server.clock.advance(seconds=DEFAULTS.signin_max_wait_s)
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 200
        # The success forgot the failures: the free ones again.
        for _ in range(DEFAULTS.signin_free_failures):
            assert (await sign_in(browser, "alice", WRONG)).status_code == 401
        assert (await sign_in(browser, "alice", WRONG)).status_code == 429


async def test_an_attacker_elsewhere_does_not_lock_the_owner_out(server: Running) -> None:
    async with from_address(server, "127.0.0.1") as owner:
        assert (await sign_up(owner, "alice")).status_code == 201
        # One address guessing: only that address waits.
        async with from_address(server, "127.0.0.2") as attacker:
            for _ in range(DEFAULTS.signin_free_failures):
                assert (await sign_in(attacker, "alice", WRONG)).status_code == 401
            assert (await sign_in(attacker, "alice", PASSWORD)).status_code == 429
        assert (await sign_in(owner, "alice", PASSWORD)).status_code == 200
        async with from_address(server, "127.0.0.3") as other:
            assert (await sign_in(other, "alice", WRONG)).status_code == 401

        # Many addresses guessing once each: the handle waits everywhere, but at an address it
        # was used from. (The clock moves past each wait, as a patient attacker would.)
        longest_wait_s = 0
        for address in range(10, 60):
            async with from_address(server, f"127.0.0.{address}") as attacker:
                answer = await sign_in(attacker, "alice", WRONG)
            if answer.status_code == 429:
                longest_wait_s = retry_after_s(answer)
                assert longest_wait_s <= 15 * 60
                server.clock.advance(seconds=longest_wait_s)
            if longest_wait_s >= 60:
                break
        assert longest_wait_s >= 60
        # A guess after the lock ended makes it longer (it is not the last one made).
        async with from_address(server, "127.0.0.99") as stranger:
            assert (await sign_in(stranger, "alice", WRONG)).status_code == 401
            assert retry_after_s(await sign_in(stranger, "alice", PASSWORD)) >= 60
        assert (await sign_in(owner, "alice", PASSWORD)).status_code == 200


async def test_a_flood_of_sign_ups_from_one_address_gets_429(server: Running) -> None:
    burst = int(DEFAULTS.signup_address_burst)
    async with from_address(server, "127.0.0.2") as flood:
        for n in range(burst):
            assert (await sign_up(flood, f"bot{n}")).status_code == 201
        assert retry_after_s(await sign_up(flood, "onemore")) >= 1
    async with from_address(server, "127.0.0.3") as neighbour:
        assert (await sign_up(neighbour, "person")).status_code == 201
    server.clock.advance(seconds=1 / DEFAULTS.signup_address_rate_per_s)
    async with from_address(server, "127.0.0.2") as flood:
        assert (await sign_up(flood, "onemore")).status_code == 201
        assert (await sign_up(flood, "twomore")).status_code == 429


@pytest.mark.parley_settings(password_time_cost=2, password_memory_kib=16384)
async def test_unknown_handles_take_as_long_as_wrong_passwords(server: Running) -> None:
    """The time of an answer does not tell whether a handle exists: a handle that does not is
    checked against a password hash all the same."""
    await server.signup("alice")

    async def median_s(handle: str) -> float:
        times = []
        for n in range(7):  # each from an address of its own: no lock in the way
            async with from_address(server, f"127.0.1.{n + 1}") as client:
                started = time.perf_counter()
                assert (await sign_in(client, handle, WRONG)).status_code == 401
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    wrong_password_s = await median_s("alice")
    unknown_handle_s = await median_s("nobody")
    assert unknown_handle_s > 0.6 * wrong_password_s, (unknown_handle_s, wrong_password_s)
