"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291), by pywebpush. The
node's VAPID key pair: the private key in settings or, by default, made once in the data folder
(every node of an instance must share it: browsers bind a subscription to the public key)."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

log = logging.getLogger(__name__)

# A push not delivered within this long is dropped by the push service (it was about now).
TTL_S = 3600
TIMEOUT_S = 10.0


class Outcome(StrEnum):
    SENT = "sent"
    # The push service says the subscription no longer exists (404/410): forget it.
    GONE = "gone"
    FAILED = "failed"


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def load_or_make_key(private_key_pem: str, key_file: Path) -> Vapid:
    """The VAPID key: from `private_key_pem` when set, else from `key_file`, made there (mode
    0600) on first use."""
    if private_key_pem:
        return Vapid.from_pem(private_key_pem.encode())
    if key_file.exists():
        return Vapid.from_file(str(key_file))
    vapid = Vapid()
    vapid.generate_keys()
    pem = vapid.private_pem()
    key_file.touch(mode=0o600)
    key_file.write_bytes(pem)
    return vapid


def public_key_b64url(vapid: Vapid) -> str:
    """The application server key a browser's `pushManager.subscribe` takes."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class RedirectRefused(aiohttp.ClientError):
    """A push service answered with a redirect, which is not followed."""


class PublicResolver(AbstractResolver):
    """Resolves a push endpoint's name to its public addresses only. An endpoint is a URL the
    user gave (checked when kept, domain/notify.py `check_push_endpoint`), but its name may
    resolve, or be rebound after that check, to loopback, private or link-local addresses:
    the connection goes only to the addresses checked here (SSRF). An IP address in a URL is
    not resolved: those are refused when the endpoint is kept."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = [
            result
            for result in await self._inner.resolve(host, port, family)
            if ipaddress.ip_address(result["host"]).is_global
        ]
        if not found:
            raise OSError(f"{host} has no public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


async def _refuse_redirect(
    session: aiohttp.ClientSession,
    context: object,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    # Push services answer 201 (RFC 8030 s5); a redirect would lead the POST past the checks
    # of the endpoint (to http://169.254.169.254/, say): it is not followed.
    params.response.close()
    raise RedirectRefused(f"push service answered {params.response.status}: not followed")


class PushSender:
    def __init__(self, vapid: Vapid, subject: str) -> None:
        self._vapid = vapid
        self._subject = subject
        self._session: aiohttp.ClientSession | None = None

    async def send(self, subscription: Subscription, payload: dict[str, Any]) -> Outcome:
        if self._session is None:
            redirects = aiohttp.TraceConfig()
            redirects.on_request_redirect.append(_refuse_redirect)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=PublicResolver()),
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
                trace_configs=[redirects],
            )
        try:
            await webpush_async(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=json.dumps(payload),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._subject},
                ttl=TTL_S,
                # Given per request: pywebpush passes its own (None: no timeout at all) to
                # aiohttp, which overrides the session's.
                timeout=TIMEOUT_S,
                aiohttp_session=self._session,
            )
        except WebPushException as refused:
            status = getattr(refused.response, "status", None) or getattr(
                refused.response, "status_code", None
            )
            if status in (404, 410):
                return Outcome.GONE
            log.warning("push to %s refused: %s", _origin(subscription.endpoint), status)
            return Outcome.FAILED
        except (aiohttp.ClientError, TimeoutError, ValueError) as failed:
            log.warning("push to %s failed: %s", _origin(subscription.endpoint), failed)
            return Outcome.FAILED
        return Outcome.SENT

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _origin(endpoint: str) -> str:
    # Endpoints carry a per-browser secret in their path: logs name only the service.
    return "/".join(endpoint.split("/")[:3])
