"""Notifications beyond the app: Web Push (the push job) and email (in batches, with one-click
unsubscribe), and the user's settings for both. Both claim their rows before sending (pushed_at,
emailed_at in one UPDATE): a job run twice, on two nodes or after a restart, sends nothing twice;
a node dying between the claim and the send loses that push or email rather than repeating it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import defaultdict
from datetime import time, timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, func, select, update

from parley.actions.base import Services, change
from parley.delivery.mail import Mail
from parley.delivery.push import Outcome, Subscription
from parley.domain import notify as rules
from parley.domain.errors import Forbidden, Invalid, NotFound
from parley.domain.views import NotificationSettingsView
from parley.store.models import Notification, PushSubscription, User

log = logging.getLogger(__name__)

EMAIL_JOB = "notify.email"
CONFIRM_JOB = "notify.confirm_email"
# A user's push subscriptions (browsers, devices) at most.
MAX_SUBSCRIPTIONS = 10
# Pushes sent at the same time by one push job.
PUSHES_AT_ONCE = 32
# Users emailed per run of the email job (the rest wait for the next minute).
EMAILS_PER_RUN = 500
# Lines one email lists at most (the rest are in the app).
LINES_PER_EMAIL = 20
DM_POLICIES = ("everyone", "following", "nobody")


async def send_pushes(services: Services, notification_ids: list[int]) -> int:
    """The push job: claims the notifications' pushes, sends each to every subscription of its
    user, forgets subscriptions the push service says are gone. How many pushes went out."""
    sender = services.push
    if sender is None or not notification_ids:
        return 0
    async with change(services) as unit:
        claimed = list(
            (
                await unit.session.execute(
                    update(Notification)
                    .where(
                        Notification.id.in_(notification_ids),
                        Notification.push_due.is_(True),
                        Notification.pushed_at.is_(None),
                    )
                    .values(pushed_at=unit.now)
                    .returning(
                        Notification.id,
                        Notification.user_id,
                        Notification.text,
                        Notification.link,
                        Notification.kind,
                    )
                )
            ).all()
        )
        subscriptions: dict[int, list[PushSubscription]] = defaultdict(list)
        if claimed:
            for row in (
                await unit.session.execute(
                    select(PushSubscription).where(
                        PushSubscription.user_id.in_({user_id for _, user_id, *_ in claimed})
                    )
                )
            ).scalars():
                subscriptions[row.user_id].append(row)
    sends: list[tuple[int, Subscription, dict[str, object]]] = []
    for notification_id, user_id, text, link, kind in claimed:
        payload: dict[str, object] = {
            "id": notification_id,
            "kind": kind,
            "title": "Parley",
            "body": text,
            "link": link,
        }
        for row in subscriptions.get(user_id, []):
            sends.append((row.id, Subscription(row.endpoint, row.p256dh, row.auth), payload))
    # Many at once: a push service answers in tens of milliseconds or more, and one after the
    # other a batch of a thousand took minutes to reach its last follower.
    slots = asyncio.Semaphore(PUSHES_AT_ONCE)

    async def send(subscription: Subscription, payload: dict[str, object]) -> Outcome:
        async with slots:
            return await sender.send(subscription, payload)

    outcomes = await asyncio.gather(
        *(send(subscription, payload) for _, subscription, payload in sends),
        return_exceptions=True,
    )
    sent = 0
    gone: list[int] = []
    for (subscription_id, _, _), outcome in zip(sends, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            log.error("push: sending failed", exc_info=outcome)
        elif outcome is Outcome.SENT:
            sent += 1
        elif outcome is Outcome.GONE:
            gone.append(subscription_id)
    if gone:
        async with change(services) as unit:
            await unit.session.execute(
                delete(PushSubscription).where(PushSubscription.id.in_(gone))
            )
    return sent


def unsubscribe_token(services: Services, user_id: int) -> str:
    key = services.settings.media_url_secret.encode()
    return hmac.new(key, f"unsubscribe:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]


def confirm_token(services: Services, user_id: int, address: str) -> str:
    """Signs the address with the user: a link for one address confirms no other."""
    key = services.settings.media_url_secret.encode()
    signed = f"confirm-email:{user_id}:{address}".encode()
    return hmac.new(key, signed, hashlib.sha256).hexdigest()[:32]


async def send_confirmation(services: Services, user_id: int, address: str) -> bool:
    """The confirmation job: one email to a newly given address with the link that confirms it
    (nothing else is sent to an address its owner has not confirmed: anyone could type someone
    else's). Whether it went."""
    mailer = services.mailer
    if mailer is None:
        return False
    async with services.store.read() as session:
        user = await session.get(User, user_id)
    if user is None or user.email != address or user.email_confirmed:
        return False  # changed or confirmed since
    query = urlencode({"user": user_id, "token": confirm_token(services, user_id, address)})
    link = f"{_base_url(services)}/api/notifications/confirm-email?{query}"
    mail = Mail(
        to=address,
        subject="Parley: confirm your email address",
        text=(
            f"@{user.handle} asked Parley to send notifications to this address.\n\n"
            f"Confirm it here: {link}\n\nNot you? Do nothing: without a confirmation we send "
            "nothing more to this address."
        ),
        unsubscribe_url=unsubscribe_url(services, user_id),
    )
    return await mailer.send([mail]) == 1


async def confirm_email(services: Services, user_id: int, token: str) -> str:
    """The confirmation link followed: the user's current address is confirmed. Which."""
    async with change(services) as unit:
        user = await unit.session.get(User, user_id)
        address = user.email if user is not None else None
        if user is None or address is None:
            raise Forbidden("this confirmation link is not valid (any more)")
        expected = confirm_token(services, user_id, address).encode()
        if not hmac.compare_digest(token.encode(), expected):
            raise Forbidden("this confirmation link is not valid (any more)")
        user.email_confirmed = True
        return address


def _base_url(services: Services) -> str:
    """Where the links of an email lead: the public URL, else the address served on (an email
    reader can open no relative link)."""
    return services.settings.public_url.rstrip("/") or (
        f"http://{services.settings.host}:{services.settings.port}"
    )


def unsubscribe_url(services: Services, user_id: int) -> str:
    base = _base_url(services)
    query = urlencode({"user": user_id, "token": unsubscribe_token(services, user_id)})
    return f"{base}/api/notifications/unsubscribe?{query}"


async def unsubscribe(services: Services, user_id: int, token: str) -> None:
    """One-click unsubscribe (RFC 8058): no email of any kind any more; the app and pushes stay."""
    # As bytes: compare_digest refuses str with characters beyond ASCII (a 500 the fuzzer found).
    expected = unsubscribe_token(services, user_id).encode()
    if not hmac.compare_digest(token.encode(), expected):
        raise Forbidden("this unsubscribe link is not valid")
    async with change(services) as unit:
        user = await unit.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        chosen = rules.parse_channels(user.notify_channels or {})
        user.notify_channels = rules.stored_channels(
            {
                kind: chosen.get(kind, rules.DEFAULT_CHANNELS[kind]) - {rules.Channel.EMAIL}
                for kind in rules.Kind
            }
        )
        await unit.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.emailed_at.is_(None))
            .values(email_after=None)
        )


async def send_emails(services: Services) -> int:
    """The email job (every minute): each user with an email due gets one message listing
    everything waiting for them. How many emails went out."""
    mailer = services.mailer
    if mailer is None:
        return 0
    now = services.clock()
    async with change(services) as unit:
        due_users = list(
            (
                await unit.session.execute(
                    select(Notification.user_id)
                    .where(Notification.email_after <= now, Notification.emailed_at.is_(None))
                    .distinct()
                    .limit(EMAILS_PER_RUN)
                )
            ).scalars()
        )
        if not due_users:
            return 0
        # With what is due, what would be due within the batch interval goes too (one email
        # rather than two a few minutes apart), but not what waits for the end of quiet hours.
        horizon = now + timedelta(seconds=services.settings.email_batch_interval_s)
        claimed = list(
            (
                await unit.session.execute(
                    update(Notification)
                    .where(
                        Notification.user_id.in_(due_users),
                        Notification.email_after <= horizon,
                        Notification.emailed_at.is_(None),
                    )
                    .values(emailed_at=now)
                    .returning(Notification.user_id, Notification.text, Notification.link)
                )
            ).all()
        )
        # Confirmed addresses only: one changed since the notification was stored waits for
        # its confirmation like any new one.
        addresses = dict(
            (
                await unit.session.execute(
                    select(User.id, User.email).where(
                        User.id.in_(due_users), User.email_confirmed.is_(True)
                    )
                )
            ).all()
        )
    lines: dict[int, list[str]] = defaultdict(list)
    base = _base_url(services)
    for user_id, text, link in claimed:
        lines[user_id].append(f"- {text}\n  {base}{link}")
    mails = []
    for user_id, listed in lines.items():
        address = addresses.get(user_id)
        if not address:
            continue
        more = len(listed) - LINES_PER_EMAIL
        body = "\n".join(listed[:LINES_PER_EMAIL])
        if more > 0:
            body += f"\n\n... and {more} more in the app."
        subject = listed[0].split("\n")[0][2:] if len(listed) == 1 else f"{len(listed)} updates"
        mails.append(
            Mail(
                to=address,
                subject=f"Parley: {subject}"[:150],
                text=body,
                unsubscribe_url=unsubscribe_url(services, user_id),
            )
        )
    try:
        return await mailer.send(mails)
    except Exception:
        log.exception("mail: sending %d emails failed", len(mails))
        return 0


async def subscribe_push(
    services: Services, user_id: int, *, endpoint: str, p256dh: str, auth: str
) -> None:
    """Keeps a browser's push subscription (the same endpoint again replaces its keys)."""
    # The server will POST to it: an https URL on a public name only (no SSRF, domain/notify.py).
    endpoint = rules.check_push_endpoint(endpoint, allow_http=services.settings.push_allow_http)
    async with change(services) as unit:
        existing = (
            await unit.session.execute(
                select(PushSubscription).where(PushSubscription.endpoint == endpoint)
            )
        ).scalar_one_or_none()
        if existing is not None:
            existing.user_id, existing.p256dh, existing.auth = user_id, p256dh, auth
            return
        count = await unit.session.scalar(
            select(func.count())
            .select_from(PushSubscription)
            .where(PushSubscription.user_id == user_id)
        )
        if int(count or 0) >= MAX_SUBSCRIPTIONS:
            raise Invalid(
                "endpoint",
                "max_subscriptions",
                f"at most {MAX_SUBSCRIPTIONS} browsers get pushes: remove one first",
            )
        unit.session.add(
            PushSubscription(
                user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=unit.now
            )
        )


async def unsubscribe_push(services: Services, user_id: int, endpoint: str) -> None:
    async with change(services) as unit:
        await unit.session.execute(
            delete(PushSubscription).where(
                PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint
            )
        )


def _minutes(value: time | None) -> int | None:
    return None if value is None else value.hour * 60 + value.minute


def _clock(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


async def settings_of(services: Services, user_id: int) -> NotificationSettingsView:
    async with services.store.read() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        subscriptions = await session.scalar(
            select(func.count())
            .select_from(PushSubscription)
            .where(PushSubscription.user_id == user_id)
        )
        chosen = rules.parse_channels(user.notify_channels or {})
        return NotificationSettingsView(
            channels=rules.stored_channels(
                {kind: chosen.get(kind, rules.DEFAULT_CHANNELS[kind]) for kind in rules.Kind}
            ),
            quiet_start=_clock(user.quiet_start_min),
            quiet_end=_clock(user.quiet_end_min),
            time_zone=user.time_zone,
            email=user.email,
            email_confirmed=user.email is not None and user.email_confirmed,
            email_available=bool(services.settings.smtp_host),
            push_subscriptions=int(subscriptions or 0),
            dm_policy=user.dm_policy,
        )


async def change_settings(
    services: Services,
    user_id: int,
    *,
    channels: dict[str, list[str]] | None = None,
    quiet: tuple[time | None, time | None] | None = None,
    time_zone: str | None = None,
    email: str | None = None,
    clear_email: bool = False,
    dm_policy: str | None = None,
) -> NotificationSettingsView:
    """Changes what is named; checked first, written together or not at all."""
    parsed = rules.parse_channels(channels) if channels is not None else None
    if time_zone is not None:
        time_zone = rules.check_time_zone(time_zone)
    if quiet is not None and (quiet[0] is None) != (quiet[1] is None):
        raise Invalid("quiet_end", "both_or_neither", "quiet hours need a start and an end")
    if dm_policy is not None and dm_policy not in DM_POLICIES:
        raise Invalid("dm_policy", "choice", f"one of {', '.join(DM_POLICIES)}")
    async with change(services) as unit:
        user = await unit.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        if parsed is not None:
            merged = rules.parse_channels(user.notify_channels or {})
            merged.update(parsed)
            user.notify_channels = rules.stored_channels(merged)
        if quiet is not None:
            user.quiet_start_min, user.quiet_end_min = _minutes(quiet[0]), _minutes(quiet[1])
        if time_zone is not None:
            user.time_zone = time_zone
        if clear_email:
            user.email, user.email_confirmed = None, False
        elif email is not None:
            address = rules.check_email(email)
            if address != user.email:
                user.email, user.email_confirmed = address, False
            if not user.email_confirmed:
                # Sent again when the same unconfirmed address is given again (a lost email).
                unit.enqueue(CONFIRM_JOB, user_id=user_id, address=address)
        if dm_policy is not None:
            user.dm_policy = dm_policy
    return await settings_of(services, user_id)
