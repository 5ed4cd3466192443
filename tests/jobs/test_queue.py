"""Background jobs (jobs/queue.py) on huey: the one private method of huey's consumer it replaces
still exists and is still what installs signal handlers; a job runs its coroutine on the app's
loop; a job scheduled for later waits for its time; a job queued while no node runs is run by
the next one started on the same queue (the SQLite file in the data folder, or Redis)."""

from __future__ import annotations

import asyncio
import inspect
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from huey.consumer import Consumer

from parley.config import Settings
from parley.jobs import Jobs
from parley.jobs.queue import _InProcessConsumer
from support import REDIS_URL, require_redis

pytestmark = pytest.mark.integration


def _settings(data_dir: Path, redis_url: str = "") -> Settings:
    # A namespace of its own: the Redis queue of this test is nobody else's.
    return Settings(
        data_dir=data_dir,
        redis_url=redis_url,
        bus_namespace=f"jobs-test-{uuid.uuid4().hex[:12]}",
    )


class Recorder:
    """A job body that notes what it was called with, and on which loop."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.called = asyncio.Event()

    async def __call__(self, **kwargs: Any) -> None:
        self.loops.append(asyncio.get_running_loop())
        # Awaiting proves it runs as a coroutine on the loop, not in huey's thread.
        await asyncio.sleep(0)
        self.calls.append(kwargs)
        self.called.set()

    async def wait(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self.called.wait(), timeout_s)


def test_the_private_consumer_method_replaced_still_installs_signal_handlers() -> None:
    """huey's internals behind jobs/queue.py: `Consumer._set_signal_handlers` exists, `start()`
    calls it, and it is what sets the process's signal handlers (which uvicorn owns here)."""
    assert callable(getattr(Consumer, "_set_signal_handlers", None))
    assert "self._set_signal_handlers()" in inspect.getsource(Consumer.start)
    assert "signal.signal(" in inspect.getsource(Consumer._set_signal_handlers)
    assert _InProcessConsumer._set_signal_handlers is not Consumer._set_signal_handlers
    assert list(inspect.signature(Consumer._set_signal_handlers).parameters) == ["self"]


async def test_a_job_runs_its_coroutine_on_the_loop_and_leaves_signals_alone(
    tmp_path: Path,
) -> None:
    jobs = Jobs(_settings(tmp_path))
    ran = Recorder()
    jobs.register("test.job", ran)
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    jobs.start(workers=2)
    try:
        after = {signum: signal.getsignal(signum) for signum in before}
        assert after == before, "huey's consumer must not take over the process's signals"
        await jobs.enqueue("test.job", space_id=12, names=["a", "b"])
        await ran.wait()
        assert ran.calls == [{"space_id": 12, "names": ["a", "b"]}]
        assert ran.loops == [asyncio.get_running_loop()]
        assert await jobs.pending() == 0
    finally:
        await jobs.stop()
    assert (tmp_path / "jobs.sqlite3").exists()


async def test_a_failing_job_is_retried(tmp_path: Path) -> None:
    jobs = Jobs(_settings(tmp_path))
    attempts: list[int] = []
    done = asyncio.Event()

    async def flaky(n: int) -> None:
        attempts.append(n)
        if len(attempts) < 2:
            raise RuntimeError("the first try fails")
        done.set()

    jobs.register("test.flaky", flaky, retries=2, retry_delay_s=0)
    jobs.start(workers=1)
    try:
        await jobs.enqueue("test.flaky", n=7)
        await asyncio.wait_for(done.wait(), 10)
        assert attempts == [7, 7]
    finally:
        await jobs.stop()


async def test_a_scheduled_job_waits_for_its_time(tmp_path: Path) -> None:
    jobs = Jobs(_settings(tmp_path))
    ran = Recorder()
    jobs.register("test.later", ran)
    jobs.start(workers=1)
    try:
        eta = datetime.now(UTC) + timedelta(seconds=2)
        await jobs.schedule("test.later", eta, what="reminder")
        await asyncio.sleep(1.0)
        assert ran.calls == [], "ran before its time"
        await ran.wait(timeout_s=10)
        # huey's scheduler looks once a second.
        assert datetime.now(UTC) >= eta
        assert ran.calls == [{"what": "reminder"}]
    finally:
        await jobs.stop()


async def _survives_a_restart(settings: Settings) -> None:
    # A node queues a job (and one for later), then stops before any worker took it.
    first = Jobs(settings)
    first.register("test.job", Recorder())
    first.register("test.later", Recorder())
    await first.enqueue("test.job", fanout_id=3)
    await first.schedule("test.later", datetime.now(UTC) + timedelta(seconds=1), space_id=4)
    # huey queues a job for later like any other; a worker moves it to its schedule.
    assert await first.pending() == 2
    await first.stop()
    # The next node on the same queue runs both.
    second = Jobs(settings)
    ran, ran_later = Recorder(), Recorder()
    second.register("test.job", ran)
    second.register("test.later", ran_later)
    second.start(workers=1)
    try:
        await ran.wait()
        await ran_later.wait()
        assert ran.calls == [{"fanout_id": 3}]
        assert ran_later.calls == [{"space_id": 4}]
    finally:
        if settings.redis_url:
            await asyncio.to_thread(second._huey.flush)
        await second.stop()


async def test_a_job_queued_survives_a_restart_in_the_data_folder(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await _survives_a_restart(settings)
    assert (tmp_path / "jobs.sqlite3").exists()


async def test_a_job_queued_survives_a_restart_on_redis(tmp_path: Path) -> None:
    require_redis()
    settings = _settings(tmp_path, REDIS_URL)
    assert Jobs(settings).backend == "redis"
    await _survives_a_restart(settings)
    assert not (tmp_path / "jobs.sqlite3").exists()
