"""Who is told what, and how (issue 13): the kinds of notification, the channels a user picks per
kind, quiet hours, who never hears of whom, batching and deduplication. No I/O."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from parley.domain.errors import Invalid


class Kind(StrEnum):
    """What a notification is about; a user chooses its channels per kind."""

    # Someone you follow went live, or a space you asked to be reminded of did.
    LIVE = "live"
    # About a scheduled space you asked to be reminded of, co-host, or host: it starts now (the
    # host's reminder), it was edited or canceled, you were named co-host.
    REMINDER = "reminder"
    # A host or co-host invites you to listen or to speak.
    INVITATION = "invitation"
    # A direct message.
    MESSAGE = "message"
    FOLLOWER = "follower"
    # Someone shared your space with their followers.
    SHARED = "shared"
    # What came of a report you filed.
    REPORT = "report"


class Channel(StrEnum):
    IN_APP = "in_app"
    PUSH = "push"
    EMAIL = "email"


# What a new account gets: everything in the app; pushes for what is happening now or is meant
# for you alone; email only for what is worth reading later (and only once an address is set).
DEFAULT_CHANNELS: Mapping[Kind, frozenset[Channel]] = {
    Kind.LIVE: frozenset({Channel.IN_APP, Channel.PUSH}),
    Kind.REMINDER: frozenset({Channel.IN_APP, Channel.PUSH, Channel.EMAIL}),
    Kind.INVITATION: frozenset({Channel.IN_APP, Channel.PUSH, Channel.EMAIL}),
    Kind.MESSAGE: frozenset({Channel.IN_APP, Channel.PUSH}),
    Kind.FOLLOWER: frozenset({Channel.IN_APP}),
    Kind.SHARED: frozenset({Channel.IN_APP}),
    Kind.REPORT: frozenset({Channel.IN_APP, Channel.EMAIL}),
}

# A user's notifications are kept this long, read or not (the bell shows the newest).
KEPT_DAYS = 90


@dataclass(frozen=True)
class QuietHours:
    """Between `start` and `end` (local time of `time_zone`; `end` before `start` spans
    midnight) nothing is pushed, and email waits until they end. In the app, all arrives."""

    start: time
    end: time
    time_zone: str

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.time_zone)).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, at: datetime) -> datetime:
        """The first moment after `at` outside quiet hours (`at` itself when outside)."""
        if not self.contains(at):
            return at
        zone = ZoneInfo(self.time_zone)
        local = at.astimezone(zone)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(at.tzinfo)


@dataclass(frozen=True)
class Preferences:
    """A user's choices: channels per kind (kinds not named take the defaults), quiet hours,
    whether they have an email address and a push subscription at all."""

    channels: Mapping[Kind, frozenset[Channel]] = field(default_factory=dict)
    quiet: QuietHours | None = None
    has_email: bool = False
    has_push: bool = False

    def chosen(self, kind: Kind) -> frozenset[Channel]:
        return self.channels.get(kind, DEFAULT_CHANNELS[kind])


@dataclass(frozen=True)
class Delivery:
    """How one notification reaches one user: stored and shown in the app, pushed now, emailed
    (in the next batch at or after `email_after`)."""

    in_app: bool
    push: bool
    email: bool
    email_after: datetime | None = None

    @property
    def any(self) -> bool:
        return self.in_app or self.push or self.email


def delivery(kind: Kind, prefs: Preferences, now: datetime) -> Delivery:
    """The channels `kind` takes for this user now. A push that quiet hours hold back is dropped
    (it would be stale by morning); an email waits for the end of quiet hours."""
    chosen = prefs.chosen(kind)
    quiet = prefs.quiet is not None and prefs.quiet.contains(now)
    push = Channel.PUSH in chosen and prefs.has_push and not quiet
    email = Channel.EMAIL in chosen and prefs.has_email
    email_after = None
    if email:
        email_after = prefs.quiet.ends_after(now) if prefs.quiet is not None else now
    return Delivery(
        in_app=Channel.IN_APP in chosen, push=push, email=email, email_after=email_after
    )


def may_tell(*, recipient_id: int, actor_id: int | None, blocked_either_way: bool) -> bool:
    """Nobody hears of their own doing, and nothing passes between two people when either
    blocks the other."""
    if actor_id is not None and recipient_id == actor_id:
        return False
    return not blocked_either_way


def quoted(title: str) -> str:
    """A space's title inside a sentence ("Ann shared “Morning news”"): a title reads as
    words of the sentence otherwise."""
    return f"\u201c{title}\u201d"


def dedupe_key(kind: Kind, *parts: int | str) -> str:
    """One notification per user per key: a fan-out that runs twice (a restart, a second node)
    inserts nothing the second time. `parts` name what happened (`live`, the space)."""
    return ":".join([kind.value, *(str(part) for part in parts)])


def batches(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    if size < 1:
        raise ValueError("a batch holds at least one")
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def parse_channels(raw: Mapping[str, Iterable[str]]) -> dict[Kind, frozenset[Channel]]:
    """A user's channel choices as sent (kind -> channel names), checked."""
    chosen: dict[Kind, frozenset[Channel]] = {}
    for kind_name, channel_names in raw.items():
        try:
            kind = Kind(kind_name)
        except ValueError:
            raise Invalid(
                "channels", "kind", f"no kind of notification {kind_name[:40]!r}"
            ) from None
        names = list(channel_names)
        picked: set[Channel] = set()
        for name in names:
            try:
                picked.add(Channel(name))
            except ValueError:
                raise Invalid(
                    f"channels.{kind.value}",
                    "channel",
                    f"no channel {name[:40]!r} (one of {', '.join(c.value for c in Channel)})",
                ) from None
        chosen[kind] = frozenset(picked)
    return chosen


def stored_channels(chosen: Mapping[Kind, frozenset[Channel]]) -> dict[str, list[str]]:
    return {kind.value: sorted(c.value for c in channels) for kind, channels in chosen.items()}


def check_time_zone(name: str) -> str:
    """An IANA time zone name (Europe/Paris), as calendars and quiet hours take them."""
    if name == "UTC":
        return name
    if len(name) > 64 or name not in _zones():
        raise Invalid("time_zone", "iana", f"{name[:64]!r} is not an IANA time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("time_zone", "iana", f"{name!r} is not an IANA time zone name") from None
    return name


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def check_email(address: str) -> str:
    """An address to send to: one @, a dot in the domain, no spaces or control characters."""
    address = address.strip()
    if len(address) > 254 or not _EMAIL.match(address) or not address.isprintable():
        raise Invalid("email", "address", "must be an email address like name@example.org")
    return address


def quiet_hours(start: time | None, end: time | None, time_zone: str) -> QuietHours | None:
    if start is None or end is None:
        return None
    return QuietHours(start=start, end=end, time_zone=check_time_zone(time_zone))


# --- Web Push endpoints --------------------------------------------------------------------------
# The server POSTs to the endpoint a browser gave (RFC 8030 s5), so it is a URL the user chose:
# left unchecked, it makes the server reach what only it can reach (SSRF: a Redis on
# https://127.0.0.1:6379/, the cloud metadata at 169.254.169.254, an intranet host). Every push
# service (FCM, Mozilla autopush, Apple, WNS) is an https URL on a public name, port 443.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Names that resolve only inside a network (RFC 6761, RFC 6762, RFC 8375 and common practice).
_LOCAL_SUFFIXES = ("localhost", "local", "internal", "home.arpa", "localdomain", "lan", "intranet")


def check_push_endpoint(endpoint: str, *, allow_http: bool = False) -> str:
    """A push subscription's endpoint: an https URL on port 443 whose host is a public name (a
    dotted DNS name with an alphabetic top-level label, not a local one; no IP address, which
    would open loopback, private and link-local ranges); no credentials in it.
    `allow_http` (settings.push_allow_http, for tests against a local push service) lets any
    http(s) URL through. Only the text is checked: a public name that resolves to a private
    address (DNS rebinding included) is not caught here."""
    if not endpoint.isascii() or not endpoint.isprintable() or " " in endpoint:
        raise Invalid("endpoint", "url", "a push endpoint is a URL without spaces or controls")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise Invalid("endpoint", "url", "a push endpoint is an https:// URL") from None
    scheme = parts.scheme.lower()
    if allow_http and scheme in ("http", "https") and parts.hostname:
        return endpoint
    if scheme != "https" or not parts.hostname:
        raise Invalid("endpoint", "https", "a push endpoint is an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise Invalid("endpoint", "url", "a push endpoint carries no user name or password")
    if port is not None and port != 443:
        raise Invalid("endpoint", "port", "a push endpoint is on the https port (443)")
    host = parts.hostname.lower().removesuffix(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        # Loopback, private, link-local, and the IPv6 forms that carry an IPv4 address inside
        # (::ffff:127.0.0.1, 6to4, NAT64): no push service is reached by an address, so none is.
        raise Invalid("endpoint", "public_host", "a push endpoint names its host, not an address")
    labels = host.split(".")
    # An all-numeric last label is an IP address in another spelling (127.1, 2130706433,
    # 0x7f.1: the resolver reads them as addresses); a single label resolves on the local
    # network's search domains (https://redis/).
    if (
        len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not labels[-1][0].isalpha()
        or any(host == s or host.endswith("." + s) for s in _LOCAL_SUFFIXES)
    ):
        raise Invalid("endpoint", "public_host", "a push endpoint's host must be a public name")
    return endpoint
