"""WebRTC listener fan-out benchmark: server CPU per listener and listeners one core serves on time.

    .venv/bin/python bench/listener_fanout.py [--frame-ms 20|60] [--steps 50,100,200,...]
                                              [--analytics on|off]

Starts the real server (`parley serve`, SQLite) on a free 127.0.0.1 port with a throwaway data
folder. A host creates a live space, publishes a 440 Hz tone over WHIP from this process (a stock
aiortc client) and unmutes once it is heard, so the stage mix carries audio; one stock decoding
WHEP listener checks that the tone is heard, then leaves. Then light WHEP listeners
(bench/_lightrtc.py: real ICE and DTLS-SRTP, RTP counted and timestamped without decrypting or
decoding) join in steps, spread over several client processes. At every step, after a settle
time, the benchmark measures over a steady window:

* the server process's CPU (psutil, user + system, all threads; also its event-loop thread
  alone), the client processes' CPU, this process's CPU and the whole machine's busy cores;
* packets on time: see `on_time_definition` in the output.

`cpu_ms_per_listener_s` is the least-squares slope of the server's CPU (ms per second) against the
listener count over the passing steps; `listeners_per_core` is the largest tested count with
>= 99 % of packets on time while the server used <= 1 core (`limit: "server"`). When the ramp
ended for another reason - the shared machine saturated (>= 95 % of all cores busy) or stalled
(a separate watcher process overslept >= 50 ms), or the steps or time budget ran out - it is
extrapolated from the slope, (1000 - fixed ms/s) / slope, and says so
(`listeners_per_core_extrapolated: true`, `limit: "machine"`). A step that failed during a
machine stall, or whose late packets all fell within half a second, is measured again (up to
`--retries`), the earlier attempts kept in the step. The server and the load clients share the
machine's cores: the clients' CPU, the machine's busy cores and the server's GC pauses (a
gc.callbacks hook put in the server by a sitecustomize) are reported next to the server's CPU.

Progress goes to stderr; the last line of stdout is one JSON object with the results. The listener
tier's Opus frames default to the server's own (PARLEY_LISTENER_FRAME_MS, 60 ms); `--frame-ms 20`
measures the shorter ones. `--analytics off` starts the server with PARLEY_ANALYTICS=false (host
analytics not gathered); the default, on, is the product's (bench/analytics_cost.py, issue 14).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    CHEAP_HASHING_NOTE,
    HOST,
    REPO,
    SETUP_LIMITS_NOTE,
    CpuMeter,
    HttpClient,
    HttpError,
    Server,
    analytics_env,
    create_live_space,
    create_members,
    log,
    py_spy,
    receive,
    report,
    thread_group,
    try_uvloop,
)
from _lightrtc import HIST_MS, RTP_CLOCK_HZ, worker_process
from parley.config import Settings

# The server's own default (PARLEY_LISTENER_FRAME_MS), so a plain run measures what it ships.
PRODUCT_FRAME_MS: int = Settings.model_fields["listener_frame_ms"].default

GOAL_LISTENERS_PER_CORE = 1000
ON_TIME_GOAL = 0.99
TONE_HZ = 440.0
# Listener counts per step, by listener frame length: longer frames mean fewer packets to send.
DEFAULT_STEPS = {
    20: [100, 200, 300, 400, 500, 600, 800, 1000],
    60: [300, 600, 900, 1200, 1500],
}


# --- setup -----------------------------------------------------------------------------------
@dataclass
class Space:
    http: HttpClient
    host_token: str
    space_id: int


async def make_space(http: HttpClient) -> Space:
    host_token, sid = await create_live_space(http, "benchhost", "Listener fan-out")
    return Space(http, host_token, sid)


async def unmute_on_air(space: Space, timeout_s: float = 15.0) -> None:
    """Unmutes the host once their WHIP audio reaches the server: until then the server refuses
    (409 mic_off, issue 10: nobody is shown unmuted while none of their audio arrives)."""
    deadline = time.monotonic() + timeout_s
    path = f"/api/spaces/{space.space_id}/me/unmute"
    while True:
        answer = await space.http.request("POST", path, token=space.host_token)
        if answer.status == 200:
            return
        if answer.status != 409 or time.monotonic() > deadline:
            raise HttpError("host unmute", answer)
        await asyncio.sleep(0.05)


async def make_listeners(space: Space, first: int, count: int, concurrency: int) -> list[str]:
    """Signs up `count` accounts (fan00000, fan00001, ... from `first`) that join the space;
    their API tokens."""
    handles = [f"fan{first + i:05d}" for i in range(count)]
    return await create_members(space.http, space.space_id, handles, concurrency)


def tone_check(samples: np.ndarray[Any, Any]) -> dict[str, float]:
    """RMS (full scale 1.0) and the strongest frequency of what a decoding listener heard."""
    if samples.size < RTP_CLOCK_HZ // 4:
        return {"rms": 0.0, "peak_hz": 0.0}
    x = samples.astype(np.float64) / 32768
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / RTP_CLOCK_HZ)
    return {
        "rms": round(float(np.sqrt(np.mean(x * x))), 3),
        "peak_hz": round(float(freqs[int(np.argmax(spectrum))]), 1),
    }


async def check_audio(base_url: str, token: str, space_id: int) -> dict[str, Any]:
    """One stock (decoding) listener: the mix must carry the host's tone."""
    from _audio import WebRtcClient

    client = WebRtcClient(base_url, token, space_id, "whep")
    try:
        response = await client.connect()
        if response.status_code != 201:
            return {"ok": False, "error": f"WHEP {response.status_code}: {response.text[:200]}"}
        deadline = time.monotonic() + 10
        found: dict[str, Any] = {"rms": 0.0, "peak_hz": 0.0}
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            found = tone_check(client.recording.last(0.5))
            if found["rms"] > 0.05 and abs(found["peak_hz"] - TONE_HZ) < 10:
                return {"ok": True, **found}
        return {"ok": False, **found}
    finally:
        await client.close()


# --- client processes ------------------------------------------------------------------------
STALL_PERIOD_S = 0.01
STALL_MS = 50.0  # a failed step whose window saw the watcher stall this long is measured again


def stall_watch_process(conn: Connection) -> None:
    """Sleeps 10 ms at a time and notes oversleeping: the machine itself stalling (the VM paused,
    the run queue too long) delays the server and the load clients alike."""
    lags: list[tuple[float, float]] = []
    with contextlib.suppress(EOFError, KeyboardInterrupt, BrokenPipeError):
        while True:
            before = time.monotonic()
            if not conn.poll(STALL_PERIOD_S):
                now = time.monotonic()
                lag = now - before - STALL_PERIOD_S
                if lag > 0.005:
                    lags.append((now, lag))
                continue
            command = conn.recv()
            if command[0] == "stats":
                _, t0, t1 = command
                window = [lag for at, lag in lags if t0 <= at < t1]
                lags = [(at, lag) for at, lag in lags if at >= t1]
                conn.send(
                    (
                        "stats",
                        {
                            "max_ms": round(max(window, default=0.0) * 1000, 1),
                            "over_20ms": sum(lag > 0.02 for lag in window),
                        },
                    )
                )
            elif command[0] == "stop":
                conn.send(("stopped",))
                return


class Workers:
    def __init__(self, count: int, settings: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[Any] = []
        self.conns: list[Connection] = []
        for w in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_process, args=(child, settings), daemon=True, name=f"whep-{w}"
            )
            proc.start()
            self.procs.append(proc)
            self.conns.append(parent)
        self.watch_conn, child = ctx.Pipe()
        self.watch = ctx.Process(
            target=stall_watch_process, args=(child,), daemon=True, name="stall-watch"
        )
        self.watch.start()
        self.ps = [psutil.Process(p.pid) for p in [*self.procs, self.watch]]
        self.next = 0

    async def open(self, tokens: list[str], timeout_s: float) -> tuple[int, list[str]]:
        """Spreads new listeners round-robin over the processes; (connected, failure samples)."""
        shares: list[list[str]] = [[] for _ in self.conns]
        for token in tokens:
            shares[self.next].append(token)
            self.next = (self.next + 1) % len(self.conns)
        busy = [(conn, share) for conn, share in zip(self.conns, shares, strict=True) if share]
        for conn, share in busy:
            conn.send(("open", share))
        ok, failures = 0, []
        for conn, _ in busy:
            _, n_ok, sample, _n_failed, _seconds = await receive(conn, timeout_s)
            ok += n_ok
            failures += sample
        return ok, failures

    async def stats(self, t0: float, t1: float) -> list[dict[str, Any]]:
        for conn in self.conns:
            conn.send(("stats", t0, t1))
        return [(await receive(conn, 120))[1] for conn in self.conns]

    async def stalls(self, t0: float, t1: float) -> dict[str, Any]:
        self.watch_conn.send(("stats", t0, t1))
        answer: dict[str, Any] = (await receive(self.watch_conn, 30))[1]
        return answer

    async def stop(self) -> None:
        for conn in [*self.conns, self.watch_conn]:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))
        for conn in [*self.conns, self.watch_conn]:
            with contextlib.suppress(Exception):
                await receive(conn, 30)
        for proc in [*self.procs, self.watch]:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


def merge_stats(parts: list[dict[str, Any]], on_time_s: float) -> dict[str, Any]:
    hist = [0] * (HIST_MS + 1)
    ratios: list[float] = []
    sums = Counter[str]()
    loop_lag = 0.0
    late_at = Counter[int]()
    for part in parts:
        late_at.update(part["late_at"])
        for key in ("listeners", "expected", "on_time", "late", "received", "not_connected"):
            sums[key] += part[key]
        hist = [a + b for a, b in zip(hist, part["hist"], strict=True)]
        ratios += part["ratios"]
        loop_lag = max(loop_lag, part["loop_lag_max_ms"])

    def quantile(q: float) -> float | None:
        total = sum(hist)
        if not total:
            return None
        rank = max(1, math.ceil(q * total))
        running = 0
        for ms, count in enumerate(hist):
            running += count
            if running >= rank:
                return float(ms)
        return float(HIST_MS)

    expected = sums["expected"]
    return {
        "listeners_measured": sums["listeners"],
        "not_connected_at_collect": sums["not_connected"],
        "packets_expected": expected,
        "packets_on_time": sums["on_time"],
        "packets_late": sums["late"],
        "packets_missing": expected - sums["received"],
        "on_time_ratio": round(sums["on_time"] / expected, 5) if expected else None,
        "worst_listener_on_time_ratio": round(min(ratios), 4) if ratios else None,
        "listeners_below_99pct": sum(r < ON_TIME_GOAL for r in ratios),
        "rel_delay_p50_ms": quantile(0.50),
        "rel_delay_p99_ms": quantile(0.99),
        "rel_delay_p999_ms": quantile(0.999),
        "rel_delay_max_ms": next((float(ms) for ms in range(HIST_MS, -1, -1) if hist[ms]), None),
        "client_loop_lag_max_ms": round(loop_lag, 1),
        # When late packets were due: 100 ms bins of the window with late packets, and the worst
        # bins as [seconds into the window, late packets]. Few bins holding about as many late
        # packets as there are listeners mean stalls that hit everyone at once.
        "late_bins_100ms": len(late_at),
        "late_worst_bins": [[b / 10, n] for b, n in late_at.most_common(6)],
    }


# --- profile ---------------------------------------------------------------------------------
def profile_server(pid: int, seconds: float, out_dir: Path) -> dict[str, Any]:
    """py-spy (sampling, on-CPU only) on the server; a summary of where its CPU goes."""
    spy = py_spy()
    if spy is None:
        return {"error": "py-spy not installed"}
    out = out_dir / f"server-{pid}.txt"
    cmd = [
        spy, "record", "-p", str(pid), "-f", "raw", "-o", str(out),
        "-d", str(int(seconds)), "-r", "100", "--threads", "--nonblocking",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0 or not out.exists():
        return {"error": (done.stderr or done.stdout)[-400:]}
    summary = summarize_profile(out.read_text(), seconds, 100)
    return {"raw_file": str(out), "seconds": seconds, "rate_hz": 100, **summary}


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/module.py:123)".
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{func} ({path})"


# Leaf frames of a thread that waits (py-spy's idle detection misses timed waits).
_IDLE_LEAVES = ("Condition.wait ", "EpollSelector.select ", "select (selectors", "Queue.get (queue")


def summarize_profile(text: str, seconds: float, rate_hz: int) -> dict[str, Any]:
    """Per thread: its share of wall time seen running, and its top frames (self and inclusive,
    in % of that thread's running samples)."""
    threads: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        head, *frames = stack.split(";")
        if not frames:
            continue
        name = head.split(": ", 1)[1] if ": " in head else head
        name = thread_group(name)
        entry = threads.setdefault(
            name, {"samples": 0, "idle": 0, "self": Counter[str](), "incl": Counter[str]()}
        )
        if frames[-1].startswith(_IDLE_LEAVES):
            entry["idle"] += count
            continue
        names = [_frame_name(f) for f in frames]
        entry["samples"] += count
        entry["self"][names[-1]] += count
        for frame in set(names):
            entry["incl"][frame] += count
    out: dict[str, Any] = {}
    for name, entry in sorted(threads.items(), key=lambda kv: -kv[1]["samples"]):
        total = entry["samples"]
        if total < 0.02 * seconds * rate_hz:  # below 2 % of a core: not worth listing
            continue
        incl = [(f, c) for f, c in entry["incl"].most_common() if c < total]  # skip the roots
        out[name] = {
            "running_pct_of_wall": round(100 * total / (seconds * rate_hz), 1),
            "self_pct": [[f, round(100 * c / total, 1)] for f, c in entry["self"].most_common(15)],
            "inclusive_pct": [[f, round(100 * c / total, 1)] for f, c in incl[:25]],
        }
    return {"threads": out}


def source_state() -> dict[str, Any]:
    """Which server code ran: the commit and the files of src/ changed since."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=20)
        return done.stdout.strip()

    with contextlib.suppress(OSError, subprocess.SubprocessError):
        changed = git("status", "--porcelain", "--", "src").splitlines()
        return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_src": changed}
    return {}


def server_settings(extra_env: dict[str, str]) -> dict[str, Any]:
    """The listener-tier settings the server reads (same environment as the server's)."""
    from parley.config import Settings

    saved = {k: os.environ.get(k) for k in extra_env}
    os.environ.update(extra_env)
    try:
        cfg = Settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    names = (
        "listener_bitrate",
        "listener_frame_ms",
        "listener_fast_path",
        "stage_bitrate",
        "analytics",
    )
    return {name: getattr(cfg, name) for name in names if hasattr(cfg, name)}


_GC_HOOK = """
import gc
import time

_gc_log = open({path!r}, "a", buffering=1)
_gc_started = [0.0]


def _gc_timed(phase, info):
    # Full collections always, younger ones when they pause the process for over 1 ms.
    if phase == "start":
        _gc_started[0] = time.perf_counter()
        return
    pause_ms = (time.perf_counter() - _gc_started[0]) * 1000
    if info["generation"] == 2 or pause_ms > 1.0:
        _gc_log.write(f"{{time.monotonic():.4f}} {{info['generation']}} {{pause_ms:.2f}}\\n")


gc.callbacks.append(_gc_timed)
"""
_UVLOOP_HOOK = """
import asyncio

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
"""


def server_site_dir(gc_log: Path | None, uvloop_policy: bool) -> Path:
    """A folder with a sitecustomize.py for the server process (put on its PYTHONPATH)."""
    site_dir = Path(tempfile.mkdtemp(prefix="parley-site-"))
    code = _GC_HOOK.format(path=str(gc_log)) if gc_log is not None else ""
    if uvloop_policy:
        code += _UVLOOP_HOOK
    (site_dir / "sitecustomize.py").write_text(code)
    return site_dir


def gc_pauses(gc_log: Path | None, t0: float, t1: float) -> dict[str, Any] | None:
    """The server's garbage-collector pauses logged during [t0, t1) (monotonic seconds)."""
    if gc_log is None or not gc_log.exists():
        return None
    by_gen: dict[str, list[float]] = {}
    for line in gc_log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and t0 <= float(parts[0]) < t1:
            by_gen.setdefault(f"gen{parts[1]}", []).append(float(parts[2]))
    return {
        gen: {"count": len(ms), "max_ms": round(max(ms), 1), "total_ms": round(sum(ms), 1)}
        for gen, ms in sorted(by_gen.items())
    }


# --- the run ---------------------------------------------------------------------------------
@dataclass
class Run:
    """What a run has opened (for the teardown) and its result so far (an error still reports
    what was measured)."""

    result: dict[str, Any] = field(default_factory=dict)
    gc_log: Path | None = None
    site_dir: Path | None = None
    http: HttpClient | None = None
    host: Any = None  # the WebRtcClient (tests/webrtc_client.py) publishing the tone
    workers: Workers | None = None


@dataclass
class Rig:
    """What measuring a window needs."""

    server: Server
    workers: Workers
    meter: CpuMeter
    gc_log: Path | None
    settle_s: float
    window_s: float
    on_time_s: float


@dataclass
class Ramp:
    """Where the ramp of listeners stands between steps."""

    t_begin: float  # the time budget counts from here (after waiting for a quiet machine)
    accounts_made: int = 0  # listener accounts signed up so far (their handles are numbered)
    listening: int = 0
    open_rate_per_s: float = 20.0  # listeners connected per second, updated from each step


@dataclass
class Joined:
    """The listeners a step added."""

    new: int
    ok: int
    failures: list[str]
    open_s: float


async def run(args: argparse.Namespace, server: Server, state: Run) -> dict[str, Any]:
    t_start = time.monotonic()
    result = state.result
    result |= describe(args, server)
    result |= await wait_quiet(args.wait_quiet)
    ramp = Ramp(t_begin=time.monotonic())  # the time budget starts after the wait
    result["cpu_count"] = os.cpu_count()
    await configure_server(args, server, state)
    base_url = await start_server(args, server)
    space = await publish_tone(args, server, base_url, state)
    result["audio_check"] = await audio_check(args, space, ramp, base_url)
    rig = await start_clients(args, server, space, state)
    baseline = await measure_baseline(args, rig, result)
    steps: list[dict[str, Any]] = []
    result["steps"] = steps  # filled as the run goes: an error still reports what was measured
    result["stop_reason"] = await ramp_up(args, rig, space, ramp, baseline, steps, result)
    result.update(conclude(steps, baseline, baseline["server_cores"] * 1000))
    problems = server.log_problems()
    problems["excerpt"] = problems["excerpt"][:5]
    result["server_log"] = problems
    result["runtime_s"] = round(time.monotonic() - t_start, 1)
    return result


def describe(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    """What is measured and how: the head of the result."""
    return {
        "benchmark": "listener_fanout",
        "frame_ms": args.frame_ms,
        "packets_per_listener_s": round(1000 / args.frame_ms, 2),
        "backend": server.backend,
        "password_hashing": CHEAP_HASHING_NOTE,
        "setup_limits": SETUP_LIMITS_NOTE,
        "on_time_definition": (
            f"per listener and window: delay = arrival time (CLOCK_MONOTONIC, in the client "
            f"process, before any decryption) - RTP timestamp / 48 kHz; base = the listener's "
            f"smallest delay around the window (a playout clock anchored on its fastest packet); "
            f"frame slot k is expected at base + k x {args.frame_ms} ms and is on time when its "
            f"packet arrives within {args.on_time_ms} ms of that. Every {args.frame_ms} ms slot "
            f"of the window counts: a packet never received (dropped by the server's 5-packet "
            f"track queue, lost) is not on time. on_time_ratio = on-time slots / expected slots, "
            f"over all listeners"
        ),
        "goal": f"listeners_per_core >= {GOAL_LISTENERS_PER_CORE} at >= 99 % on time",
        "light_client": (
            "aiortc RTCPeerConnection for offer/answer, ICE (IPv4 host candidates) and DTLS; RTP "
            "datagrams then caught in aioice's datagram_received before STUN parsing and SRTP "
            "unprotect: arrival time and RTP timestamp recorded. About 1 packet/s per listener "
            f"(--pass-every-s {args.pass_every_s}) still goes through aiortc so the client sends "
            "RTCP receiver reports like a browser"
        ),
        "client_processes": args.processes,
        "analytics": args.analytics,
        "window_s": args.window,
        "settle_s": args.settle,
    }


async def wait_quiet(max_wait_s: float) -> dict[str, Any]:
    """Waits (up to max_wait_s) for the 1-minute load average to drop below 1.0."""
    started = time.monotonic()
    while os.getloadavg()[0] >= 1.0 and time.monotonic() - started < max_wait_s:
        if int(time.monotonic() - started) % 30 == 0:
            log(f"machine busy (load {os.getloadavg()[0]:.2f}); waiting for < 1.0")
        await asyncio.sleep(1)
    return {
        "waited_for_quiet_s": round(time.monotonic() - started, 1),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


async def configure_server(args: argparse.Namespace, server: Server, state: Run) -> None:
    """The server's environment: the listener frames, no host timeout, no WebRTC cap, and a
    sitecustomize that logs its GC pauses (and, as an experiment, sets uvloop)."""
    result = state.result
    server.extra_env["PARLEY_LISTENER_FRAME_MS"] = str(args.frame_ms)
    # The host holds no room WebSocket here: without this the space would end as abandoned
    # after the host grace period (180 s by default) in the middle of the run.
    server.extra_env["PARLEY_HOST_GRACE_S"] = "3600"
    # Nor end as idle (PARLEY_IDLE_SPACE_END_S, 600 s): a long ramp must keep its space.
    server.extra_env["PARLEY_IDLE_SPACE_END_S"] = "0"
    # What one node can take is what this measures: no cap sending listeners to HLS.
    server.extra_env["PARLEY_WEBRTC_LISTENER_CAPACITY"] = "1000000"
    if args.stock_sender:
        server.extra_env["PARLEY_LISTENER_FAST_PATH"] = "false"
    server.extra_env |= analytics_env(args.analytics)
    result["server_tree"] = await asyncio.to_thread(source_state)
    result["server_settings"] = await asyncio.to_thread(server_settings, server.extra_env)
    # The server's GC pauses are logged by a gc.callbacks hook (it only observes: a clock read
    # per collection); with --server-uvloop-policy, the media loop becomes a uvloop loop.
    gc_log = None if args.no_gc_log else Path(tempfile.mkdtemp(prefix="parley-gc-")) / "gc.log"
    state.gc_log = gc_log
    if gc_log is not None or args.server_uvloop_policy:
        # An A/B experiment for the loop, not the stock server: with uvloop as the global policy,
        # the engine's `asyncio.new_event_loop()` (the media loop) is a uvloop loop too. uvicorn
        # itself uses a loop factory and leaves the policy alone, so by default the media loop
        # is asyncio's pure-Python selector loop.
        state.site_dir = site_dir = server_site_dir(gc_log, args.server_uvloop_policy)
        server.extra_env["PYTHONPATH"] = str(site_dir)
    result["server_gc_log"] = (
        "gc.callbacks hook in the server (sitecustomize): full collections and pauses > 1 ms"
        if gc_log is not None
        else "off"
    )
    result["server_event_loop_policy"] = (
        "uvloop set globally by a sitecustomize (experiment; the stock server does not)"
        if args.server_uvloop_policy
        else "stock (uvicorn's own loop is uvloop; the engine's media loop is asyncio's default)"
    )


async def start_server(args: argparse.Namespace, server: Server) -> str:
    """Starts `parley serve` and waits until it answers; its base URL."""
    log(
        f"starting parley serve ({server.backend}, PARLEY_LISTENER_FRAME_MS={args.frame_ms}, "
        f"analytics {args.analytics})"
    )
    server.start()
    await server.wait_healthy()
    assert server.process is not None
    log(f"server up on port {server.port}, pid {server.process.pid}")
    return f"http://{HOST}:{server.port}"


async def publish_tone(
    args: argparse.Namespace, server: Server, base_url: str, state: Run
) -> Space:
    """The host's live space, the host publishing a tone over WHIP: the stage mix is never
    silent."""
    state.http = http = HttpClient(
        server.port, max_connections=args.setup_concurrency, timeout_s=60
    )
    space = await make_space(http)
    from _audio import GeneratedTrack, WebRtcClient, tone

    state.host = host = WebRtcClient(
        base_url, space.host_token, space.space_id, "whip", GeneratedTrack(tone(440))
    )
    response = await host.connect()
    if response.status_code != 201:
        raise RuntimeError(f"host WHIP: {response.status_code} {response.text[:200]}")
    await unmute_on_air(space)
    log(f"host publishing a {TONE_HZ:.0f} Hz tone over WHIP in space {space.space_id}")
    return space


async def audio_check(
    args: argparse.Namespace, space: Space, ramp: Ramp, base_url: str
) -> dict[str, Any]:
    """One decoding listener (its own account) must hear the host's tone."""
    checker = await make_listeners(space, ramp.accounts_made, 1, args.setup_concurrency)
    ramp.accounts_made += 1
    heard = await check_audio(base_url, checker[0], space.space_id)
    log(f"a decoding listener heard: {heard}")
    return heard


async def start_clients(args: argparse.Namespace, server: Server, space: Space, state: Run) -> Rig:
    """The load-client processes (and the stall watcher), idle until told to open listeners."""
    state.workers = workers = Workers(
        args.processes,
        {
            "port": server.port,
            "space_id": space.space_id,
            "frame_samples": RTP_CLOCK_HZ * args.frame_ms // 1000,
            "on_time_s": args.on_time_ms / 1000,
            "connect_timeout_s": args.connect_timeout,
            "connect_concurrency": args.connect_concurrency,
            "pass_every_s": args.pass_every_s,
        },
    )
    meter = CpuMeter(server, workers.ps)
    await asyncio.sleep(2)  # the client processes start (imports) outside the baseline
    return Rig(
        server=server,
        workers=workers,
        meter=meter,
        gc_log=state.gc_log,
        settle_s=args.settle,
        window_s=args.window,
        on_time_s=args.on_time_ms / 1000,
    )


async def measure(rig: Rig, listeners: int) -> dict[str, Any]:
    """Settles, then one window: the CPU of everyone, the server's GC pauses, the machine's
    stalls and (with listeners) the packets on time."""
    await asyncio.sleep(rig.settle_s)
    await asyncio.to_thread(rig.meter.name_threads)
    a = rig.meter.sample()
    t0 = time.monotonic()
    await asyncio.sleep(rig.window_s)
    t1 = time.monotonic()
    b = rig.meter.sample()
    cores = rig.meter.use(a, b)
    step: dict[str, Any] = {
        "listeners": listeners,
        "server_cores": round(cores.server, 3),
        "server_kernel_cores": round(cores.server_system, 3),
        "server_threads_cores": cores.server_threads,
        "clients_cores": round(cores.clients, 3),
        "bench_main_cores": round(cores.bench, 3),
        "machine_busy_cores": round(cores.machine_busy, 3),
        "window_s": round(cores.wall_s, 2),
        "server_rss_mib": round(rig.server.rss_mib(), 1),
        "udp_counters_delta": cores.udp,
        "server_gc_pauses": gc_pauses(rig.gc_log, t0, t1),
    }
    step["machine_stalls"] = await rig.workers.stalls(t0, t1)
    if listeners:
        step.update(merge_stats(await rig.workers.stats(t0, t1), rig.on_time_s))
    return step


async def measure_baseline(
    args: argparse.Namespace, rig: Rig, result: dict[str, Any]
) -> dict[str, Any]:
    """The server's CPU with the host alone, no listener."""
    log(f"baseline: server CPU with the host only, {args.window:.0f}s")
    baseline = await measure(rig, 0)
    result["baseline"] = baseline
    log(f"  server {baseline['server_cores']:.3f} cores")
    return baseline


async def ramp_up(
    args: argparse.Namespace,
    rig: Rig,
    space: Space,
    ramp: Ramp,
    baseline: dict[str, Any],
    steps: list[dict[str, Any]],
    result: dict[str, Any],
) -> str:
    """Adds listeners step by step, measuring each step, until one fails, the machine is
    saturated or the steps or the time budget run out; why it stopped."""
    for target in args.steps:
        if target <= ramp.listening:
            continue
        if over_budget(args, ramp, target):
            return f"time budget ({args.budget:.0f}s) would be exceeded by {target}"
        joined = await add_listeners(args, rig, space, ramp, target)
        step = await measure_step(args, rig, ramp, baseline)
        steps.append(record_connects(step, joined))
        log_step(step)
        await profile_once(args, rig.server, ramp.listening, result)
        stop_reason = reason_to_stop(step, joined, ramp.listening, target)
        if stop_reason is not None:
            return stop_reason
    return "all steps done"


def over_budget(args: argparse.Namespace, ramp: Ramp, target: int) -> bool:
    """Whether connecting up to `target` listeners and measuring them would overrun --budget."""
    new = target - ramp.listening
    elapsed = time.monotonic() - ramp.t_begin
    needed = new / ramp.open_rate_per_s + new / 60 + args.settle + args.window + 5
    return bool(elapsed + needed > args.budget)


async def add_listeners(
    args: argparse.Namespace, rig: Rig, space: Space, ramp: Ramp, target: int
) -> Joined:
    """Signs up the step's new listeners and connects them, spread over the client processes."""
    new = target - ramp.listening
    t0 = time.monotonic()
    tokens = await make_listeners(space, ramp.accounts_made, new, args.setup_concurrency)
    ramp.accounts_made += new
    signup_s = time.monotonic() - t0
    t0 = time.monotonic()
    ok, failures = await rig.workers.open(tokens, args.connect_timeout * 3 + new)
    open_s = time.monotonic() - t0
    ramp.open_rate_per_s = max(ok, 1) / max(open_s, 0.1)
    ramp.listening += ok
    log(
        f"step {target}: {ok}/{new} new listeners connected in {open_s:.1f}s "
        f"(accounts {signup_s:.1f}s); {ramp.listening} listening"
    )
    if failures:
        log(f"  connect failures, e.g. {failures[:2]}")
    return Joined(new=new, ok=ok, failures=failures, open_s=open_s)


# What a failed attempt keeps when its step is measured again.
_ATTEMPT_KEYS = (
    "on_time_ratio",
    "machine_stalls",
    "late_bins_100ms",
    "late_worst_bins",
    "rel_delay_max_ms",
    "server_gc_pauses",
    "server_cores",
    "clients_cores",
    "machine_busy_cores",
)


async def measure_step(
    args: argparse.Namespace, rig: Rig, ramp: Ramp, baseline: dict[str, Any]
) -> dict[str, Any]:
    """Measures the listeners now connected; a failure in a machine stall or one short burst
    is measured again (up to --retries, within the budget), the earlier attempts kept."""
    step = judge(await measure(rig, ramp.listening), baseline, args.frame_ms)
    attempts: list[dict[str, Any]] = []
    while (
        not step["passed"]
        and (step["machine_stalls"]["max_ms"] >= STALL_MS or transient(step))
        and len(attempts) < args.retries
        and time.monotonic() - ramp.t_begin + args.window + 5 < args.budget
    ):
        log(
            f"  failed (on time {step['on_time_ratio']}) in a machine stall "
            f"({step['machine_stalls']['max_ms']} ms) or one short burst of late packets "
            f"({step['late_worst_bins'][:3]}): measuring again"
        )
        attempts.append({k: step[k] for k in _ATTEMPT_KEYS})
        step = judge(await measure(rig, ramp.listening), baseline, args.frame_ms)
    if attempts:
        step["earlier_attempts"] = attempts
    return step


def record_connects(step: dict[str, Any], joined: Joined) -> dict[str, Any]:
    """Notes in the step how its new listeners connected."""
    step["connect_seconds"] = round(joined.open_s, 1)
    step["connect_failures"] = joined.new - joined.ok
    if joined.failures:
        step["connect_failure_sample"] = joined.failures[:3]
    return step


def log_step(step: dict[str, Any]) -> None:
    log(
        f"  server {step['server_cores']:.3f} cores {step['server_threads_cores']}, "
        f"clients {step['clients_cores']:.3f}, machine {step['machine_busy_cores']:.2f} "
        f"(stalls max {step['machine_stalls']['max_ms']} ms); on time "
        f"{step['on_time_ratio']}, rel. delay p99 {step['rel_delay_p99_ms']} ms, "
        f"missing {step['packets_missing']}"
    )


async def profile_once(
    args: argparse.Namespace, server: Server, listening: int, result: dict[str, Any]
) -> None:
    """With --profile-at, py-spy on the server once that many listen."""
    if not args.profile_at or listening < args.profile_at or "profile" in result:
        return
    assert server.process is not None
    log(f"  profiling the server with py-spy for {args.profile_seconds:.0f}s")
    out_dir = Path(args.profile_dir or tempfile.mkdtemp(prefix="parley-profile-"))
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    result["profile"] = {
        "listeners": listening,
        **await asyncio.to_thread(
            profile_server, server.process.pid, args.profile_seconds, out_dir
        ),
    }


def reason_to_stop(step: dict[str, Any], joined: Joined, listening: int, target: int) -> str | None:
    """Why the ramp ends after this step, if it does."""
    if not step["passed"]:
        return f"step {listening} failed (on time or server > 1 core)"
    if step["machine_saturated"]:
        return f"machine saturated at {listening} listeners (server + load clients)"
    if joined.ok < joined.new * 0.9:
        return f"too many connect failures at step {target}"
    return None


def fit_slope(points: list[tuple[int, float]]) -> tuple[float, float] | None:
    """Least-squares line (slope, intercept) through (listeners, server CPU ms/s)."""
    if len(points) < 2:
        return None
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(slope), float(intercept)


def transient(step: dict[str, Any]) -> bool:
    """Late packets all due within half a second: one hiccup (on a shared machine), not a rate
    the server cannot keep up with. Such a step is measured again (--retries)."""
    return bool(step.get("packets_missing") == 0 and 0 < step.get("late_bins_100ms", 0) <= 5)


def judge(step: dict[str, Any], baseline: dict[str, Any], frame_ms: int) -> dict[str, Any]:
    """Per-listener figures of a measured step, and whether it passed."""
    listeners = max(step["listeners"], 1)
    above = (step["server_cores"] - baseline["server_cores"]) * 1000
    step["server_ms_per_listener_s_vs_baseline"] = round(above / listeners, 3)
    step["clients_ms_per_listener_s"] = round(step["clients_cores"] * 1000 / listeners, 3)
    step["server_us_per_packet_sent"] = round(above * 1000 / listeners / (1000 / frame_ms), 1)
    step["passed"] = bool(
        step["on_time_ratio"] is not None
        and step["on_time_ratio"] >= ON_TIME_GOAL
        and step["server_cores"] <= 1.0
    )
    step["machine_saturated"] = step["machine_busy_cores"] >= 0.95 * (os.cpu_count() or 2)
    return step


def conclude(
    steps: list[dict[str, Any]], baseline: dict[str, Any], base_ms: float
) -> dict[str, Any]:
    passing = [s for s in steps if s["passed"]]
    failed = [s for s in steps if not s["passed"]]
    out: dict[str, Any] = {}
    fit = fit_slope([(s["listeners"], s["server_cores"] * 1000) for s in passing])
    if fit is not None:
        slope, intercept = fit
        method = "least-squares slope of server CPU (ms/s) vs listeners over the passing steps"
    elif passing:
        slope = passing[-1]["server_ms_per_listener_s_vs_baseline"]
        intercept = base_ms
        method = "(server CPU at the one passing step - baseline) / listeners"
    else:
        slope, intercept, method = math.nan, math.nan, "no passing step"
    out["cpu_ms_per_listener_s"] = round(slope, 3) if math.isfinite(slope) else None
    out["cpu_ms_per_listener_s_method"] = method
    out["server_fixed_ms_per_s"] = round(intercept, 1) if math.isfinite(intercept) else None
    out["baseline_server_ms_per_s"] = round(base_ms, 1)
    clients = [s["clients_ms_per_listener_s"] for s in passing]
    out["clients_cpu_ms_per_listener_s"] = round(float(np.median(clients)), 3) if clients else None
    by_slope = None
    if math.isfinite(slope) and slope > 0:
        by_slope = int((1000 - max(intercept, 0.0)) / slope)
    out["listeners_per_core_from_slope"] = by_slope
    out["largest_count_tested"] = max((s["listeners"] for s in steps), default=0)
    out["largest_passing_count"] = max((s["listeners"] for s in passing), default=0)
    last = steps[-1] if steps else None
    machine_limited = bool(
        failed
        and (failed[0]["machine_stalls"]["max_ms"] >= STALL_MS or failed[0]["machine_saturated"])
    ) or bool(last is not None and last["passed"] and last["machine_saturated"])
    if failed and not machine_limited:
        # The server itself missed the schedule (or used over a core) on this machine.
        reason = failed[0]
        out["limit"] = "server"
        out["listeners_per_core"] = out["largest_passing_count"]
        out["listeners_per_core_extrapolated"] = False
        out["listeners_per_core_basis"] = (
            f"measured: the largest tested count with >= 99 % on time and server <= 1 core; "
            f"{reason['listeners']} listeners failed (on time {reason['on_time_ratio']}, server "
            f"{reason['server_cores']} cores, machine {reason['machine_busy_cores']} cores busy, "
            f"no machine stall over {STALL_MS:.0f} ms)"
        )
    else:
        out["limit"] = "machine" if machine_limited else "steps or time budget"
        out["listeners_per_core"] = by_slope
        out["listeners_per_core_extrapolated"] = True
        why = (
            "the shared machine stalled or saturated (server + load clients + other work)"
            if machine_limited
            else "the steps or the time budget ran out"
        )
        out["listeners_per_core_basis"] = (
            f"extrapolated: (1000 - fixed server ms/s) / cpu_ms_per_listener_s; measured up to "
            f"{out['largest_passing_count']} listeners on time, then {why}"
        )
    value = out["listeners_per_core"]
    out["goal_met"] = bool(value is not None and value >= GOAL_LISTENERS_PER_CORE)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    server = Server(keep_data=args.keep_data)
    state = Run()
    try:
        return await run(args, server, state)
    except Exception as exc:
        log(f"run failed: {type(exc).__name__}: {exc}")
        partial = state.result
        partial["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        if partial.get("steps"):
            partial.update(
                conclude(
                    partial["steps"],
                    partial["baseline"],
                    partial["baseline"]["server_cores"] * 1000,
                )
            )
        return partial
    finally:
        await tear_down(server, state)


async def tear_down(server: Server, state: Run) -> None:
    log("stopping: client processes, host, server")
    if state.workers is not None:
        await state.workers.stop()
    if state.host is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(state.host.close(), 10)
    if state.http is not None:
        await state.http.aclose()
    server.stop()
    server.cleanup()
    if state.site_dir is not None:
        shutil.rmtree(state.site_dir, ignore_errors=True)
    if state.gc_log is not None:
        shutil.rmtree(state.gc_log.parent, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frame-ms",
        type=int,
        default=PRODUCT_FRAME_MS,
        choices=(10, 20, 40, 60),
        help=f"listener Opus frames (default: the server's, {PRODUCT_FRAME_MS} ms)",
    )
    parser.add_argument(
        "--steps",
        type=lambda s: sorted({int(x) for x in s.split(",") if x}),
        default=None,
        help="listener counts to measure, ramping up (comma separated); default "
        f"{DEFAULT_STEPS[20]} for 20 ms frames, {DEFAULT_STEPS[60]} for 60 ms",
    )
    parser.add_argument("--processes", type=int, default=4, help="load-client processes")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured per step")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before each window")
    parser.add_argument("--on-time-ms", type=float, default=60.0)
    parser.add_argument("--pass-every-s", type=float, default=1.0)
    parser.add_argument("--connect-concurrency", type=int, default=6, help="per client process")
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    parser.add_argument("--setup-concurrency", type=int, default=8)
    parser.add_argument(
        "--budget", type=float, default=240.0, help="seconds for the run (after any wait)"
    )
    parser.add_argument("--wait-quiet", type=float, default=60.0, help="max seconds to wait")
    parser.add_argument("--profile-at", type=int, default=0, help="py-spy once N listen")
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument("--profile-dir", default="")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="re-measure a step that failed in a machine stall or one short burst",
    )
    parser.add_argument(
        "--stock-sender",
        action="store_true",
        help="PARLEY_LISTENER_FAST_PATH=false: aiortc's sender per listener (A/B)",
    )
    parser.add_argument(
        "--analytics",
        choices=("on", "off"),
        default="on",
        help="host analytics in the server (PARLEY_ANALYTICS; on is the product default)",
    )
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument(
        "--no-gc-log", action="store_true", help="no gc.callbacks hook in the server"
    )
    parser.add_argument(
        "--server-uvloop-policy",
        action="store_true",
        help="experiment: make the server's media event loop uvloop (via sitecustomize)",
    )
    args = parser.parse_args()
    if args.steps is None:
        args.steps = DEFAULT_STEPS.get(args.frame_ms, DEFAULT_STEPS[20])
    return args


def main() -> None:
    args = parse_args()
    try_uvloop()
    result = asyncio.run(main_async(args))
    report(result, ("listeners_per_core", "cpu_ms_per_listener_s", "limit", "stop_reason"))
    if "error" in result:
        sys.exit(1)


if __name__ == "__main__":
    main()
