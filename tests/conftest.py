"""Fixtures: real stores (SQLite and PostgreSQL), real buses (in-process and Redis), a real server.

With CI=true the PostgreSQL and Redis tests must run: if those servers are absent they fail
loudly. Without CI they are skipped with the reason shown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import io
import shutil
import socket
import sys
import threading
import traceback
import uuid
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from parley.api.app import create_app
from parley.cli import GRACEFUL_SHUTDOWN_S
from parley.config import Settings
from parley.store import migrate
from support import (
    BUS_NAMESPACE,
    PG_SERVER_URL,
    REDIS_URL,
    Running,
    TestClock,
    require_postgres,
    require_redis,
)

T = TypeVar("T")


async def tasks_left(grace_s: float = 1.0) -> list[asyncio.Task[Any]]:
    """The tasks of the running loop (but the caller's) still running after `grace_s`; a task
    already on its way out (cancelled, closing) gets that long to finish."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    deadline = loop.time() + grace_s
    while True:
        left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
        if not left or loop.time() >= deadline:
            return left
        await asyncio.sleep(0.01)


def describe_tasks(tasks: list[asyncio.Task[Any]]) -> str:
    return "; ".join(f"{task.get_name()}: {task.get_coro()!r}" for task in tasks)


@pytest.fixture
async def _no_task_left_on_the_loop() -> AsyncIterator[None]:
    yield
    left = await tasks_left()
    for task in left:
        task.cancel()
    if left:
        pytest.fail(f"the test left {len(left)} task(s) running: {describe_tasks(left)}")


@pytest.fixture(autouse=True)
def no_task_left_running(request: pytest.FixtureRequest) -> None:
    """Fails an async test that leaves a task running on its loop, after every fixture of it has
    been torn down (as LiveKit agents' conftest does): every task has an owner that stops it.
    The test server's own loop is checked the same way when it stops (`run_server`)."""
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_no_task_left_on_the_loop")


def run_isolated(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end on a loop of its own (fixtures may be set up inside one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_SERVER_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_database_url(name: str) -> str:
    return PG_SERVER_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    require_postgres()
    name = f"parley_test_{uuid.uuid4().hex[:10]}"
    run_isolated(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = pg_database_url(name)
    run_isolated(migrate.upgrade(url))
    yield url
    run_isolated(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "parley.db"
    run_isolated(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


async def truncate_pg(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from parley.store.models import Base

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """An empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "parley.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_template")
    await truncate_pg(url)
    return url


@pytest.fixture(params=["memory", "redis"])
def bus_url(request: pytest.FixtureRequest) -> str:
    """'' for the in-process bus, else a Redis URL."""
    if request.param == "redis":
        require_redis()
        return REDIS_URL
    return ""


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


def _settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("parley_settings")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture(
    params=[
        pytest.param(("sqlite", "memory"), id="sqlite+memory"),
        pytest.param(("postgresql", "redis"), id="postgresql+redis"),
    ]
)
async def server(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[Running]:
    """The real app on a real socket: the embedded default, and the scaled-out backends."""
    store_kind, bus_kind = request.param
    if store_kind == "sqlite":
        path = tmp_path / "parley.db"
        shutil.copy(sqlite_template, path)
        db_url = f"sqlite+aiosqlite:///{path}"
    else:
        db_url = request.getfixturevalue("pg_template")
        await truncate_pg(db_url)
    redis_url = ""
    if bus_kind == "redis":
        require_redis()
        redis_url = REDIS_URL
    async with run_server(
        tmp_path, db_url, redis_url, _settings_overrides(request), TestClock()
    ) as running:
        yield running


def test_settings(data_dir: Path, db_url: str, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": db_url,
        "redis_url": redis_url,
        "bus_namespace": BUS_NAMESPACE,
        "password_time_cost": 1,
        "password_memory_kib": 8192,
        "presence_interval_s": 0.1,
        "grace_check_interval_s": 0.1,
    }
    values.update(overrides)
    return Settings(**values)


class run_server:
    """The app served by uvicorn on a thread and loop of its own, as a separate server would be
    (sharing the test's loop would also make every request wait on the test's own work)."""

    def __init__(
        self,
        data_dir: Path,
        db_url: str,
        redis_url: str,
        overrides: dict[str, Any],
        clock: TestClock,
    ) -> None:
        self.settings = test_settings(data_dir, db_url, redis_url, **overrides)
        self.clock = clock
        self.app = create_app(self.settings, clock=clock)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            ws_ping_interval=None,
            ws_per_message_deflate=False,
            loop="uvloop",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,  # as `parley serve`
        )
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None
        self.failure: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _serve(self, sock: socket.socket) -> None:
        try:
            with asyncio.Runner(loop_factory=self.server.config.get_loop_factory()) as runner:
                runner.run(self._serve_and_check(sock))
        except BaseException as exc:  # reported to the test below
            self.failure = exc

    async def _serve_and_check(self, sock: socket.socket) -> None:
        self.loop = asyncio.get_running_loop()
        await self.server.serve(sockets=[sock])
        # The app has shut down: whatever it started must have been stopped with it.
        left = await tasks_left()
        if left:
            raise AssertionError(f"the server left {len(left)} task(s): {describe_tasks(left)}")

    def _stacks(self) -> str:
        """The server thread's stack, and each task's on its loop (read from the loop itself)."""
        assert self.thread is not None
        frame = sys._current_frames().get(self.thread.ident or 0)
        lines = ["thread:\n" + "".join(traceback.format_stack(frame)) if frame else "no thread"]
        loop = self.loop
        if loop is not None and not loop.is_closed():

            def describe() -> str:
                out = io.StringIO()
                for task in asyncio.all_tasks(loop):
                    task.print_stack(file=out)
                return out.getvalue()

            result: concurrent.futures.Future[str] = concurrent.futures.Future()
            loop.call_soon_threadsafe(lambda: result.set_result(describe()))
            try:
                lines.append(result.result(timeout=2))
            except concurrent.futures.TimeoutError:
                lines.append("its loop does not answer")
        return "\n".join(lines)

    async def __aenter__(self) -> Running:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self.thread.start()
        for _ in range(1000):
            if self.server.started:
                break
            if self.failure is not None:
                raise self.failure
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("the test server did not start")
        assert self.loop is not None
        return Running(
            base_url=f"http://127.0.0.1:{port}", app=self.app, clock=self.clock, loop=self.loop
        )

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            # Shortly before uvicorn cancels the requests still running, what they are waiting on
            # is noted: a slow stop passes, but says why it was slow.
            await asyncio.to_thread(self.thread.join, GRACEFUL_SHUTDOWN_S - 2)
            stuck = self._stacks() if self.thread.is_alive() else ""
            await asyncio.to_thread(self.thread.join, 30)
            # A server still running would act on the next test's database and bus.
            assert not self.thread.is_alive(), f"the test server did not stop within 30 s: {stuck}"
            if stuck:
                warnings.warn(f"the test server was slow to stop: {stuck}", stacklevel=1)
        if self.failure is not None:
            raise self.failure


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests run last: Playwright's sync API keeps an event loop running in the main
    # thread until the session ends, which the async tests after them could not start under.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
