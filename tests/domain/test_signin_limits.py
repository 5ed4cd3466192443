"""The sign-in and sign-up limits' rules, on a clock the tests move (seconds)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from parley.domain.errors import RateLimited
from parley.domain.signin_limits import (
    FAILURES_KEPT_S,
    KNOWN_ADDRESS_KEPT_S,
    Backoff,
    FailureCounts,
    SigninLimits,
    SigninPolicy,
    account_key,
    wait_words,
)

pytestmark = pytest.mark.unit

HOME, ATTACKER = "192.0.2.1", "198.51.100.7"


POLICY = SigninPolicy(
    address_burst=1000.0,
    address_rate_per_s=1.0,
    signup_burst=1000.0,
    signup_rate_per_s=1.0,
    per_address=Backoff(free_failures=3, max_wait_s=60.0),
    per_account=Backoff(free_failures=10, max_wait_s=60.0),
)


def limits(**changes: Any) -> SigninLimits:
    return SigninLimits(dataclasses.replace(POLICY, **changes))


def wrong(rules: SigninLimits, address: str, handle: str, now_s: float) -> None:
    rules.sign_in(address, handle, now_s)
    rules.failed(address, handle, now_s)


def wait_of(rules: SigninLimits, address: str, handle: str, now_s: float) -> float:
    with pytest.raises(RateLimited) as error:
        rules.sign_in(address, handle, now_s)
    return error.value.retry_after_s


def test_the_backoff_is_free_then_doubles_up_to_the_cap() -> None:
    backoff = Backoff(free_failures=3, max_wait_s=900.0)
    assert [backoff.wait_s(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 8, 16]
    assert backoff.wait_s(12) == 512 and backoff.wait_s(13) == 900
    assert backoff.wait_s(10**6) == 900  # no overflow however many


def test_failures_at_one_handle_from_one_address_wait_and_the_wait_ends() -> None:
    rules = limits()
    for _ in range(2):
        wrong(rules, ATTACKER, "alice", 100.0)
    wrong(rules, ATTACKER, "alice", 100.0)  # the third: the next waits 1 s
    assert wait_of(rules, ATTACKER, "alice", 100.0) == 1.0
    assert wait_of(rules, ATTACKER, "alice", 100.5) == 0.5
    wrong(rules, ATTACKER, "alice", 101.0)
    assert wait_of(rules, ATTACKER, "alice", 101.0) == 2.0
    # A refused attempt is not a failure: the wait does not grow while it runs.
    for _ in range(10):
        wait_of(rules, ATTACKER, "alice", 101.5)
    rules.sign_in(ATTACKER, "alice", 103.0)


def test_the_lock_is_capped_and_a_success_resets_it() -> None:
    rules = limits()
    now_s = 0.0
    waits = []
    for _ in range(20):
        wrong(rules, ATTACKER, "alice", now_s)
        waits.append(rules.per_address.wait_s(("alice", ATTACKER), now_s))
        now_s += waits[-1]
    assert max(waits) == 60.0 and waits[-1] == 60.0
    rules.sign_in(ATTACKER, "alice", now_s)
    rules.succeeded(ATTACKER, "alice", now_s)
    for _ in range(3):
        wrong(rules, ATTACKER, "alice", now_s)  # the free failures again
    assert wait_of(rules, ATTACKER, "alice", now_s) == 1.0


def test_guesses_sent_at_once_are_counted_at_once() -> None:
    rules = limits()
    for _ in range(3):  # all in flight: none answered yet
        rules.sign_in(ATTACKER, "alice", 10.0)
    wait_of(rules, ATTACKER, "alice", 10.0)


def test_the_wait_runs_from_the_answer() -> None:
    rules = limits()
    for _ in range(3):
        rules.sign_in(ATTACKER, "alice", 10.0)
    rules.failed(ATTACKER, "alice", 10.8)  # the password check took 0.8 s
    assert wait_of(rules, ATTACKER, "alice", 11.0) == pytest.approx(0.8)


def test_another_address_is_not_held_by_one_guessers_lock() -> None:
    rules = limits()
    for _ in range(3):
        wrong(rules, ATTACKER, "alice", 0.0)
    wait_of(rules, ATTACKER, "alice", 0.0)
    rules.sign_in(HOME, "alice", 0.0)
    rules.succeeded(HOME, "alice", 0.0)


def test_many_addresses_lock_the_handle_but_not_where_the_owner_signed_in() -> None:
    rules = limits()
    rules.signed_up(HOME, "Alice", 0.0)
    for n in range(10):  # two guesses each: under the per-address count
        wrong(rules, f"203.0.113.{n // 2}", "alice", 1.0)
    assert wait_of(rules, "203.0.113.200", "alice", 1.0) == 1.0
    rules.sign_in(HOME, "alice", 1.0)
    # The owner's home counts as theirs for a while, then no longer.
    later_s = KNOWN_ADDRESS_KEPT_S + 2.0
    for n in range(10):
        wrong(rules, f"203.0.113.{n // 2}", "alice", later_s)
    wait_of(rules, HOME, "alice", later_s)


def test_a_success_resets_the_count_over_every_address() -> None:
    rules = limits()
    for n in range(10):
        wrong(rules, f"203.0.113.{n}", "alice", 0.0)
    rules.signed_up(HOME, "alice", 0.0)
    rules.sign_in(HOME, "alice", 0.0)
    rules.succeeded(HOME, "alice", 0.0)
    rules.sign_in("203.0.113.200", "alice", 0.0)


def test_failures_are_forgotten_long_after_the_last() -> None:
    rules = limits()
    for _ in range(3):
        wrong(rules, ATTACKER, "alice", 0.0)
    wrong(rules, ATTACKER, "alice", 1.0)
    rules.sign_in(ATTACKER, "alice", FAILURES_KEPT_S + 1.0)  # a new run: the first failure
    rules.failed(ATTACKER, "alice", FAILURES_KEPT_S + 1.0)
    assert rules.per_address.entries[("alice", ATTACKER)].count == 1


def test_handles_are_counted_as_typed_without_case_whether_anyone_has_them() -> None:
    rules = limits()
    for handle in ("Ghost", "GHOST", "ghost"):
        wrong(rules, ATTACKER, handle, 0.0)
    wait_of(rules, ATTACKER, "gHoSt", 0.0)
    assert account_key("x" * 10_000) == "x" * 32


def test_every_attempt_from_an_address_counts_then_a_slow_rate() -> None:
    rules = limits(address_burst=4.0, address_rate_per_s=0.1)
    rules.sign_up(ATTACKER, 0.0)
    wrong(rules, ATTACKER, "bob", 0.0)
    wrong(rules, ATTACKER, "carol", 0.0)
    rules.sign_in(ATTACKER, "alice", 0.0)
    rules.succeeded(ATTACKER, "alice", 0.0)  # a success counts too
    with pytest.raises(RateLimited) as error:
        rules.sign_in(ATTACKER, "dave", 0.0)
    assert error.value.retry_after_s == pytest.approx(10.0)
    with pytest.raises(RateLimited):
        rules.sign_up(ATTACKER, 5.0)
    rules.sign_in(HOME, "dave", 5.0)  # another address has its own
    rules.sign_up(ATTACKER, 10.0)


def test_sign_ups_from_an_address_have_their_own_limit() -> None:
    rules = limits(signup_burst=2.0, signup_rate_per_s=1 / 60)
    rules.sign_up(ATTACKER, 0.0)
    rules.sign_up(ATTACKER, 0.0)
    with pytest.raises(RateLimited) as error:
        rules.sign_up(ATTACKER, 0.0)
    assert error.value.retry_after_s == pytest.approx(60.0)
    rules.sign_in(ATTACKER, "alice", 0.0)  # signing in is not signing up
    rules.sign_up(ATTACKER, 60.0)


def test_the_state_stays_bounded() -> None:
    rules = SigninLimits(POLICY, max_entries=100)
    for n in range(1000):
        address = f"10.0.{n // 256}.{n % 256}"
        wrong(rules, address, f"user{n}", float(n))
        rules.signed_up(address, f"user{n}", float(n))
        rules.sign_up(address, float(n))
    for table in (rules.buckets, rules.per_address.entries, rules.per_account.entries, rules.known):
        assert len(table) <= 100


def test_cooled_entries_go_first() -> None:
    counts: FailureCounts[str] = FailureCounts(Backoff(1, 60.0), max_entries=3)
    counts.fail("old", 0.0)
    counts.fail("warm", FAILURES_KEPT_S - 10.0)
    counts.fail("recent", FAILURES_KEPT_S)
    counts.fail("new", FAILURES_KEPT_S + 1.0)
    assert set(counts.entries) == {"warm", "recent", "new"}


def test_waits_in_words() -> None:
    assert wait_words(0.2) == "1 s"
    assert wait_words(59.5) == "60 s"
    assert wait_words(61) == "2 min"
    assert wait_words(900) == "15 min"
