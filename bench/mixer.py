"""CPU of one space's media work with a full stage: 13 speakers, 13 mix-minus encodes.

    .venv/bin/python bench/mixer.py [--speakers 13] [--ticks 3000] [--talking 13]

Runs the server's own pipeline in one thread, with no network: each speaker's Opus packets are
decoded by the receive path's decoder (parley.media.opus) into their playout queue, then
`SpaceMedia.tick()` does what the media clock does every 20 ms: take a block per speaker, mix the
allowed ones (full mix and a mix-minus per publisher), measure levels, encode a mix-minus for every
talking member (one shared stream for the silent ones) and the listeners' mix once. CPU is the
thread's CPU time over the measured ticks; `core_fraction` = CPU seconds per second of audio,
decoding included, and `mix_and_encode_core_fraction` the same without decoding (goal <= 0.10).
With `--talking 13` (the default) every speaker talks all the time: the worst case.
A second pass with 3 talking (a conversation) is reported as `core_fraction_3_talking`.

The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _audio import speech
from _common import log
from parley.media.mixer import FRAME_MS, FRAME_SAMPLES, Samples
from parley.media.opus import OpusDecoder
from parley.media.space import OpusEncoder, SpaceMedia
from parley.media.tracks import InputQueue, ListenerTrack, MixMinusTrack

GOAL_CORE_FRACTION = 0.10


class Timed:
    """Adds the thread CPU time of calls to `fn` into `totals[key]`."""

    def __init__(self, totals: dict[str, float], key: str) -> None:
        self.totals, self.key = totals, key

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*args)
            finally:
                self.totals[self.key] += time.thread_time() - started

        return timed


def _speaker_packets(voice: Samples, speakers: int, talking: int, ring: int) -> list[list[bytes]]:
    """Each speaker's Opus packets (as a browser would send: voice mode with FEC); a speaker who
    is not talking sends silence. Speakers start at different points of the speech."""
    out: list[list[bytes]] = []
    for i in range(speakers):
        encoder = OpusEncoder.voice(32000)
        offset = (i * 37 * FRAME_SAMPLES) % voice.size
        packets: list[bytes] = []
        for k in range(ring):
            start = (offset + k * FRAME_SAMPLES) % (voice.size - FRAME_SAMPLES)
            block = voice[start : start + FRAME_SAMPLES]
            if i >= talking:
                block = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            packets += [bytes(p) for p in encoder.encode(block, k * FRAME_SAMPLES)]
        out.append(packets)
    return out


def measure(voice: Samples, speakers: int, talking: int, ticks: int) -> dict[str, Any]:
    ring = 500
    packets = _speaker_packets(voice, speakers, talking, ring)
    members = list(range(1, speakers + 1))
    space = SpaceMedia(space_id=1, encoder=OpusEncoder.voice(48000))
    space.inputs = {m: InputQueue() for m in members}
    space.allowed = frozenset(members)
    space.mix_minus_tracks = {m: MixMinusTrack() for m in members}
    space.listener_tracks = frozenset({ListenerTrack()})
    decoders = {m: OpusDecoder() for m in members}

    totals = {"decode": 0.0, "encode": 0.0}
    encode_timer = Timed(totals, "encode")
    original_encode = OpusEncoder.encode
    OpusEncoder.encode = encode_timer.wrap(original_encode)  # type: ignore[method-assign]
    try:
        warmup = 100
        tick_cpu = 0.0
        for k in range(warmup + ticks):
            if k == warmup:
                totals = {"decode": 0.0, "encode": 0.0}
                encode_timer.totals = totals
                tick_cpu = 0.0
            started = time.thread_time()
            for i, m in enumerate(members):
                space.inputs[m].push(decoders[m].decode(packets[i][k % len(packets[i])]))
            decoded = time.thread_time()
            space.tick()
            ended = time.thread_time()
            totals["decode"] += decoded - started
            tick_cpu += ended - decoded
    finally:
        OpusEncoder.encode = original_encode  # type: ignore[method-assign]
    audio_s = ticks * FRAME_MS / 1000
    cpu_s = totals["decode"] + tick_cpu

    def per_tick_us(seconds: float) -> float:
        return round(seconds / ticks * 1e6, 1)

    return {
        "core_fraction": round(cpu_s / audio_s, 4),
        # What the issue names: mixing and the mix-minus (and listener) encodes, without the
        # decoding of what the speakers send.
        "mix_and_encode_core_fraction": round(tick_cpu / audio_s, 4),
        "decode_us_per_tick": per_tick_us(totals["decode"]),
        "encode_us_per_tick": per_tick_us(totals["encode"]),
        "mix_and_levels_us_per_tick": per_tick_us(tick_cpu - totals["encode"]),
        "own_mix_minus_streams": len(space.mix_minus_encoders),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=13)
    parser.add_argument("--talking", type=int, default=13)
    parser.add_argument("--ticks", type=int, default=3000)
    args = parser.parse_args()
    log("making speech with espeak-ng")
    voice = speech()
    log(f"{args.speakers} speakers, {args.talking} talking, {args.ticks} ticks")
    worst = measure(voice, args.speakers, args.talking, args.ticks)
    log(f"worst case: {worst}")
    conversation = measure(voice, args.speakers, min(3, args.speakers), args.ticks)
    log(f"3 talking: {conversation}")
    result = {
        "speakers": args.speakers,
        "talking": args.talking,
        "ticks": args.ticks,
        **worst,
        "core_fraction_3_talking": conversation["core_fraction"],
        "mix_and_encode_core_fraction_3_talking": conversation["mix_and_encode_core_fraction"],
        "own_mix_minus_streams_3_talking": conversation["own_mix_minus_streams"],
        "goal_core_fraction": GOAL_CORE_FRACTION,
        "load_avg_1m": round(__import__("os").getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
