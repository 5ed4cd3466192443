"""Sign-in and sign-up limits (issue 12), after OWASP's authentication cheat sheet.

Three counts, each answered with RateLimited (429 with Retry-After):
- every attempt from one client address (sign-ins and sign-ups alike), and sign-ups alone: a
  burst, then a slow rate (token buckets). This is what stops one address guessing one password
  at each of many handles, which no per-handle count sees;
- failed sign-ins at one handle from one address: a few are free, then each waits twice the one
  before, up to a short cap, so that a guesser gets a handful of guesses an hour;
- failed sign-ins at one handle from every address together, more loosely, against guessers
  with many addresses. It spares the addresses the account signed up or in from: the owner at
  home is not locked out by a botnet, and anyone else waits at most the cap.

A success resets the handle's counts. Handles are counted as typed (lower-cased) whether or not
anyone has them, so the answers do not tell which exist. No I/O: the caller passes the time in
seconds. The state is this node's; it is bounded by forgetting what has cooled down.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from parley.domain.errors import RateLimited
from parley.domain.reactions import TokenBucket

FIRST_WAIT_S = 1.0
# A run of failures is forgotten this long after its last one (as Keycloak's "failure reset
# time"): pausing does not buy an attacker a new set of free guesses sooner.
FAILURES_KEPT_S = 12 * 3600.0
# How long an address the account signed up or in from stays spared by the account-wide lock.
KNOWN_ADDRESS_KEPT_S = 30 * 86400.0
# Entries of each map before the cooled ones are forgotten (and, if need be, the oldest).
MAX_ENTRIES = 50_000
# Longer typed handles are nobody's (handles have 3-15 characters): keep the keys short.
ACCOUNT_KEY_MAX = 32

K = TypeVar("K", bound=Hashable)


def account_key(handle: str) -> str:
    """What failures at `handle` are counted under: handles are unique regardless of case."""
    return handle[:ACCOUNT_KEY_MAX].lower()


def wait_words(wait_s: float) -> str:
    """A wait as people read it: "2 s", "15 min"."""
    if wait_s < 60:
        return f"{max(1, math.ceil(wait_s))} s"
    return f"{math.ceil(wait_s / 60)} min"


@dataclass(frozen=True)
class Backoff:
    """How long to wait after failures in a row: `free_failures` at once, then from
    `FIRST_WAIT_S` doubling, never more than `max_wait_s`."""

    free_failures: int
    max_wait_s: float

    def wait_s(self, failures: int) -> float:
        if failures < self.free_failures:
            return 0.0
        doublings = min(failures - self.free_failures, 32)  # no float overflow
        return min(self.max_wait_s, FIRST_WAIT_S * 2.0**doublings)


@dataclass
class Failures:
    count: int = 0
    last_s: float = 0.0
    until_s: float = 0.0  # no attempt before this


class FailureCounts(Generic[K]):
    """Failures in a row by key, and the wait each key owes (`Backoff`)."""

    def __init__(self, backoff: Backoff, *, max_entries: int = MAX_ENTRIES) -> None:
        self.backoff = backoff
        self.max_entries = max_entries
        self.entries: dict[K, Failures] = {}

    def wait_s(self, key: K, now_s: float) -> float:
        entry = self.entries.get(key)
        return max(0.0, entry.until_s - now_s) if entry is not None else 0.0

    def fail(self, key: K, now_s: float) -> None:
        entry = self.entries.get(key)
        if entry is None or now_s - entry.last_s >= FAILURES_KEPT_S:
            if len(self.entries) >= self.max_entries:
                self._forget(now_s)
            entry = self.entries[key] = Failures()
        entry.count += 1
        entry.last_s = now_s
        entry.until_s = now_s + self.backoff.wait_s(entry.count)

    def restart(self, key: K, now_s: float) -> None:
        """The wait of the failure counted last runs from `now_s`."""
        entry = self.entries.get(key)
        if entry is not None:
            entry.last_s = now_s
            entry.until_s = now_s + self.backoff.wait_s(entry.count)

    def reset(self, key: K) -> None:
        self.entries.pop(key, None)

    def _forget(self, now_s: float) -> None:
        self.entries = _trimmed(
            self.entries,
            warm=lambda entry: now_s - entry.last_s < FAILURES_KEPT_S or entry.until_s > now_s,
            when=lambda entry: entry.last_s,
            max_entries=self.max_entries,
        )


@dataclass(frozen=True)
class SigninPolicy:
    address_burst: float
    address_rate_per_s: float
    signup_burst: float
    signup_rate_per_s: float
    # Per (handle, address), and per handle over every address.
    per_address: Backoff
    per_account: Backoff


class SigninLimits:
    """The counts of one node. `sign_in` counts the attempt as failed before the password is
    checked, so that many guesses sent at once are counted at once; `succeeded` undoes it."""

    def __init__(self, policy: SigninPolicy, *, max_entries: int = MAX_ENTRIES) -> None:
        self.policy = policy
        self.max_entries = max_entries
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.per_address: FailureCounts[tuple[str, str]] = FailureCounts(
            policy.per_address, max_entries=max_entries
        )
        self.per_account: FailureCounts[str] = FailureCounts(
            policy.per_account, max_entries=max_entries
        )
        # (handle, address) -> when the account last signed up or in from there.
        self.known: dict[tuple[str, str], float] = {}

    def sign_up(self, address: str, now_s: float) -> None:
        p = self.policy
        self._take("attempts", address, p.address_burst, p.address_rate_per_s, now_s)
        self._take("sign-ups", address, p.signup_burst, p.signup_rate_per_s, now_s)

    def signed_up(self, address: str, handle: str, now_s: float) -> None:
        self._know((account_key(handle), address), now_s)

    def sign_in(self, address: str, handle: str, now_s: float) -> None:
        """One attempt, or RateLimited; counted as failed until `succeeded`."""
        p = self.policy
        self._take("attempts", address, p.address_burst, p.address_rate_per_s, now_s)
        account = account_key(handle)
        pair = (account, address)
        wait_s = self.per_address.wait_s(pair, now_s)
        known_s = self.known.get(pair)
        if known_s is None or now_s - known_s >= KNOWN_ADDRESS_KEPT_S:
            wait_s = max(wait_s, self.per_account.wait_s(account, now_s))
        if wait_s > 0:
            raise RateLimited(
                f"too many failed sign-ins; try again in {wait_words(wait_s)}",
                retry_after_s=wait_s,
            )
        self.per_address.fail(pair, now_s)
        self.per_account.fail(account, now_s)

    def failed(self, address: str, handle: str, now_s: float) -> None:
        """The attempt `sign_in` let through was wrong: its waits run from now (the answer),
        not from when it came in."""
        account = account_key(handle)
        self.per_address.restart((account, address), now_s)
        self.per_account.restart(account, now_s)

    def succeeded(self, address: str, handle: str, now_s: float) -> None:
        account = account_key(handle)
        self.per_address.reset((account, address))
        self.per_account.reset(account)
        self._know((account, address), now_s)

    def _take(self, what: str, address: str, burst: float, rate_per_s: float, now_s: float) -> None:
        bucket = self.buckets.get((what, address))
        if bucket is None:
            if len(self.buckets) >= self.max_entries:  # forget the buckets that refilled
                self.buckets = _trimmed(
                    self.buckets,
                    warm=lambda old: now_s - old.updated_s < old.burst / old.rate_per_s,
                    when=lambda old: old.updated_s,
                    max_entries=self.max_entries,
                )
            label = f"sign-in and sign-up {what}" if what == "attempts" else what
            bucket = TokenBucket(burst, rate_per_s, what=f"{label} from this address")
            self.buckets[(what, address)] = bucket
        bucket.take(now_s)

    def _know(self, pair: tuple[str, str], now_s: float) -> None:
        if pair not in self.known and len(self.known) >= self.max_entries:
            self.known = _trimmed(
                self.known,
                warm=lambda seen_s: now_s - seen_s < KNOWN_ADDRESS_KEPT_S,
                when=lambda seen_s: seen_s,
                max_entries=self.max_entries,
            )
        self.known[pair] = now_s


V = TypeVar("V")


def _trimmed(
    entries: dict[K, V],
    *,
    warm: Callable[[V], bool],
    when: Callable[[V], float],
    max_entries: int,
) -> dict[K, V]:
    """`entries` less those that cooled down; if more than three quarters are still warm (a
    flood of new keys), the newest half only, so that trimming stays rare."""
    kept = {key: value for key, value in entries.items() if warm(value)}
    if len(kept) > max_entries * 3 // 4:
        by_time = sorted(kept.items(), key=lambda item: when(item[1]))
        kept = dict(by_time[len(by_time) - max_entries // 2 :])
    return kept
