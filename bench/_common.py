"""Shared helpers for Parley benchmarks: the server under test, a tiny HTTP client, statistics.

Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
_T0 = time.monotonic()

# Cheap password hashing so that creating many accounts is fast (not the production setting).
CHEAP_HASHING_ENV = {"PARLEY_PASSWORD_TIME_COST": "1", "PARLEY_PASSWORD_MEMORY_KIB": "8192"}
CHEAP_HASHING_NOTE = (
    "argon2id lowered for the benchmark: PARLEY_PASSWORD_TIME_COST=1, "
    "PARLEY_PASSWORD_MEMORY_KIB=8192 (default 3 / 65536); only affects account setup"
)


# Every account of a benchmark signs up from 127.0.0.1: the per-address sign-in and sign-up
# limits (issue 12, 60 then one a minute) would refuse the 61st. Only account setup meets them.
SETUP_LIMITS_ENV = {
    "PARLEY_AUTH_ADDRESS_BURST": "1000000",
    "PARLEY_SIGNUP_ADDRESS_BURST": "1000000",
}
SETUP_LIMITS_NOTE = (
    "per-address sign-in and sign-up limits lifted (PARLEY_AUTH_ADDRESS_BURST and "
    "PARLEY_SIGNUP_ADDRESS_BURST = 1000000; default 60): every account signs up from 127.0.0.1"
)


def analytics_env(analytics: str) -> dict[str, str]:
    """The server's environment for `--analytics on|off` (issue 14): set either way, so a
    PARLEY_ANALYTICS inherited from the shell cannot decide the arm."""
    if analytics not in ("on", "off"):
        raise ValueError(f"--analytics must be on or off, not {analytics!r}")
    return {"PARLEY_ANALYTICS": "true" if analytics == "on" else "false"}


def finite(value: Any) -> Any:
    """NaN and infinities are not JSON: report them as null (recursively)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def report(result: dict[str, Any], headline: Sequence[str]) -> None:
    """Ends a benchmark: the headline figures on stderr, the whole result as one JSON object on
    the last line of stdout."""
    log("done: " + ", ".join(f"{k}={result[k]}" for k in headline if k in result))
    print(json.dumps(finite(result)), flush=True)


def log(message: str) -> None:
    """Progress for humans, on stderr (stdout is kept for the final JSON line)."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def receive(conn: Connection, timeout_s: float, what: str = "a client process") -> Any:
    """The next message from a client process's pipe, without blocking the loop (cancellable)."""
    deadline = time.monotonic() + timeout_s
    while not conn.poll():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from {what} within {timeout_s:.0f}s")
        await asyncio.sleep(0.05)
    return conn.recv()


def try_uvloop() -> None:
    """Use uvloop when installed: the load generators should cost as little CPU as possible."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# --- a minimal HTTP/1.1 keep-alive client ----------------------------------------------------
@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def cookies(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                found[name.strip()] = val.strip()
        return found

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class HttpError(Exception):
    def __init__(self, what: str, response: Response) -> None:
        super().__init__(f"{what}: HTTP {response.status} {response.body[:300]!r}")
        self.response = response


class HttpClient:
    """Keep-alive HTTP/1.1 to the local server, cheap in CPU (a load generator must be light).

    At most `max_connections` requests are in flight; idle connections are reused.
    """

    # uvicorn closes keep-alive connections idle for 5 s; do not race it.
    IDLE_REUSE_S = 3.0

    def __init__(self, port: int, max_connections: int = 20, timeout_s: float = 30.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.status_counts: dict[int, int] = {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        data = b"" if body is None else json.dumps(body).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {HOST}:{self.port}",
            f"Content-Length: {len(data)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        for key, value in (headers or {}).items():
            lines.append(f"{key}: {value}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
        async with self._slots:
            response = await asyncio.wait_for(self._send(raw), self.timeout_s)
        self.status_counts[response.status] = self.status_counts.get(response.status, 0) + 1
        return response

    async def _send(self, raw: bytes) -> Response:
        for attempt in range(2):
            reader, writer, reused = await self._connection()
            try:
                writer.write(raw)
                status_line = await reader.readline()
                if not status_line:
                    raise ConnectionResetError("connection closed before the response")
            except (ConnectionError, OSError):
                writer.close()
                if reused and attempt == 0:
                    # The server dropped idle keep-alive connections: retry on a fresh one.
                    self._drop_idle()
                    continue
                raise
            try:
                response, keep = await self._read_rest(status_line, reader)
            except BaseException:
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return response
        raise AssertionError("unreachable")

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if time.monotonic() - since < self.IDLE_REUSE_S and not reader.at_eof():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(HOST, self.port)
        return reader, writer, False

    def _drop_idle(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()

    @staticmethod
    async def _read_rest(status_line: bytes, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        parts = status_line.decode("latin-1").split(" ", 2)
        status = int(parts[1])
        headers: list[tuple[str, str]] = []
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers.append((key.strip().lower(), value.strip()))
        hmap = {k: v for k, v in headers}
        if hmap.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readline()
            body = b"".join(chunks)
        else:
            body = await reader.readexactly(int(hmap.get("content-length", "0")))
        keep = hmap.get("connection", "").lower() != "close"
        return Response(status, headers, body), keep

    async def aclose(self) -> None:
        self._drop_idle()


# --- accounts --------------------------------------------------------------------------------
async def create_live_space(http: HttpClient, host_handle: str, title: str) -> tuple[str, int]:
    """A host account and a live space of theirs: (the host's token, the space's id)."""
    host_token = await create_account(http, host_handle)
    made = await http.request("POST", "/api/spaces", body={"title": title}, token=host_token)
    if made.status != 201:
        raise HttpError("create space", made)
    space = made.json()["space"]
    if space["state"] != "live":
        raise RuntimeError(f"space is {space['state']}, expected live")
    return host_token, int(space["id"])


async def create_account(http: HttpClient, handle: str, password: str = "benchmark-pw") -> str:
    """Signs up `handle` and returns a personal API token (`pat_...`) for it."""
    signup = await http.request(
        "POST",
        "/api/auth/signup",
        body={"handle": handle, "display_name": handle, "password": password},
    )
    if signup.status != 201:
        raise HttpError(f"signup {handle}", signup)
    cookies = signup.cookies()
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    made = await http.request(
        "POST",
        "/api/me/tokens",
        body={"name": "bench"},
        headers={"Cookie": cookie_header, "X-CSRF-Token": cookies.get("parley_csrf", "")},
    )
    if made.status != 201:
        raise HttpError(f"token for {handle}", made)
    token: str = made.json()["token"]
    return token


async def create_members(
    http: HttpClient,
    space_id: int,
    handles: Sequence[str],
    concurrency: int,
    log_every: int = 0,
) -> list[str]:
    """Signs up one account per handle (`concurrency` at once), each joins the space; their API
    tokens, in the order of `handles`. Logs the progress every `log_every` accounts (0: never)."""
    tokens = [""] * len(handles)
    slots = asyncio.Semaphore(concurrency)
    done = 0
    started = time.monotonic()

    async def one(i: int) -> None:
        nonlocal done
        async with slots:
            token = await create_account(http, handles[i])
            joined = await http.request("POST", f"/api/spaces/{space_id}/join", token=token)
            if joined.status != 200:
                raise HttpError(f"join {handles[i]}", joined)
            tokens[i] = token
            done += 1
            if log_every and done % log_every == 0:
                rate = done / (time.monotonic() - started)
                log(f"  {done}/{len(handles)} listeners signed up ({rate:.0f}/s)")

    await asyncio.gather(*(one(i) for i in range(len(handles))))
    return tokens


# --- the server under test -------------------------------------------------------------------
_LOG_PROBLEM = re.compile(r"\b(ERROR|CRITICAL|WARNING|Traceback)\b")
_ACCESS_5XX = re.compile(r'" 5\d\d\b')


@dataclass
class Server:
    """`parley serve` as a subprocess on a free local port, with its own data folder and log."""

    database_url: str = ""
    redis_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    keep_data: bool = False
    port: int = 0
    data_dir: Path | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _ps: psutil.Process | None = None

    @property
    def backend(self) -> str:
        url = self.database_url
        if not url:
            db = "sqlite"
        elif url.startswith(("postgres", "postgresql")):
            db = "postgres"
        else:
            db = url.split(":", 1)[0].split("+", 1)[0]
        return f"{db}+{'redis' if self.redis_url else 'memory'}"

    def start(self) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
        self.log_path = self.data_dir / "server.log"
        env = dict(os.environ)
        for key in ("DATABASE_URL", "PARLEY_DATABASE_URL", "REDIS_URL", "PARLEY_REDIS_URL"):
            env.pop(key, None)
        env.update(CHEAP_HASHING_ENV)
        env.update(SETUP_LIMITS_ENV)
        env["PARLEY_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        exe = REPO / ".venv" / "bin" / "parley"
        if not exe.exists():
            exe = Path(sys.executable).parent / "parley"
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                [str(exe), "serve", "--host", HOST, "--port", str(self.port)],
                cwd=str(REPO),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._ps = psutil.Process(self.process.pid)

    async def wait_healthy(self, timeout_s: float = 60.0) -> dict[str, Any]:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        http = HttpClient(self.port, max_connections=1, timeout_s=5.0)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(OSError, TimeoutError, ValueError):
                    answer = await http.request("GET", "/api/health")
                    if answer.status == 200:
                        health: dict[str, Any] = answer.json()
                        return health
                await asyncio.sleep(0.2)
        finally:
            await http.aclose()
        raise TimeoutError(f"server not healthy after {timeout_s}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (threads included)."""
        assert self._ps is not None
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def rss_mib(self) -> float:
        assert self._ps is not None
        return float(self._ps.memory_info().rss) / 2**20

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL after `timeout_s`; only the process we started."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)

    def cleanup(self) -> None:
        if self.data_dir is not None and not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop_and_report(self, result: dict[str, Any], failed: bool) -> None:
        """Stops the server and notes in `result` whether it was alive and what its log held;
        shows the problem lines (and, after a failure, the log's tail) on stderr."""
        result["server_alive_at_end"] = self.alive()
        self.stop()
        problems = self.log_problems()
        result["server_log_errors"] = problems["errors"] + problems["tracebacks"]
        result["server_log_warnings"] = problems["warnings"]
        result["server_http_5xx"] = problems["http_5xx"]
        if problems["excerpt"]:
            log(f"server log: {len(problems['excerpt'])} problem lines, first ones:")
            for line in problems["excerpt"][:20]:
                print("    " + line, file=sys.stderr)
        if failed:
            log("server log tail:\n" + self.log_tail(40))

    def log_problems(self) -> dict[str, Any]:
        """Warnings, errors, tracebacks and 5xx answers found in the server log."""
        problems: list[str] = []
        errors = warnings = tracebacks = http_5xx = 0
        for line in self.log_text().splitlines():
            if _ACCESS_5XX.search(line):
                http_5xx += 1
                problems.append(line)
                continue
            match = _LOG_PROBLEM.search(line)
            if match is None:
                continue
            kind = match.group(1)
            if kind == "WARNING":
                warnings += 1
            elif kind == "Traceback":
                tracebacks += 1
            else:
                errors += 1
            problems.append(line)
        return {
            "errors": errors,
            "warnings": warnings,
            "tracebacks": tracebacks,
            "http_5xx": http_5xx,
            "excerpt": problems,
        }


# --- CPU accounting --------------------------------------------------------------------------
_PYSPY_THREAD = re.compile(r'^Thread (?:0x[0-9A-Fa-f]+ )?\(?(\d+)\)?.*?: "(.*)"', re.MULTILINE)
# Pools of look-alike threads are summed: "Thread-7 (_connection_worker_thread)", "uvloop_3".
_THREAD_GROUP = re.compile(r"^(?:Thread-\d+ \((\w+)\)|(uvloop)_\d+)$")
UDP_COUNTERS_REPORTED = ("InDatagrams", "OutDatagrams", "RcvbufErrors", "SndbufErrors", "InErrors")


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name, from `py-spy dump` (Python does not name OS threads)."""
    spy = py_spy()
    names = {pid: "MainThread"}
    if spy is None:
        return names
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        done = subprocess.run(
            [spy, "dump", "-p", str(pid), "--nonblocking"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        for tid, name in _PYSPY_THREAD.findall(done.stdout):
            names[int(tid)] = name
    return names


def thread_group(name: str) -> str:
    """A thread's name, or its pool's ("_connection_worker_thread threads") for pooled ones."""
    match = _THREAD_GROUP.match(name)
    return name if match is None else f"{match.group(1) or match.group(2)} threads"


def udp_counters() -> dict[str, int]:
    """The kernel's UDP counters (all sockets of the machine): drops show in the *Errors."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:], strict=True)}


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far (user + system), read at `at` (time.monotonic())."""

    at: float
    server: float
    server_system: float
    server_threads: dict[int, float]  # OS thread id -> its CPU seconds
    clients: float  # the client processes given to the meter, summed
    bench: float  # this process
    machine_busy: float  # all cores: everything but idle and iowait
    udp: dict[str, int]


@dataclass(frozen=True)
class CpuUse:
    """Cores used between two samples: CPU seconds per wall second."""

    wall_s: float
    server: float
    server_system: float  # the server's kernel time alone
    server_threads: dict[str, float]  # by Python thread name (pools summed), >= 0.0005 only
    clients: float
    bench: float
    machine_busy: float
    udp: dict[str, int]  # the kernel's UDP counters' increase (UDP_COUNTERS_REPORTED)


class CpuMeter:
    """Samples the CPU time of the server, of the benchmark's client processes, of this process
    and of the whole machine (psutil), and the kernel's UDP counters; `use(a, b)` gives the
    cores each used between two samples. Per-thread figures are by Python thread name after
    `name_threads()` (py-spy), "unnamed threads" before."""

    def __init__(self, server: Server, clients: Sequence[psutil.Process]) -> None:
        assert server.process is not None
        self.server = psutil.Process(server.process.pid)
        self.clients = list(clients)
        self.me = psutil.Process()
        self.names: dict[int, str] = {self.server.pid: "MainThread"}

    def name_threads(self) -> None:
        """Looks the server's thread names up (py-spy dump: takes a moment, run it in a thread)."""
        self.names = thread_names(self.server.pid)

    def sample(self) -> CpuSample:
        threads: dict[int, float] = {}
        with contextlib.suppress(psutil.Error):
            threads = {t.id: t.user_time + t.system_time for t in self.server.threads()}
        times = self.server.cpu_times()
        clients = 0.0
        for proc in self.clients:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                clients += t.user + t.system
        mine = self.me.cpu_times()
        box = psutil.cpu_times()
        busy = box.user + box.system + box.nice + getattr(box, "softirq", 0.0)
        busy += getattr(box, "irq", 0.0) + getattr(box, "steal", 0.0)
        return CpuSample(
            at=time.monotonic(),
            server=times.user + times.system,
            server_system=times.system,
            server_threads=threads,
            clients=clients,
            bench=mine.user + mine.system,
            machine_busy=busy,
            udp=udp_counters(),
        )

    def use(self, a: CpuSample, b: CpuSample) -> CpuUse:
        wall = b.at - a.at
        per_thread: dict[str, float] = {}
        for tid, used in b.server_threads.items():
            name = thread_group(self.names.get(tid, "unnamed threads"))
            spent = (used - a.server_threads.get(tid, 0.0)) / wall
            per_thread[name] = per_thread.get(name, 0.0) + spent
        return CpuUse(
            wall_s=wall,
            server=(b.server - a.server) / wall,
            server_system=(b.server_system - a.server_system) / wall,
            server_threads={
                k: round(v, 3)
                for k, v in sorted(per_thread.items(), key=lambda kv: -kv[1])
                if v >= 0.0005
            },
            clients=(b.clients - a.clients) / wall,
            bench=(b.bench - a.bench) / wall,
            machine_busy=(b.machine_busy - a.machine_busy) / wall,
            udp={k: b.udp[k] - a.udp.get(k, 0) for k in UDP_COUNTERS_REPORTED if k in b.udp},
        )
