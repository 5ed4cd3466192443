"""Audio helpers shared by the media benchmarks: speech made offline, resampling, a space set up
through the REST API, a recording client that keeps RTP timestamps, and packet loss on a path.

Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.rtp import is_rtcp

from _common import HttpClient, HttpError, Server, create_account, create_live_space, log
from parley.media import internals
from parley.media.mixer import SAMPLE_RATE_HZ, Samples

# The WebRTC client is a tool of the tests and benchmarks, not of the server: it lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from webrtc_client import GeneratedTrack as GeneratedTrack
from webrtc_client import WebRtcClient as WebRtcClient
from webrtc_client import tone as tone

SPEECH_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "Please call Stella and ask her to bring these things with her from the store. "
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her "
    "brother Bob. We also need a small plastic snake and a big toy frog for the kids."
)


def read_wav(path: Path) -> Samples:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()


def speech(
    text: str = SPEECH_TEXT, rate_hz: int = SAMPLE_RATE_HZ, level_dbfs: float = -20.0
) -> Samples:
    """Speech synthesized by espeak-ng, resampled by sox to `rate_hz` mono, normalized to an RMS
    of `level_dbfs` (over the voiced part)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed")
    with tempfile.TemporaryDirectory(prefix="parley-speech-") as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
        subprocess.run(
            ["sox", str(raw), "-r", str(rate_hz), "-c", "1", "-b", "16", str(out)],
            check=True,
            capture_output=True,
        )
        samples = read_wav(out).astype(np.float64)
    voiced = samples[np.abs(samples) > 100]
    rms = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 1.0
    gain = 32767 * 10 ** (level_dbfs / 20) / rms
    return np.clip(samples * gain, -32767, 32767).astype(np.int16)


def resample(samples: Samples, from_hz: int, to_hz: int) -> Samples:
    """Mono int16 resampled by libswresample (PyAV)."""
    if from_hz == to_hz:
        return samples
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_hz)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = from_hz
    frame.pts = 0
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.int16) if out else np.zeros(0, dtype=np.int16)


def align(reference: Samples, received: Samples) -> tuple[int, float]:
    """The lag (in samples) at which `reference` best matches inside `received`, and the
    normalized correlation there (1.0 = identical shape)."""
    ref = reference.astype(np.float64)
    rec = received.astype(np.float64)
    n = 1 << math.ceil(math.log2(ref.size + rec.size))
    corr = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    valid = corr[: max(1, rec.size - ref.size + 1)]
    lag = int(np.argmax(valid))
    part = rec[lag : lag + ref.size]
    denom = math.sqrt(float(np.dot(ref, ref)) * float(np.dot(part, part))) or 1.0
    return lag, float(valid[lag]) / denom


# --- a space with people on stage --------------------------------------------------------------
@dataclass
class Stage:
    http: HttpClient
    space_id: int
    host_token: str
    tokens: dict[str, str] = field(default_factory=dict)


async def _ok(http: HttpClient, method: str, path: str, token: str, status: int = 200) -> Any:
    answer = await http.request(method, path, token=token)
    if answer.status != status:
        raise HttpError(f"{method} {path}", answer)
    return answer.json()


async def make_stage(
    http: HttpClient, title: str, speakers: list[str], listeners: list[str]
) -> Stage:
    """A live space hosted by 'host' (on stage, unmuted), with `speakers` brought on stage and
    unmuted and `listeners` joined."""
    host_token, sid = await create_live_space(http, "host", title)
    stage = Stage(http, sid, host_token, {"host": host_token})
    await _ok(http, "POST", f"/api/spaces/{sid}/me/unmute", host_token)
    for handle in speakers + listeners:
        token = await create_account(http, handle)
        stage.tokens[handle] = token
        member = (await _ok(http, "POST", f"/api/spaces/{sid}/join", token))["member"]
        if handle in speakers:
            await _ok(http, "POST", f"/api/spaces/{sid}/me/request", token)
            uid = member["user"]["id"]
            await _ok(http, "POST", f"/api/spaces/{sid}/members/{uid}/approve", host_token)
            await _ok(http, "POST", f"/api/spaces/{sid}/me/unmute", token)
    return stage


# --- clients ------------------------------------------------------------------------------------
class TimedClient(WebRtcClient):
    """A WebRtcClient that also notes each RTP packet reaching its receiver (arrival time,
    sequence number, RTP timestamp). What it hears is `recording.arrivals`: the client's receive
    path decodes each packet on arrival, rebuilding a lost one from FEC or concealing it, so the
    blocks follow each other with no gap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rtp: list[tuple[float, int, int]] = []  # (arrival wall time, seq, RTP timestamp)

    async def connect(self) -> Any:
        response = await super().connect()
        if response.status_code == 201:
            receiver = self.pc.getTransceivers()[0].receiver

            def noting(handle: internals.RtpHandler) -> internals.RtpHandler:
                async def on_rtp(packet: Any, arrival_time_ms: int) -> None:
                    self.rtp.append((time.time(), packet.sequence_number, packet.timestamp))
                    await handle(packet, arrival_time_ms=arrival_time_ms)

                return on_rtp

            internals.wrap_rtp_received(receiver, noting)
        return response

    @property
    def frames(self) -> list[tuple[float, int, Samples]]:
        """(arrival wall time, sample index in the stream, samples) of each decoded block."""
        out: list[tuple[float, int, Samples]] = []
        position = 0
        for at, samples in self.recording.arrivals:
            out.append((at, position, samples))
            position += samples.size
        return out

    def seq_jumps(self) -> list[tuple[int, int]]:
        """Consecutive received RTP packets whose sequence numbers are not consecutive."""
        seqs = [seq for _, seq, _ in self.rtp]
        return [(a, b) for a, b in itertools.pairwise(seqs) if (b - a) % 65536 != 1]

    def heard(self, since: float, until: float) -> Samples:
        """What arrived between two wall times, block after block."""
        return self.recording.since(since, until)


class Dropper:
    """Drops a fraction of RTP packets (never RTCP) at random, with a fixed seed."""

    def __init__(self, fraction: float, seed: int) -> None:
        self.fraction = fraction
        self.random = random.Random(seed)
        self.active = False
        self.seen = 0
        self.dropped = 0

    def reseed(self, seed: int) -> None:
        self.random = random.Random(seed)

    def drop(self) -> bool:
        if not self.active:
            return False
        self.seen += 1
        if self.random.random() < self.fraction:
            self.dropped += 1
            return True
        return False

    def on_send(self, client: WebRtcClient) -> None:
        """Wraps the client's DTLS transport so outgoing RTP packets may be dropped (uplink)."""

        def dropping(send: internals.SendRtp) -> internals.SendRtp:
            async def send_rtp(data: bytes) -> None:
                if not is_rtcp(data) and self.drop():
                    return
                await send(data)

            return send_rtp

        internals.wrap_rtp_sent(client.pc.getTransceivers()[0].sender.transport, dropping)

    def on_receive(self, client: WebRtcClient) -> None:
        """Wraps the client's RTP receiver so incoming RTP packets may be dropped (downlink)."""

        def dropping(handle: internals.RtpHandler) -> internals.RtpHandler:
            async def on_rtp(packet: Any, arrival_time_ms: int) -> None:
                if self.drop():
                    return
                await handle(packet, arrival_time_ms=arrival_time_ms)

            return on_rtp

        internals.wrap_rtp_received(client.pc.getTransceivers()[0].receiver, dropping)


async def wait_connected(clients: list[WebRtcClient], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = [c.pc.connectionState for c in clients]
        if all(s == "connected" for s in states):
            return
        if any(s in ("failed", "closed") for s in states):
            raise RuntimeError(f"a WebRTC connection failed: {states}")
        await asyncio.sleep(0.1)
    raise TimeoutError(f"WebRTC not connected after {timeout_s}s: {states}")


async def close_all(clients: list[WebRtcClient]) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 10)


def run_against_server(
    args: Any, run: Callable[[Any, Server, list[Callable[[], Any]]], Awaitable[dict[str, Any]]]
) -> tuple[dict[str, Any], int]:
    """Runs a benchmark against a fresh `parley serve`, always stopping it; reports what its log
    held. Returns the result and the exit code."""
    server = Server(keep_data=args.keep_data)
    cleanup: list[Callable[[], Any]] = []
    result: dict[str, Any] = {}
    code = 0
    try:
        result = asyncio.run(asyncio.wait_for(run(args, server, cleanup), args.timeout))
    except BaseException as exc:
        code = 130 if isinstance(exc, KeyboardInterrupt) else 1
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['error']}")
    finally:
        for step in cleanup:
            step()
        server.stop_and_report(result, failed=bool(code))
        server.cleanup()
    return result, code
