"""Closes at once, on this node, what a revoked credential or a suspended account still holds
open: room sockets, the user's own sockets and WebRTC sessions (HTTP requests are refused by
authentication itself)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from parley.bus import Bus
from parley.bus.channels import ACCOUNTS_CHANNEL
from parley.domain.events import ACCESS_REVOKED
from parley.room.hub import RoomHub
from parley.room.inbox import UserInbox
from parley.room.media import MediaRuntime
from parley.room.tasks import TaskSet

log = logging.getLogger(__name__)


class AccessWatcher:
    def __init__(
        self, bus: Bus, hub: RoomHub, media: MediaRuntime, inbox: UserInbox | None = None
    ) -> None:
        self.bus = bus
        self.hub = hub
        self.media = media
        self.inbox = inbox
        self._tasks = TaskSet(log, "access: closing media sessions failed")

    async def start(self) -> None:
        await self.bus.subscribe(ACCOUNTS_CHANNEL, self._on_message)

    async def stop(self) -> None:
        await self.bus.unsubscribe(ACCOUNTS_CHANNEL, self._on_message)
        await self._tasks.finish(5.0)

    def _on_message(self, channel: str, message: str) -> None:
        try:
            notice = ACCESS_REVOKED.validate_json(message)
        except ValidationError:
            log.warning("bus: dropped a malformed notice on %s", channel)
            return
        sockets = self.hub.close_user(notice.user_id, notice.credential, notice.reason)
        if sockets:
            log.info("user %s: %d socket(s) closed (%s)", notice.user_id, sockets, notice.reason)
        if self.inbox is not None:
            self.inbox.close_user(notice.user_id, notice.credential)
        self._tasks.spawn(self.media.end_user_sessions(notice.user_id, notice.credential))
