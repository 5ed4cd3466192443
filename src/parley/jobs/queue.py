"""Background jobs on huey (issue 13: "a well-kept job library suited to our stores"): its SQLite
queue in the data folder on one machine, its Redis queue across nodes (`REDIS_URL`). Jobs wait in
the queue, not in memory: what was enqueued and not yet taken survives a restart, and a job
scheduled for later (a host's start reminder) waits there until its time.

Job bodies are coroutines of our actions, run on the app's event loop (where the store and the
bus live); huey's worker threads take a job from the queue and wait for its coroutine. huey takes
a job off the queue before running it, so a job cut short by a crash is not run again by huey:
jobs that must finish keep their progress in the database and are taken up again by a sweep
(actions/notify.py, fan-outs).

huey's consumer is meant to own the process; here it runs inside uvicorn's, so the one private
method it uses to install signal handlers is replaced (tests/jobs/test_queue.py checks it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from huey import RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from parley.config import Settings
from parley.telemetry.metrics import count_error

log = logging.getLogger(__name__)

JobBody = Callable[..., Coroutine[Any, Any, None]]

# How long a worker with nothing to do waits before it looks again (huey backs off up to this).
IDLE_POLL_MAX_S = 0.5
# Stopping waits this long for the jobs under way, then leaves them (their progress is stored).
STOP_TIMEOUT_S = 5.0


class _InProcessConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer without its signal handlers: uvicorn handles the process's signals."""

    def _set_signal_handlers(self) -> None:
        return None


def _make_huey(settings: Settings) -> Any:
    name = f"{settings.bus_namespace}-jobs"
    if settings.redis_url:
        # Polled like the SQLite queue rather than blocked on (BRPOP): a stop is then at once,
        # not after the read's timeout.
        return RedisHuey(name, url=settings.redis_url, results=False, blocking=False)
    path = settings.data_dir / "jobs.sqlite3"
    # Private like everything in the data folder; SQLite gives its WAL files the same mode.
    path.touch(mode=0o600, exist_ok=True)
    return SqliteHuey(name, filename=str(path), results=False, timeout=10)


class Jobs:
    """The node's job queue: register bodies, then `start()`; enqueue from any coroutine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._huey = _make_huey(settings)
        self._tasks: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: _InProcessConsumer | None = None

    @property
    def backend(self) -> str:
        return "redis" if self.settings.redis_url else "sqlite"

    def register(
        self, name: str, body: JobBody, *, retries: int = 2, retry_delay_s: int = 5
    ) -> None:
        """`body(**kwargs)` runs for every job of `name`; a failure is retried `retries` times."""

        def run(**kwargs: Any) -> None:
            self._run(name, body, kwargs)

        self._tasks[name] = self._huey.task(retries=retries, retry_delay=retry_delay_s, name=name)(
            run
        )

    def every(self, name: str, body: JobBody, *, minute: str = "*") -> None:
        """`body()` on every node at the minutes `minute` names in cron's terms ("*": each
        minute, "17": once an hour); bodies must not mind running on two nodes at once."""

        def run() -> None:
            self._run(name, body, {})

        self._huey.periodic_task(crontab(minute=minute), name=name)(run)

    def _run(self, name: str, body: JobBody, kwargs: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError(f"job {name}: this node is not running")
        try:
            asyncio.run_coroutine_threadsafe(body(**kwargs), loop).result()
        except Exception:
            # huey logs it and retries; the count is what an alert sees.
            count_error("job", name)
            raise

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        task = self._tasks[name]
        # The queue's write is a file or a Redis call: off the event loop.
        await asyncio.to_thread(task, **kwargs)

    async def schedule(self, name: str, eta: datetime, **kwargs: Any) -> None:
        """Runs the job at `eta` (aware); bodies check whether it is still due then."""
        task = self._tasks[name]
        await asyncio.to_thread(task.schedule, kwargs=kwargs, eta=eta)

    async def pending(self) -> int:
        """Jobs waiting in the queue (with those scheduled for later that no worker has yet
        moved to huey's schedule)."""
        return int(await asyncio.to_thread(self._huey.pending_count))

    def start(self, workers: int) -> None:
        self._loop = asyncio.get_running_loop()
        consumer = _InProcessConsumer(
            self._huey,
            workers=workers,
            periodic=True,
            worker_type="thread",
            max_delay=IDLE_POLL_MAX_S,
            check_worker_health=False,
            shutdown_timeout=STOP_TIMEOUT_S,
        )
        consumer.start()
        self._consumer = consumer
        log.info("jobs: %d workers on the %s queue", workers, self.backend)

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            # Joins the worker threads, whose jobs may be waiting on this loop: off it.
            await asyncio.to_thread(consumer.stop, True)
        await asyncio.to_thread(self._huey.storage.close)
        self._loop = None
