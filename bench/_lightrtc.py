"""Light WHEP listeners for load tests: real ICE and DTLS-SRTP, then RTP is only counted.

A stock aiortc client decrypts, buffers and decodes every packet (about 12 ms of CPU per second),
so a few hundred of them would eat the cores the server under test needs. Here aiortc's
RTCPeerConnection does the offer/answer, ICE and the DTLS handshake as usual; then every RTP
datagram is caught in aioice's `StunProtocol.datagram_received`, before STUN parsing and SRTP
unprotect, and only its arrival time and RTP header (sequence number and timestamp travel in clear
in SRTP, RFC 3711 s3.1) are recorded. STUN (ICE consent), DTLS and RTCP take aiortc's normal path.

About one RTP packet per second per listener is passed on to aiortc as well (unprotect, jitter
buffer, decoder), so the client keeps sending RTCP receiver reports about once a second like a
browser does; the server therefore handles that RTCP too.

Everything in this module patches aioice in the process that imports `install()`: only call it in
a load-client process, never in the server.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import math
import struct
import time
from array import array
from multiprocessing.connection import Connection
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from parley.media import internals

RTP_CLOCK_HZ = 48000  # Opus RTP clock (RFC 7587 s4.1)
_RTP_SEQ_TS = struct.Struct("!2xHI")
HIST_MS = 500  # relative delays are histogrammed in 1 ms buckets; the last one is "500 or more"

_installed = False


def install() -> None:
    """Patches aioice in this process: RTP datagrams go to a per-socket sink; IPv4 only."""
    global _installed
    if _installed:
        return
    _installed = True
    protocol = aioice.ice.StunProtocol
    original = protocol.datagram_received
    protocol.bench_sink = None  # type: ignore[attr-defined]

    def datagram_received(self: Any, data: bytes, addr: tuple[Any, ...]) -> None:
        sink = self.bench_sink
        # RTP: version 2 (first byte 128..191) and not RTCP (payload type 192..223, RFC 5761 s4).
        if sink is not None and 127 < data[0] < 192 and not 191 < data[1] < 224 and sink(data):
            return
        original(self, data, addr)

    protocol.datagram_received = datagram_received  # type: ignore[method-assign]

    # The machine also has an IPv6 address: a typical client offers IPv4 only, and one socket per
    # peer connection halves the ICE checks the client process has to answer.
    host_addresses = aioice.ice.get_host_addresses

    def ipv4_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return host_addresses(use_ipv4=use_ipv4, use_ipv6=False)

    aioice.ice.get_host_addresses = ipv4_only


class LightListener:
    """One WHEP session. `arrivals` (time.monotonic()) and `stamps` (RTP timestamps) grow in
    arrival order; `trim()` drops what is no longer needed."""

    def __init__(self, pass_every_s: float) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.arrivals = array("d")
        self.stamps = array("I")
        self.pass_every_s = pass_every_s
        self._next_pass = 0.0
        self.connected = asyncio.Event()
        self.failed: str | None = None
        self._drain: asyncio.Task[None] | None = None
        self.location: str | None = None

    def sink(self, data: bytes) -> bool:
        """Records one RTP packet; True when aiortc need not see it."""
        now = time.monotonic()
        self.arrivals.append(now)
        self.stamps.append(_RTP_SEQ_TS.unpack_from(data)[1])
        if now >= self._next_pass:
            self._next_pass = now + self.pass_every_s
            return False
        return True

    async def connect(self, port: int, space_id: int, token: str, timeout_s: float) -> None:
        pc = self.pc
        pc.addTransceiver("audio", direction="recvonly")

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            self._drain = asyncio.ensure_future(_drain(track))

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            if pc.connectionState == "connected":
                self.connected.set()
            elif pc.connectionState in ("failed", "closed") and not self.connected.is_set():
                self.failed = f"connection {pc.connectionState}"
                self.connected.set()

        await pc.setLocalDescription(await pc.createOffer())
        transceiver = pc.getTransceivers()[0]
        for protocol in internals.ice_protocols(transceiver):
            protocol.bench_sink = self.sink  # type: ignore[attr-defined]
        status, headers, body = await post_sdp(
            port, f"/api/spaces/{space_id}/whep", token, pc.localDescription.sdp, timeout_s
        )
        if status != 201:
            raise RuntimeError(f"WHEP answered {status}: {body[:200]!r}")
        self.location = headers.get("location")
        await pc.setRemoteDescription(RTCSessionDescription(body.decode(), "answer"))
        await asyncio.wait_for(self.connected.wait(), timeout_s)
        if self.failed:
            raise RuntimeError(self.failed)

    def trim(self, before: float) -> None:
        cut = bisect.bisect_left(self.arrivals, before)
        if cut:
            del self.arrivals[:cut]
            del self.stamps[:cut]

    async def close(self) -> None:
        if self._drain is not None:
            self._drain.cancel()
        await self.pc.close()


async def _drain(track: MediaStreamTrack) -> None:
    """Frames decoded from the sampled packets: thrown away, so they do not pile up."""
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


async def post_sdp(
    port: int, path: str, token: str, sdp: str, timeout_s: float
) -> tuple[int, dict[str, str], bytes]:
    """POST an SDP offer over a fresh HTTP/1.1 connection to 127.0.0.1 (no client library)."""
    body = sdp.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout_s)
    try:
        writer.write(head.encode() + body)
        raw = await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        payload = _unchunk(payload)
    return status, headers, payload


def _unchunk(data: bytes) -> bytes:
    out = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(data[:size])
        data = data[size + 2 :]
    return b"".join(out)


# --- on time ---------------------------------------------------------------------------------
def window_stats(
    arrivals: array[float],
    stamps: array[int],
    t0: float,
    t1: float,
    frame_samples: int,
    on_time_s: float,
) -> dict[str, Any]:
    """How one listener's packets met the schedule during [t0, t1) (monotonic seconds).

    A packet's delay is its arrival time minus its media time (RTP timestamp / 48 kHz); the
    listener's `base` is the smallest delay seen around the window, i.e. the schedule of a receiver
    whose playout is anchored on its fastest packet. Packet k is expected at base + k x frame; it is
    on time when it arrives within `on_time_s` of that. Expected packets are the frame slots whose
    expected time falls in the window; a slot never received (dropped by the server, lost) counts
    as not on time.
    """
    lo = bisect.bisect_left(arrivals, t0 - 2.0)
    hi = bisect.bisect_left(arrivals, t1 + 2.0)
    frame_s = frame_samples / RTP_CLOCK_HZ
    expected = round((t1 - t0) / frame_s)
    hist = [0] * (HIST_MS + 1)
    if hi <= lo:
        return {
            "expected": expected,
            "on_time": 0,
            "late": 0,
            "received": 0,
            "hist": hist,
            "late_at": {},
        }
    ref = stamps[lo]
    media: list[float] = []
    delays: list[float] = []
    base = math.inf
    for i in range(lo, hi):
        offset = (stamps[i] - ref) & 0xFFFFFFFF
        if offset >= 0x80000000:
            offset -= 0x100000000
        m = offset / RTP_CLOCK_HZ
        d = arrivals[i] - m
        media.append(m)
        delays.append(d)
        if d < base:
            base = d
    first_slot = math.ceil((t0 - base) / frame_s - 1e-6)
    end_slot = first_slot + expected
    seen: dict[int, float] = {}
    for m, d in zip(media, delays, strict=True):
        slot = round(m / frame_s)
        if first_slot <= slot < end_slot and slot not in seen:
            seen[slot] = d - base
    on_time = late = 0
    late_at: dict[int, int] = {}  # 100 ms bins of the window (by expected time) -> late packets
    for slot, rel in seen.items():
        if rel <= on_time_s:
            on_time += 1
        else:
            late += 1
            at = int((base + slot * frame_s - t0) * 10)
            late_at[at] = late_at.get(at, 0) + 1
        hist[min(int(rel * 1000), HIST_MS)] += 1
    return {
        "late_at": late_at,
        "expected": expected,
        "on_time": on_time,
        "late": late,
        "received": len(seen),
        "hist": hist,
    }


# --- the load-client process -----------------------------------------------------------------
def worker_process(conn: Connection, settings: dict[str, Any]) -> None:
    """A client process: opens listeners when told, reports their windows, closes on "stop"."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    install()
    # The collector would walk every peer connection's objects again and again (a tenth of this
    # process's CPU): it runs only between measurement windows, after which survivors are frozen.
    gc.disable()
    with contextlib.suppress(EOFError, KeyboardInterrupt, BrokenPipeError):
        asyncio.run(_worker_main(conn, settings))


class _LoopLag:
    """How late this process's event loop wakes up (a busy client would skew arrival times)."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self.samples: list[tuple[float, float]] = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.period_s)
            now = time.monotonic()
            self.samples.append((now, now - before - self.period_s))

    def max_between(self, t0: float, t1: float) -> float:
        lags = [lag for at, lag in self.samples if t0 <= at < t1]
        self.samples = [s for s in self.samples if s[0] >= t1 - 1]
        return max(lags, default=0.0)


async def _worker_main(conn: Connection, settings: dict[str, Any]) -> None:
    port: int = settings["port"]
    space_id: int = settings["space_id"]
    frame_samples: int = settings["frame_samples"]
    on_time_s: float = settings["on_time_s"]
    timeout_s: float = settings["connect_timeout_s"]
    slots = asyncio.Semaphore(settings["connect_concurrency"])
    listeners: list[LightListener] = []
    lag = _LoopLag()
    loop = asyncio.get_running_loop()

    async def recv() -> Any:
        return await loop.run_in_executor(None, conn.recv)

    async def open_one(token: str, failures: list[str]) -> None:
        async with slots:
            listener = LightListener(settings["pass_every_s"])
            try:
                await listener.connect(port, space_id, token, timeout_s)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                with contextlib.suppress(Exception):
                    await listener.close()
                return
            listeners.append(listener)

    try:
        while True:
            command = await recv()
            kind = command[0]
            if kind == "open":
                failures: list[str] = []
                started = time.monotonic()
                await asyncio.gather(*(open_one(t, failures) for t in command[1]))
                _collect_garbage()
                conn.send(
                    (
                        "opened",
                        len(command[1]) - len(failures),
                        failures[:3],
                        len(failures),
                        time.monotonic() - started,
                    )
                )
            elif kind == "stats":
                _, t0, t1 = command
                conn.send(("stats", _collect(listeners, t0, t1, frame_samples, on_time_s, lag)))
                _collect_garbage()
            elif kind == "stop":
                break
    finally:
        lag.task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(li.close() for li in listeners), return_exceptions=True), 15
            )
        with contextlib.suppress(Exception):
            conn.send(("stopped",))


def _collect_garbage() -> None:
    gc.collect()
    gc.freeze()


def _collect(
    listeners: list[LightListener],
    t0: float,
    t1: float,
    frame_samples: int,
    on_time_s: float,
    lag: _LoopLag,
) -> dict[str, Any]:
    total: dict[str, Any] = {
        "listeners": 0,
        "expected": 0,
        "on_time": 0,
        "late": 0,
        "received": 0,
        "hist": [0] * (HIST_MS + 1),
        "late_at": {},
        "ratios": [],
        "not_connected": 0,
    }
    for listener in listeners:
        if listener.pc.connectionState != "connected":
            total["not_connected"] += 1
        stats = window_stats(listener.arrivals, listener.stamps, t0, t1, frame_samples, on_time_s)
        listener.trim(t1 - 2.0)
        total["listeners"] += 1
        for key in ("expected", "on_time", "late", "received"):
            total[key] += stats[key]
        total["hist"] = [a + b for a, b in zip(total["hist"], stats["hist"], strict=True)]
        for at, count in stats["late_at"].items():
            total["late_at"][at] = total["late_at"].get(at, 0) + count
        total["ratios"].append(stats["on_time"] / stats["expected"] if stats["expected"] else 0.0)
    total["loop_lag_max_ms"] = lag.max_between(t0, t1) * 1000
    return total
