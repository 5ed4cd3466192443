"""Mixer benchmark: the CPU one live space with 13 speakers costs per 20 ms tick, in process.

    .venv/bin/python bench/mixer.py [--speakers 13] [--ticks 3000] [--signal speech|tone]

Runs the server's real code on one thread, tick after tick, as fast as it goes (no network, no
event loop), and measures each part with `time.thread_time()` (CPU time of this thread):

* input: each speaker's decoded frame (stereo s16, as aiortc's Opus decoder hands it over) made
  mono by `mono_samples` and pushed into the member's `InputQueue` (the server does this on its
  event loop);
* mix: `SpaceMedia.tick()` minus the Opus encodes in it: InputQueue pops, levels,
  `StageMixer.mix` (full mix + 13 mix-minus, with limiters), frames;
* listener encode: the server's encoder on the full mix (once per space, mono 48 kbit/s, FEC);
* mix-minus encode: 13 encodes, done the way this version of the server does them. Either the
  tick encodes each mix-minus itself (`SpaceMedia.mix_minus_encoders`, mono Opus) or it hands
  frames to aiortc, whose per-speaker sender runs aiortc's own `OpusEncoder` (resampler to stereo,
  libopus 96 kbit/s voip): then the benchmark runs exactly that encoder on each frame.

`core_fraction` = CPU seconds of those four per second of audio (goal <= 0.10). Informational:
the 13 Opus decodes of the speakers' incoming audio (aiortc's `OpusDecoder`,
`decode_us_per_tick`) and the other way of encoding the mix-minus (`mixminus_encode_*_us_per_tick`).
Not counted anywhere: aiortc's RTP/SRTP/UDP work per packet on the event loop.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from typing import Any

import av
import numpy as np
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.jitterbuffer import JitterFrame

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _audio import finite, server_encoder_class, space_media_class, speech
from _common import log, percentile
from parley.media.mixer import (
    FRAME_MS,
    FRAME_SAMPLES,
    INT16_MAX,
    SAMPLE_RATE_HZ,
    Samples,
    StageMixer,
)
from parley.media.tracks import InputQueue, ListenerTrack, MixMinusTrack, audio_frame, mono_samples

GOAL_CORE_FRACTION = 0.10
LISTENER_BITRATE = 48_000  # parley.config defaults: listener_bitrate, listener_frame_ms
LISTENER_FRAME_MS = 20


SERVER_ENCODER = server_encoder_class()
CPU: dict[str, float] = {}


class TimedEncoder(SERVER_ENCODER):  # type: ignore[misc,valid-type]
    """The server's own Opus encoder class, adding its CPU time to CPU[bucket]."""

    def __init__(self, bitrate: int, frame_ms: int, bucket: str) -> None:
        super().__init__(bitrate, frame_ms)
        self.bucket = bucket

    def encode(self, samples: Samples) -> list[Any]:
        t0 = time.thread_time()
        packets: list[Any] = super().encode(samples)
        CPU[self.bucket] = CPU.get(self.bucket, 0.0) + time.thread_time() - t0
        return packets


class TimedMixer(StageMixer):
    """The server's StageMixer, keeping the last mix-minus outputs (for the encoder variants)."""

    last_minus: dict[int, Samples] = {}  # noqa: RUF012

    def mix(self, active: Any, outputs: Any) -> tuple[Samples, dict[int, Samples]]:
        full, minus = super().mix(active, outputs)
        self.last_minus = minus
        return full, minus


def _sources(kind: str, speakers: int, frames: int) -> list[list[Samples]]:
    """`frames` 20 ms mono blocks per speaker: speech at different offsets or tones."""
    out: list[list[Samples]] = []
    if kind == "speech":
        clip = speech()
        log(f"speech clip: {clip.size / SAMPLE_RATE_HZ:.1f} s from espeak-ng + sox")
        for i in range(speakers):
            shift = (i * clip.size) // speakers
            looped = np.roll(clip, -shift)
            reps = math.ceil(frames * FRAME_SAMPLES / looped.size)
            long = np.tile(looped, reps)[: frames * FRAME_SAMPLES]
            out.append([long[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES] for k in range(frames)])
    else:
        for i in range(speakers):
            hz = 200.0 + 70.0 * i
            n = np.arange(frames * FRAME_SAMPLES)
            wave = (np.sin(2 * math.pi * hz * n / SAMPLE_RATE_HZ) * 0.3 * INT16_MAX).astype(
                np.int16
            )
            out.append([wave[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES] for k in range(frames)])
    return out


def _encoded_inputs(blocks: list[list[Samples]]) -> list[list[JitterFrame]]:
    """Each speaker's audio as Opus packets, as a WebRTC sender would send it (aiortc encoder)."""
    out: list[list[JitterFrame]] = []
    for speaker in blocks:
        encoder = OpusEncoder()
        packets: list[JitterFrame] = []
        for k, block in enumerate(speaker):
            payloads, timestamp = encoder.encode(audio_frame(block, k * FRAME_SAMPLES))
            packets += [JitterFrame(data=p, timestamp=timestamp) for p in payloads]
        out.append(packets)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    n = args.speakers
    ring = 500  # 10 s of distinct audio per speaker, then it repeats
    log(f"preparing {n} speakers' audio ({args.signal}), pre-encoding {ring} packets each")
    blocks = _sources(args.signal, n, ring)
    packets = _encoded_inputs(blocks)

    members = list(range(1, n + 1))
    space = space_media_class()(
        space_id=1, encoder=TimedEncoder(LISTENER_BITRATE, LISTENER_FRAME_MS, "listener")
    )
    space.mixer = TimedMixer()
    space.inputs = {m: InputQueue() for m in members}
    space.allowed = frozenset(members)
    space.mix_minus_tracks = {m: MixMinusTrack() for m in members}
    space.listener_tracks = frozenset({ListenerTrack()})
    # This version of the server either encodes each mix-minus itself in the tick (mono Opus,
    # `mix_minus_encoders`) or hands frames to aiortc, whose sender encodes them per speaker.
    server_encodes = hasattr(space, "mix_minus_encoders")
    if server_encodes:
        stage_bitrate = int(getattr(space, "stage_bitrate", 64000))
        space.mix_minus_encoders = {
            m: TimedEncoder(stage_bitrate, FRAME_MS, "mixminus") for m in members
        }
        mixminus_how = f"server {SERVER_ENCODER.__name__}: mono {stage_bitrate // 1000} kbit/s"
        variant_name = "aiortc_stereo96k"
        variant: dict[int, Any] = {m: OpusEncoder() for m in members}
    else:
        mixminus_how = "aiortc OpusEncoder: resampler to stereo s16, libopus 96 kbit/s voip"
        variant_name = "mono64k"
        variant = {m: TimedEncoder(64000, FRAME_MS, "variant") for m in members}
    aiortc_encoders = {m: OpusEncoder() for m in members}
    decoders = {m: OpusDecoder() for m in members}
    log(f"mix-minus encoded by {mixminus_how}")

    totals = {"decode": 0.0, "input": 0.0, "tick": 0.0, "aiortc": 0.0, "variant": 0.0}
    tick_wall_us: list[float] = []
    warmup = args.warmup
    total_ticks = warmup + args.ticks
    log(f"running {total_ticks} ticks ({warmup} warm-up), {n} speakers")
    process_t0 = wall_t0 = 0.0
    for k in range(total_ticks):
        if k == warmup:
            for key in totals:
                totals[key] = 0.0
            CPU.clear()
            tick_wall_us.clear()
            process_t0, wall_t0 = time.process_time(), time.perf_counter()
        # Incoming audio: decode (informational), then mono + InputQueue (the server's reader).
        t0 = time.thread_time()
        decoded = {m: decoders[m].decode(packets[i][k % ring]) for i, m in enumerate(members)}
        t1 = time.thread_time()
        for m in members:
            for frame in decoded[m]:
                assert isinstance(frame, av.AudioFrame)
                space.inputs[m].push(mono_samples(frame))
        t2 = time.thread_time()
        w0 = time.perf_counter()
        out = space.tick()
        w1 = time.perf_counter()
        t3 = time.thread_time()
        if not server_encodes:  # what each speaker's aiortc sender does with its frame
            for m, frame in out.mix_minus.items():
                aiortc_encoders[m].encode(frame)
        t4 = time.thread_time()
        if args.variants:
            for m, samples in space.mixer.last_minus.items():
                if server_encodes:
                    variant[m].encode(audio_frame(samples, k * FRAME_SAMPLES))
                else:
                    variant[m].encode(samples)
        t5 = time.thread_time()
        totals["decode"] += t1 - t0
        totals["input"] += t2 - t1
        totals["tick"] += t3 - t2
        totals["aiortc"] += t4 - t3
        totals["variant"] += t5 - t4
        tick_wall_us.append((w1 - w0) * 1e6)
        if (k + 1) % 1000 == 0:
            log(f"  {k + 1}/{total_ticks} ticks")
    process_s = time.process_time() - process_t0
    wall_s = time.perf_counter() - wall_t0

    ticks = args.ticks
    audio_s = ticks * FRAME_MS / 1000
    listener_s = CPU.get("listener", 0.0)
    inside_s = CPU.get("mixminus", 0.0)  # mix-minus encodes inside the tick
    mixminus_s = inside_s + totals["aiortc"]
    mix_s = totals["tick"] - listener_s - inside_s
    counted = totals["input"] + mix_s + mixminus_s + listener_s

    def us(seconds: float) -> float:
        return round(seconds / ticks * 1e6, 1)

    def frac(seconds: float) -> float:
        return round(seconds / audio_s, 4)

    measured = sum(totals.values())
    result: dict[str, Any] = {
        "speakers": n,
        "signal": args.signal,
        "ticks": ticks,
        "audio_seconds": audio_s,
        "core_fraction": frac(counted),
        "goal_core_fraction": GOAL_CORE_FRACTION,
        "meets_goal": counted / audio_s <= GOAL_CORE_FRACTION,
        "mix_us_per_tick": us(mix_s),
        "input_us_per_tick": us(totals["input"]),
        "mixminus_encode_us_per_tick": us(mixminus_s),
        "mixminus_encode_us_per_stream": round(mixminus_s / ticks / n * 1e6, 1),
        "listener_encode_us_per_tick": us(listener_s),
        "mixminus_encoder": mixminus_how,
        "mixminus_encoded_on_media_thread": server_encodes,
        "media_thread_us_per_tick": us(totals["tick"]),
        "media_thread_core_fraction": frac(totals["tick"]),
        "media_thread_tick_wall_p50_us": round(statistics.median(tick_wall_us), 1),
        "media_thread_tick_wall_p99_us": round(percentile(tick_wall_us, 99), 1),
        "decode_us_per_tick": us(totals["decode"]),
        "core_fraction_with_decode": frac(counted + totals["decode"]),
        # Cross-check that no work ran on other threads: process CPU vs this thread's sum.
        "process_cpu_over_thread_cpu": round(process_s / measured, 3) if measured else None,
        "wall_seconds": round(wall_s, 1),
    }
    if args.variants:
        result[f"mixminus_encode_{variant_name}_us_per_tick"] = us(totals["variant"])
        result[f"core_fraction_if_mixminus_{variant_name}"] = frac(
            totals["input"] + mix_s + totals["variant"] + listener_s
        )
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--speakers", type=int, default=13)
    p.add_argument("--ticks", type=int, default=3000, help="measured 20 ms ticks")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--signal", choices=("speech", "tone"), default="speech")
    p.add_argument(
        "--no-variants",
        dest="variants",
        action="store_false",
        help="skip the other mix-minus encoder (informational)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    code = 0
    try:
        result = run(args)
    except Exception as exc:
        code = 1
        result = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"FAILED: {result['error']}")
    summary = ", ".join(
        f"{k}={result[k]}"
        for k in (
            "core_fraction",
            "mix_us_per_tick",
            "mixminus_encode_us_per_tick",
            "listener_encode_us_per_tick",
        )
        if k in result
    )
    log(f"done: {summary}")
    print(json.dumps(finite(result)))
    return code


if __name__ == "__main__":
    sys.exit(main())
