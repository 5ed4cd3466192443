"""Stage latency benchmark: mouth-to-ear delay of marked impulses through a real server.

    .venv/bin/python bench/stage_latency.py [--impulses 60] [--period-ms 500]

Starts the real server (`parley serve`) on a free 127.0.0.1 port with a throwaway data folder and
creates a live space through the REST API: the host (speaker A) and bob (speaker B) on stage,
unmuted, and carol joined as a listener. Then, with real aiortc clients
(`parley.media.client.WebRtcClient`, immediate jitter path on the client side too):

* A publishes (WHIP) a track that is silent except a 5 ms cosine burst every `--period-ms`; the
  bursts cycle through 4 frequencies, which mark them, so an onset is never matched to the wrong
  impulse even if the delay exceeded the period;
* B publishes silence (WHIP) and records its mix-minus (A's audio, encoded by aiortc for B);
* carol listens (WHEP) and records the full mix (encoded once by the server).

Send time of an impulse = the wall time its 20 ms frame left A's track (`GeneratedTrack.sent_at`)
+ its offset in the frame / 48 kHz. Arrival = wall time the decoded block containing the first
sample over the threshold reached the receiver's recording + that sample's offset in the block /
48 kHz. Both ends run in this process on the same clock. Opus pre-echo may put the threshold
crossing up to ~2.5 ms before the true onset (a slight underestimate).

Meanwhile a separate process calls GET /api/health every 50 ms (one keep-alive connection):
`api_health_p99_ms` while the space is live, `api_health_idle_p99_ms` before any WebRTC session.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _audio import (
    GeneratedTrack,
    TimedClient,
    close_all,
    make_stage,
    run_against_server,
    tone,
    wait_connected,
)
from _common import CHEAP_HASHING_NOTE, HOST, HttpClient, Server, log, percentile, report
from parley.media.mixer import FRAME_SAMPLES, INT16_MAX, SAMPLE_RATE_HZ, Samples

GOAL_P95_MS = 100.0
BURST_MS = 5
AMPLITUDE = 0.5 * INT16_MAX
THRESHOLD = 0.1 * AMPLITUDE
MARKS_HZ = (1000.0, 2000.0, 3000.0, 4000.0)
QUIET_BEFORE_S = 0.2  # an onset needs this much audio under the threshold before it


# --- the impulses ----------------------------------------------------------------------------
class Impulses:
    """Source of A's track: impulse k starts at sample first + k * period (k < count)."""

    def __init__(self, first: int, period: int, count: int) -> None:
        self.first, self.period, self.count = first, period, count
        burst = BURST_MS * SAMPLE_RATE_HZ // 1000
        n = np.arange(burst)
        self.bursts = [
            (np.cos(2 * math.pi * hz * n / SAMPLE_RATE_HZ) * AMPLITUDE).astype(np.int16)
            for hz in MARKS_HZ
        ]

    def start_of(self, k: int) -> int:
        return self.first + k * self.period

    def __call__(self, start: int) -> Samples:
        block = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        end = start + FRAME_SAMPLES
        k0 = max(0, (start - self.first) // self.period - 1)
        for k in range(k0, min(self.count, k0 + 3)):
            s = self.start_of(k)
            burst = self.bursts[k % len(MARKS_HZ)]
            lo, hi = max(start, s), min(end, s + burst.size)
            if lo < hi:
                block[lo - start : hi - start] = burst[lo - s : hi - s]
        return block


def _mark(samples: Samples) -> int:
    """Which of MARKS_HZ dominates a short stretch of audio."""
    x = samples.astype(np.float64)
    n = np.arange(x.size)
    powers = [abs(np.dot(x, np.exp(-2j * math.pi * hz * n / SAMPLE_RATE_HZ))) for hz in MARKS_HZ]
    return int(np.argmax(powers))


def _onsets(
    frames: list[tuple[float, int, Samples]], *, offset_in_block: bool = True
) -> list[tuple[float, int]]:
    """(arrival time of the onset sample, mark) for each impulse found in a recording. A block
    that plays as it arrives reaches its onset `offset` samples later; one that arrives whole
    (an HLS segment) holds it from its arrival (`offset_in_block=False`)."""
    if not frames:
        return []
    stream = np.concatenate([s for _, _, s in frames])
    sizes = [s.size for _, _, s in frames]
    block_at = np.repeat([at for at, _, _ in frames], sizes)
    block_start = np.repeat(np.cumsum([0, *sizes[:-1]]), sizes)
    loud = np.flatnonzero(np.abs(stream.astype(np.int32)) > THRESHOLD)
    quiet = int(QUIET_BEFORE_S * SAMPLE_RATE_HZ)
    found: list[tuple[float, int]] = []
    last = -(10**12)
    for index in loud:
        if index - last > quiet:
            offset = int(index - block_start[index])
            burst = stream[index : index + BURST_MS * SAMPLE_RATE_HZ // 1000]
            later = offset / SAMPLE_RATE_HZ if offset_in_block else 0.0
            found.append((float(block_at[index]) + later, _mark(burst)))
        last = int(index)
    return found


def _latencies(
    onsets: list[tuple[float, int]], sent: list[tuple[float, int]], window_s: float = 2.0
) -> tuple[list[float], int]:
    """Latency (ms) per received impulse, matched to the latest sent impulse with its mark; and
    how many onsets matched nothing (spurious)."""
    out: list[float] = []
    spurious = 0
    used: set[int] = set()
    for at, mark in onsets:
        candidates = [
            (t, k) for k, (t, m) in enumerate(sent) if m == mark and t <= at and at - t < window_s
        ]
        if not candidates:
            spurious += 1
            continue
        t, k = max(candidates)
        if k in used:
            spurious += 1
            continue
        used.add(k)
        out.append((at - t) * 1000)
    return out, spurious


def _stats(values: list[float], prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}_p50_ms": round(percentile(values, 50), 1),
        f"{prefix}_p95_ms": round(percentile(values, 95), 1),
        f"{prefix}_max_ms": round(max(values), 1) if values else math.nan,
        f"{prefix}_min_ms": round(min(values), 1) if values else math.nan,
        f"{prefix}_count": len(values),
    }


# --- the API prober (own process, so the clients' CPU does not delay it) -------------------------
def _probe(conn: Connection, port: int, interval_s: float) -> None:
    """GET /api/health every interval until told to stop; sends back the latencies (ms)."""
    latencies: list[float] = []
    errors = 0
    client = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.send("ready")
    next_at = time.perf_counter()
    while not conn.poll():
        started = time.perf_counter()
        try:
            client.request("GET", "/api/health")
            answer = client.getresponse()
            answer.read()
            if answer.status == 200:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            client.close()
            client = http.client.HTTPConnection(HOST, port, timeout=10)
        next_at += interval_s
        time.sleep(max(0.0, next_at - time.perf_counter()))
    conn.recv()
    client.close()
    conn.send({"latencies": latencies, "errors": errors})


class Prober:
    def __init__(self, port: int, interval_s: float = 0.05) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_probe, args=(child, port, interval_s), daemon=True)
        self.process.start()

    async def ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.conn.poll():
            if time.monotonic() > deadline:
                raise TimeoutError("the API prober did not start")
            await asyncio.sleep(0.05)
        self.conn.recv()

    async def stop(self) -> dict[str, Any]:
        self.conn.send("stop")
        deadline = time.monotonic() + 15
        while not self.conn.poll():
            if time.monotonic() > deadline:
                raise TimeoutError("the API prober did not answer")
            await asyncio.sleep(0.05)
        result: dict[str, Any] = self.conn.recv()
        self.process.join(5)
        return result

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


async def _loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late this process's event loop wakes up (the clients share it): ms over 10 ms sleeps."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((time.perf_counter() - started - 0.01) * 1000)


def _health_stats(answer: dict[str, Any], prefix: str) -> dict[str, Any]:
    values = answer["latencies"]
    return {
        f"{prefix}_p50_ms": round(percentile(values, 50), 2),
        f"{prefix}_p99_ms": round(percentile(values, 99), 2),
        f"{prefix}_max_ms": round(max(values), 2) if values else math.nan,
        f"{prefix}_requests": len(values),
        f"{prefix}_errors": answer["errors"],
    }


# --- the run -----------------------------------------------------------------------------------
async def run(
    args: argparse.Namespace, server: Server, cleanup: list[Callable[[], Any]]
) -> dict[str, Any]:
    result: dict[str, Any] = {"impulses_sent": args.impulses, "period_ms": args.period_ms}
    server.start()
    health = await server.wait_healthy()
    log(
        f"server up on port {server.port} ({health['store']['backend']}+{health['bus']['backend']})"
    )
    http = HttpClient(server.port, max_connections=4)
    try:
        stage = await make_stage(http, "Latency benchmark", speakers=["bob"], listeners=["carol"])
    finally:
        await http.aclose()
    base = f"http://{HOST}:{server.port}"

    log(f"API baseline: GET /api/health every 50 ms for {args.idle_seconds:.0f} s, no WebRTC")
    prober = Prober(server.port)
    cleanup.append(prober.kill)
    await prober.ready()
    await asyncio.sleep(args.idle_seconds)
    result.update(_health_stats(await prober.stop(), "api_health_idle"))

    period = args.period_ms * SAMPLE_RATE_HZ // 1000
    lead = int(args.lead_seconds * SAMPLE_RATE_HZ) // FRAME_SAMPLES * FRAME_SAMPLES
    impulses = Impulses(lead, period, args.impulses)
    track_a = GeneratedTrack(impulses)
    a = TimedClient(base, stage.host_token, stage.space_id, "whip", track_a)
    b = TimedClient(base, stage.tokens["bob"], stage.space_id, "whip", GeneratedTrack(tone(0, 0)))
    listener = TimedClient(base, stage.tokens["carol"], stage.space_id, "whep")
    clients = [a, b, listener]
    stop_lag = asyncio.Event()
    lag: list[float] = []
    lag_task = asyncio.ensure_future(_loop_lag(lag, stop_lag))
    prober = Prober(server.port)
    cleanup.append(prober.kill)
    await prober.ready()
    try:
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        for client in (listener, b, a):
            answer = await client.connect()
            if answer.status_code != 201:
                raise RuntimeError(f"{client.kind} refused: {answer.status_code} {answer.text}")
        await wait_connected(clients)
        log(f"3 WebRTC sessions connected; {args.impulses} impulses every {args.period_ms} ms")
        total_s = (lead + args.impulses * period) / SAMPLE_RATE_HZ
        await asyncio.sleep(total_s + args.tail_seconds)
        cpu1, wall1 = server.cpu_seconds(), time.monotonic()
        result["server_core_fraction_live"] = round((cpu1 - cpu0) / (wall1 - wall0), 3)
        result.update(_health_stats(await prober.stop(), "api_health"))
    finally:
        stop_lag.set()
        await lag_task
        await close_all(clients)

    sent_at = dict(track_a.sent_at)
    sent: list[tuple[float, int]] = []
    for k in range(args.impulses):
        s = impulses.start_of(k)
        frame = s // FRAME_SAMPLES * FRAME_SAMPLES
        if frame in sent_at:
            sent.append((sent_at[frame] + (s - frame) / SAMPLE_RATE_HZ, k % len(MARKS_HZ)))
    result["impulses_left_sender"] = len(sent)
    for name, client in (("speaker_to_listener", listener), ("speaker_to_speaker", b)):
        onsets = _onsets(client.frames)
        values, spurious = _latencies(onsets, sent)
        result.update(_stats(values, name))
        result[f"{name}_spurious_onsets"] = spurious
        log(f"{name} latencies (ms, in order): " + " ".join(f"{v:.0f}" for v in values))
        if values:
            result[f"{name}_mean_ms"] = round(statistics.fmean(values), 1)
    result["impulses"] = min(
        result["speaker_to_listener_count"], result["speaker_to_speaker_count"]
    )
    result["goal_p95_ms"] = GOAL_P95_MS
    result["meets_goal"] = all(
        result.get(f"{n}_p95_ms", math.inf) <= GOAL_P95_MS
        for n in ("speaker_to_listener", "speaker_to_speaker")
    )
    result["client_loop_lag_p99_ms"] = round(percentile(lag, 99), 1)
    result["note"] = CHEAP_HASHING_NOTE
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--impulses", type=int, default=60)
    p.add_argument("--period-ms", type=int, default=500)
    p.add_argument("--lead-seconds", type=float, default=3.0, help="silence before the first")
    p.add_argument("--tail-seconds", type=float, default=1.5, help="wait after the last")
    p.add_argument("--idle-seconds", type=float, default=5.0, help="API baseline before media")
    p.add_argument("--timeout", type=float, default=170.0)
    p.add_argument("--keep-data", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result, code = run_against_server(args, run)
    headline = (
        "speaker_to_listener_p50_ms",
        "speaker_to_listener_p95_ms",
        "speaker_to_speaker_p95_ms",
        "impulses",
        "api_health_p99_ms",
    )
    report(result, headline)
    return code


if __name__ == "__main__":
    sys.exit(main())
