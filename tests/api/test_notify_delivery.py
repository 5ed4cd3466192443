"""Real delivery of notifications beyond the app (actions/deliver.py, delivery/): Web Push to a
local HTTP server standing in for a browser vendor's push service (the outside boundary), which
checks the VAPID signature and decrypts the payload with the subscription's own keys (RFC 8291,
RFC 8292); email through a local SMTP server (aiosmtpd), batched, with RFC 8058 one-click
unsubscribe."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from notify_support import (
    BrowserKeys,
    PushService,
    add_followers,
    b64url,
    bell,
    push_service,
    unb64url,
)
from parley.actions import deliver
from parley.delivery import push
from parley.delivery.push import Outcome, PushSender, Subscription
from support import Client, Running, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(name="push_service")
async def _push_service() -> AsyncIterator[PushService]:
    async with push_service() as service:
        yield service


def verify_vapid(authorization: str, server_key_b64: str, endpoint: str) -> dict[str, Any]:
    """The claims of a VAPID `Authorization: vapid t=JWT,k=KEY` header (RFC 8292) whose ES256
    signature verifies with the server's public key."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(part.strip().split("=", 1) for part in params.split(","))
    assert parts["k"] == server_key_b64
    header_b64, claims_b64, signature_b64 = parts["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature_b64)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key_b64))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        pytest.fail("the VAPID JWT does not verify with GET /api/push/key")
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    parsed = urlsplit(endpoint)
    assert claims["aud"] == f"{parsed.scheme}://{parsed.netloc}"
    assert claims["sub"].startswith(("mailto:", "https:"))
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


async def _subscribe(client: Client, keys: BrowserKeys, endpoint: str) -> None:
    await client.ok("POST", "/api/push/subscriptions", json=keys.subscription(endpoint), status=204)


async def _push_subscriptions(client: Client) -> int:
    count: int = (await client.ok("GET", "/api/notifications/settings"))["settings"][
        "push_subscriptions"
    ]
    return count


# --- Web Push ----------------------------------------------------------------------------------


@pytest.mark.parley_settings(push_allow_http=True)
async def test_a_follower_gets_a_web_push_they_can_decrypt(
    server: Running, push_service: PushService
) -> None:
    host = await server.signup("host", "Hanna Host")
    fan = await server.signup("fan")
    await fan.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    keys = BrowserKeys.make()
    endpoint = push_service.endpoint()
    await _subscribe(fan, keys, endpoint)
    assert await _push_subscriptions(fan) == 1
    server_key = (await fan.ok("GET", "/api/push/key"))["public_key"]

    space = await host.create_space("Morning news")
    await push_service.wait_for(endpoint)
    [pushed] = push_service.to(endpoint)
    headers = {name.lower(): value for name, value in pushed.headers.items()}
    verify_vapid(headers["authorization"], server_key, endpoint)
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    payload = keys.decrypt(pushed.body)
    shown = await bell(fan, 1)
    [told] = shown["notifications"]
    assert payload == {
        "id": told["id"],
        "kind": "live",
        "title": "Parley",
        "body": "Hanna Host is live: Morning news",
        "link": f"/s/{space['id']}",
    }
    # Another key cannot read it.
    with pytest.raises(Exception):  # noqa: B017, PT011 (http_ece raises a bare ECEException)
        BrowserKeys(keys.private_key, os.urandom(16)).decrypt(pushed.body)
    # The subscription's owner removes it: nothing more goes there.
    await fan.ok("POST", "/api/push/subscriptions/remove", json={"endpoint": endpoint}, status=204)
    assert await _push_subscriptions(fan) == 0


@pytest.mark.parley_settings(push_allow_http=True)
async def test_a_subscription_the_push_service_says_is_gone_is_forgotten(
    server: Running, push_service: PushService
) -> None:
    host = await server.signup("host")
    fan = await server.signup("fan")
    await fan.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    gone, kept = push_service.endpoint(), push_service.endpoint()
    push_service.status_of[gone.rsplit("/", 1)[1]] = 410
    await _subscribe(fan, BrowserKeys.make(), gone)
    await _subscribe(fan, BrowserKeys.make(), kept)
    assert await _push_subscriptions(fan) == 2
    await host.create_space("Live")
    await push_service.wait_for(gone)
    await push_service.wait_for(kept)
    deadline = time.monotonic() + 10
    while await _push_subscriptions(fan) != 1:
        assert time.monotonic() < deadline, "the gone subscription was kept"
        await asyncio.sleep(0.1)


@pytest.mark.parley_settings(push_allow_http=True)
async def test_quiet_hours_hold_pushes_back_but_not_the_bell(
    server: Running, push_service: PushService
) -> None:
    host = await server.signup("host")
    sleeper = await server.signup("sleeper")
    awake = await server.signup("awake")
    now = server.clock()
    await sleeper.ok(
        "PATCH",
        "/api/notifications/settings",
        json={
            "quiet_start": (now - timedelta(hours=1)).strftime("%H:%M"),
            "quiet_end": (now + timedelta(hours=1)).strftime("%H:%M"),
            "time_zone": "UTC",
        },
    )
    sleeper_endpoint, awake_endpoint = push_service.endpoint(), push_service.endpoint()
    for client, endpoint in ((sleeper, sleeper_endpoint), (awake, awake_endpoint)):
        await client.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
        await _subscribe(client, BrowserKeys.make(), endpoint)
    await host.create_space("Late show")
    # The one awake is pushed to; the same fan-out told the sleeper in the app alone.
    await push_service.wait_for(awake_endpoint)
    assert len((await bell(sleeper, 1))["notifications"]) == 1
    await asyncio.sleep(0.5)
    assert push_service.to(sleeper_endpoint) == []


@pytest.mark.parley_settings(push_allow_http=True)
async def test_the_pushes_of_many_go_out_at_once(
    server: Running, push_service: PushService
) -> None:
    """Bug: a push job sent its pushes one after the other: with a push service answering in
    half a second, the last of a thousand followers heard of it eight minutes later."""
    host = await server.signup("host", "Hanna Host")
    keys = BrowserKeys.make()
    services = server.app.state.services

    async def bulk() -> list[int]:
        async with services.store.write() as session:
            return await add_followers(
                session,
                host.id,
                40,
                push_endpoint=lambda user_id: f"{push_service.base_url}/push/{user_id}",
                p256dh=keys.p256dh,
                auth=b64url(keys.auth),
            )

    followers = await server.on_server(bulk())
    push_service.delay_s = 0.5
    started = time.monotonic()
    await host.create_space("Everyone at once")
    while len(push_service.received) < len(followers):
        # One after the other, 40 would take 20 s.
        assert time.monotonic() - started < 5, f"{len(push_service.received)} pushes in 5 s"
        await asyncio.sleep(0.05)
    assert sorted(int(pushed.token) for pushed in push_service.received) == sorted(followers)
    for pushed in push_service.received:
        assert keys.decrypt(pushed.body)["body"] == "Hanna Host is live: Everyone at once"


async def test_push_subscriptions_must_be_https_by_default(server: Running) -> None:
    fan = await server.signup("fan")
    keys = BrowserKeys.make()
    response = await fan.request(
        "POST", "/api/push/subscriptions", json=keys.subscription("http://push.example/x/1")
    )
    assert response.status_code == 422 and "endpoint" in response.text
    bad = keys.subscription("https://push.example/x/1")
    bad["keys"]["auth"] = "not base64!"
    response = await fan.request("POST", "/api/push/subscriptions", json=bad)
    assert response.status_code == 422 and "auth" in response.text
    assert await _push_subscriptions(fan) == 0


async def test_a_push_service_that_hangs_is_given_up_on(
    push_service: PushService, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: pywebpush passed its own `timeout=None` to aiohttp, which overrides the session's
    timeout with none at all: a push service that never answered held the push job forever."""
    monkeypatch.setattr(push, "TIMEOUT_S", 0.5)
    push_service.delay_s = 30
    sender = PushSender(push.load_or_make_key("", tmp_path / "vapid.pem"), "mailto:a@b.org")
    keys = BrowserKeys.make()
    subscription = Subscription(push_service.endpoint(), keys.p256dh, b64url(keys.auth))
    try:
        started = time.monotonic()
        outcome = await asyncio.wait_for(sender.send(subscription, {"body": "hi"}), 10)
        assert outcome is Outcome.FAILED
        assert time.monotonic() - started < 5
    finally:
        await sender.close()


# --- email -------------------------------------------------------------------------------------

SMTP_PORT = free_port()


class Mailbox:
    """An SMTP server's handler (aiosmtpd): keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        # Messages to these addresses are refused once sent (as a spam filter does).
        self.refused: set[str] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused & set(envelope.rcpt_tos):
            return "554 5.7.1 Message refused"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{count} email(s) expected"
            await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# Batched over 30 s: the every-minute job may run at any moment, and must not find the first of
# two notifications due before the second is stored. The tests move the server's clock on.
EMAIL_SETTINGS = pytest.mark.parley_settings(
    smtp_host="127.0.0.1", smtp_port=SMTP_PORT, email_batch_interval_s=30
)


async def _wants_email(client: Client, address: str, mailbox: Mailbox) -> None:
    """`client` gives `address`, confirms it from the email sent to it, and chooses email for a
    followed person going live."""
    settings = await client.ok(
        "PATCH",
        "/api/notifications/settings",
        json={"email": address, "channels": {"live": ["in_app", "email"]}},
    )
    assert settings["settings"]["email"] == address
    assert settings["settings"]["email_available"] is True
    assert settings["settings"]["email_confirmed"] is False
    await _confirm(client, address, mailbox)


async def _confirmation(address: str, mailbox: Mailbox) -> str:
    """The confirmation link (path and query) sent to `address`, its email taken out of the
    mailbox (the tests count the notifications' emails)."""
    deadline = time.monotonic() + 10
    while True:
        for index, message in enumerate(mailbox.messages):
            if message["To"] == address and "confirm your email" in message["Subject"]:
                del mailbox.messages[index], mailbox.recipients[index]
                found = re.search(
                    r"https?://\S+/api/notifications/confirm-email\?\S+", _body(message)
                )
                assert found, _body(message)
                link = urlsplit(found.group(0))
                return f"{link.path}?{link.query}"
        assert time.monotonic() < deadline, f"no confirmation email to {address}"
        await asyncio.sleep(0.05)


async def _confirm(client: Client, address: str, mailbox: Mailbox) -> None:
    link = await _confirmation(address, mailbox)
    async with client.running.browser() as browser:
        # The link opens a page with a button (mail scanners follow links): not confirmed yet.
        page = await browser.get(link)
        assert page.status_code == 200 and "<button>" in page.text
        assert (await client.ok("GET", "/api/notifications/settings"))["settings"][
            "email_confirmed"
        ] is False
        confirmed = await browser.post(link)
        assert confirmed.status_code == 200, confirmed.text
    settings = await client.ok("GET", "/api/notifications/settings")
    assert settings["settings"]["email_confirmed"] is True


async def _send_emails(server: Running) -> int:
    """The email job, as the every-minute job runs it, once the batch interval is over."""
    server.clock.advance(seconds=40)
    services = server.app.state.services
    sent: int = await server.on_server(deliver.send_emails(services))
    return sent


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()  # type: ignore[attr-defined]
    return content


@EMAIL_SETTINGS
async def test_an_email_with_one_click_unsubscribe(server: Running, mailbox: Mailbox) -> None:
    host = await server.signup("host", "Hanna Host")
    other_host = await server.signup("other")
    fan = await server.signup("fan")
    for followed in (host, other_host):
        await fan.ok("PUT", f"/api/users/{followed.handle}/follow", status=204)
    await _wants_email(fan, "fan@example.org", mailbox)
    await host.create_space("Morning news")
    await bell(fan, 1)
    await _send_emails(server)
    [message] = await mailbox.wait_for(1)
    assert mailbox.recipients == [["fan@example.org"]]
    assert message["To"] == "fan@example.org"
    assert message["Subject"] == "Parley: Hanna Host is live: Morning news"
    assert "Hanna Host is live: Morning news" in _body(message)
    # RFC 8058: a one-click POST to the List-Unsubscribe URL.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith("<") and unsubscribe.endswith(">")
    url = urlsplit(unsubscribe[1:-1])
    assert url.path == "/api/notifications/unsubscribe"
    assert unsubscribe[1:-1] in _body(message)
    async with httpx.AsyncClient(base_url=server.base_url) as mail_client:
        # A link alone (mail scanners follow them) only shows a page with a button.
        page = await mail_client.get(f"{url.path}?{url.query}")
        assert page.status_code == 200 and "<form method=post" in page.text
        forged = await mail_client.post(
            f"{url.path}?{url.query[:-4]}beef",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert forged.status_code == 403
        done = await mail_client.post(
            f"{url.path}?{url.query}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
    settings = (await fan.ok("GET", "/api/notifications/settings"))["settings"]
    assert all("email" not in channels for channels in settings["channels"].values())
    # No more email, while the app still tells.
    await other_host.create_space("Evening news")
    await bell(fan, 2)
    assert await _send_emails(server) == 0
    await asyncio.sleep(0.3)
    assert len(mailbox.messages) == 1


@EMAIL_SETTINGS
async def test_two_notifications_make_one_email(server: Running, mailbox: Mailbox) -> None:
    hosts = [await server.signup(f"host{n}", f"Host {n}") for n in range(2)]
    fan = await server.signup("fan")
    quiet = await server.signup("quiet")
    for followed in hosts:
        await fan.ok("PUT", f"/api/users/{followed.handle}/follow", status=204)
        await quiet.ok("PUT", f"/api/users/{followed.handle}/follow", status=204)
    await _wants_email(fan, "fan@example.org", mailbox)
    # An address but no email chosen for what happens now: none.
    await quiet.ok("PATCH", "/api/notifications/settings", json={"email": "q@example.org"})
    await _confirm(quiet, "q@example.org", mailbox)
    for n, host in enumerate(hosts):
        await host.create_space(f"Show {n}")
    await bell(fan, 2)
    await bell(quiet, 2)
    await _send_emails(server)
    [message] = await mailbox.wait_for(1)
    assert message["Subject"] == "Parley: 2 updates"
    body = _body(message)
    assert "Host 0 is live: Show 0" in body and "Host 1 is live: Show 1" in body
    # Sent once: the next run finds nothing.
    assert await _send_emails(server) == 0
    await asyncio.sleep(0.3)
    assert mailbox.recipients == [["fan@example.org"]]


@EMAIL_SETTINGS
async def test_an_email_told_just_before_quiet_hours_waits_for_their_end(
    server: Running, mailbox: Mailbox
) -> None:
    """Bug: the batch's wait was added after the quiet hours check, so what was told shortly
    before they began was emailed inside them."""
    host = await server.signup("host", "Hanna Host")
    fan = await server.signup("fan")
    await fan.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    await _wants_email(fan, "fan@example.org", mailbox)
    # The server's clock at 50 s into a minute; quiet hours from the next minute, for two hours.
    server.clock.advance(seconds=(50 - server.clock().second) % 60)
    start = (server.clock() + timedelta(minutes=1)).replace(second=0, microsecond=0)
    await fan.ok(
        "PATCH",
        "/api/notifications/settings",
        json={
            "quiet_start": start.strftime("%H:%M"),
            "quiet_end": (start + timedelta(hours=2)).strftime("%H:%M"),
            "time_zone": "UTC",
        },
    )
    await host.create_space("Just before bed")
    await bell(fan, 1)
    # 40 s on: the batch's 30 s are over, inside the quiet hours.
    assert await _send_emails(server) == 0
    server.clock.advance(hours=2)
    await _send_emails(server)
    [message] = await mailbox.wait_for(1)
    assert "Hanna Host is live: Just before bed" in _body(message)


@EMAIL_SETTINGS
async def test_a_message_the_smtp_server_refuses_does_not_stop_the_others(
    server: Running, mailbox: Mailbox
) -> None:
    """Bug: one message refused after its DATA ended the run, and the rest of the batch (claimed
    with it) was never sent."""
    host = await server.signup("host", "Hanna Host")
    refused = await server.signup("refused")
    fan = await server.signup("fan")
    for client, address in ((refused, "refused@example.org"), (fan, "fan@example.org")):
        await client.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
        await _wants_email(client, address, mailbox)
    mailbox.refused.add("refused@example.org")
    await host.create_space("Filtered")
    await bell(fan, 1)
    await bell(refused, 1)
    assert await _send_emails(server) == 1
    [message] = await mailbox.wait_for(1)
    assert mailbox.recipients == [["fan@example.org"]]
    assert "Hanna Host is live: Filtered" in _body(message)


@EMAIL_SETTINGS
async def test_an_address_gets_nothing_until_its_owner_confirms_it(
    server: Running, mailbox: Mailbox
) -> None:
    """Anyone could type someone else's address: until the link sent to it is followed, that
    address gets the confirmation and nothing else; a link confirms only the address it was
    sent to, and a new address must be confirmed again."""
    host = await server.signup("host", "Hanna Host")
    fan = await server.signup("fan")
    await fan.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    await fan.ok(
        "PATCH",
        "/api/notifications/settings",
        json={"email": "victim@example.org", "channels": {"live": ["in_app", "email"]}},
    )
    old_link = await _confirmation("victim@example.org", mailbox)
    await host.create_space("Not for the victim")
    await bell(fan, 1)
    assert await _send_emails(server) == 0
    assert mailbox.messages == []
    # A new address: the old address's link confirms nothing.
    await fan.ok("PATCH", "/api/notifications/settings", json={"email": "fan@example.org"})
    async with server.browser() as browser:
        stale = await browser.post(old_link)
        assert stale.status_code == 403 and stale.json()["error"] == "forbidden"
        forged = await browser.post(
            "/api/notifications/confirm-email", params={"user": fan.id, "token": "0" * 32}
        )
        assert forged.status_code == 403
    await _confirm(fan, "fan@example.org", mailbox)
    # Confirmed: from now on (what was told before had no address to go to).
    other = await server.signup("other", "Otto Other")
    await fan.ok("PUT", f"/api/users/{other.handle}/follow", status=204)
    await other.create_space("For the fan")
    await bell(fan, 2)
    await _send_emails(server)
    [message] = await mailbox.wait_for(1)
    assert mailbox.recipients == [["fan@example.org"]]
    assert "Otto Other is live: For the fan" in _body(message)
    assert "Not for the victim" not in _body(message)


@EMAIL_SETTINGS
async def test_confirmation_emails_are_few(server: Running, mailbox: Mailbox) -> None:
    """Giving addresses is how someone would flood another's inbox with confirmations: three,
    then one per ten minutes."""
    fan = await server.signup("fan")
    for n in range(3):
        await fan.ok("PATCH", "/api/notifications/settings", json={"email": f"v{n}@example.org"})
    refused = await fan.request(
        "PATCH", "/api/notifications/settings", json={"email": "v3@example.org"}
    )
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    # Other settings still change.
    await fan.ok("PATCH", "/api/notifications/settings", json={"dm_policy": "following"})
