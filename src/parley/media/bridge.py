"""The media loop: an asyncio event loop on a thread of its own, and the ways across to it.

The peer connections (ICE, DTLS, SRTP and the per-packet sending to every listener) run on this
loop, so the API's event loop never carries per-packet work. The API loop hands work over with
`run` (and waits for it) or `post` (in order, without waiting); the media side answers back with
`to_api`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopBridge:
    def __init__(self, name: str = "parley-media-loop") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._api_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the media loop is not running")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None

    # --- on the API loop ----------------------------------------------------------------------
    def start(self) -> None:
        """Starts the media loop's thread; the calling loop becomes the API loop."""
        self._api_loop = asyncio.get_running_loop()
        # asyncio's own loop: measured with bench/listener_fanout.py, uvloop's UDP sends cost
        # more per packet here (300 listeners per core against 500).
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(10)
        self._loop = loop

    async def stop(self) -> None:
        """Cancels what was spawned on the media loop, then stops it and its thread."""
        if self._loop is None:
            return
        await self.run(self._cancel_spawned())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
        self._loop = None

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs `work` on the media loop and waits for it from the API loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    def post(self, callback: Callable[..., None], *args: Any) -> None:
        """Calls `callback(*args)` on the media loop soon, in the order posted."""
        self.loop.call_soon_threadsafe(callback, *args)

    # --- on the media loop (or its clock's thread) ---------------------------------------------
    def to_api(self, callback: Callable[..., None], *args: Any) -> None:
        """Calls `callback(*args)` on the API loop soon."""
        if self._api_loop is not None and not self._api_loop.is_closed():
            self._api_loop.call_soon_threadsafe(callback, *args)

    def spawn(self, work: Awaitable[None]) -> None:
        """Fire-and-forget work on the media loop, referenced until done, cancelled on stop."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel_spawned(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
