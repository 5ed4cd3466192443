"""Audio quality benchmark: PESQ wideband of speech through a real server, clean and with loss.

    .venv/bin/python bench/audio_quality.py [--loss 0.05] [--seed 7]

Starts the real server (`parley serve`) on a free 127.0.0.1 port with a throwaway data folder;
the host of a live space publishes speech (WHIP; the client encodes Opus as a browser does: voice
mode, 32 kbit/s, in-band FEC) and two listeners receive the full mix (WHEP, the server's listener
encoder) with real aiortc clients (`parley.media.client.WebRtcClient`, whose receive path decodes
on arrival with FEC recovery and concealment, as a browser's does).

The speech is made offline by espeak-ng, resampled by sox to 48 kHz mono and played 1 +
`--lossy-passes` times:

* pass 1, clean uplink. Listener carol receives everything: `pesq_wb_clean`. Listener dave
  drops `--loss` of the RTP packets that reach his receiver (random, fixed seed), before aiortc's
  jitter buffer and decoder: `pesq_wb_loss5_downlink` (loss between server and listener).
* passes 2 to 5, lossy uplink. The speaker's client drops `--loss` of its outgoing RTP packets
  (random, a fixed seed per pass; `pesq_wb_loss5` is their mean) just before SRTP (its DTLS
  transport's `_send_rtp`; RTCP untouched), so the server
  receives a lossy stream; carol records: `pesq_wb_loss5` (loss between speaker and server: what
  the server itself does about loss).

Received audio (every block the receive path produced, lost packets rebuilt or concealed) is
aligned to the reference by cross-correlation, resampled to 16 kHz by libswresample, and scored with
`pesq` (ITU-T P.862.2 wideband). `pesq_wb_offline_codec_chain` is the same speech through the
same two Opus encoders and decoders in process, with no network: the ceiling set by the codecs.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
import wave
from collections.abc import Callable
from typing import Any

import numpy as np
from pesq import pesq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _audio import (
    Dropper,
    GeneratedTrack,
    TimedClient,
    align,
    close_all,
    make_stage,
    resample,
    run_against_server,
    speech,
    wait_connected,
)
from _common import CHEAP_HASHING_NOTE, HOST, HttpClient, Server, log, report
from parley.config import Settings
from parley.media.mixer import FRAME_SAMPLES, SAMPLE_RATE_HZ, Samples
from parley.media.opus import OpusDecoder
from parley.media.space import OpusEncoder

GOAL_CLEAN = 4.0
GOAL_LOSSY = 3.5
PESQ_HZ = 16_000
TEXT = (
    "Please call Stella and ask her to bring these things with her from the store. "
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, "
    "and maybe a snack for her brother Bob."
)


class Passes:
    """The speaker's source: silence, then the speech `count` times with gaps between."""

    def __init__(self, samples: Samples, lead: int, gap: int, count: int = 2) -> None:
        self.samples = samples
        self.starts = [lead + i * (samples.size + gap) for i in range(count)]
        self.on_sample: list[tuple[int, Callable[[], None]]] = []  # run once when reached

    def __call__(self, start: int) -> Samples:
        for at, action in list(self.on_sample):
            if start >= at:
                action()
                self.on_sample.remove((at, action))
        block = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        for s in self.starts:
            lo, hi = max(start, s), min(start + FRAME_SAMPLES, s + self.samples.size)
            if lo < hi:
                block[lo - start : hi - start] = self.samples[lo - s : hi - s]
        return block

    @property
    def end(self) -> int:
        return self.starts[-1] + self.samples.size


def write_wav(path: str, samples: Samples, rate_hz: int = SAMPLE_RATE_HZ) -> None:
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes(samples.astype(np.int16).tobytes())


def score(reference: Samples, received: Samples) -> dict[str, Any]:
    """Aligns `received` (48 kHz) to `reference` (48 kHz) and scores it with PESQ WB."""
    if received.size < reference.size:
        return {"pesq": math.nan, "error": f"only {received.size} samples received"}
    lag, corr = align(reference, received)
    part = received[lag : lag + reference.size]
    if part.size < reference.size:
        part = np.concatenate([part, np.zeros(reference.size - part.size, dtype=np.int16)])
    ref16 = resample(reference, SAMPLE_RATE_HZ, PESQ_HZ).astype(np.float32)
    deg16 = resample(part, SAMPLE_RATE_HZ, PESQ_HZ).astype(np.float32)
    n = min(ref16.size, deg16.size)
    value = float(pesq(PESQ_HZ, ref16[:n], deg16[:n], "wb"))
    return {"pesq": round(value, 3), "lag_ms": round(lag / 48, 1), "correlation": round(corr, 4)}


def offline_chain(reference: Samples, listener_bitrate: int, listener_frame_ms: int) -> float:
    """The speech through a browser-like sender's encoder (Opus voice mode, 64 kbit/s, FEC), the
    server's receive decoder, the listeners' encoder (the server's settings: bitrate and frame
    length) and a listener's decoder, in process: the ceiling the codecs set."""
    sender = OpusEncoder.voice(64000)
    listener = OpusEncoder.voice(listener_bitrate, listener_frame_ms)
    server_decoder, listener_decoder = OpusDecoder(), OpusDecoder()
    padded = np.concatenate([reference, np.zeros(5 * FRAME_SAMPLES, dtype=np.int16)])
    out: list[Samples] = []
    for k in range(padded.size // FRAME_SAMPLES):
        block = padded[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES]
        for packet in sender.encode(block, k * FRAME_SAMPLES):
            decoded = server_decoder.decode(bytes(packet))
            for mixed in listener.encode(decoded, k * FRAME_SAMPLES):
                out.append(listener_decoder.decode(bytes(mixed)))
    return float(score(reference, np.concatenate(out))["pesq"])


async def run(
    args: argparse.Namespace, server: Server, cleanup: list[Callable[[], Any]]
) -> dict[str, Any]:
    result: dict[str, Any] = {"loss": args.loss, "seed": args.seed}
    reference = speech(TEXT, level_dbfs=args.level_dbfs)
    log(f"speech: {reference.size / SAMPLE_RATE_HZ:.1f} s at 48 kHz (espeak-ng + sox)")
    result["speech_seconds"] = round(reference.size / SAMPLE_RATE_HZ, 2)
    defaults = Settings()
    listener_bitrate = int(os.environ.get("PARLEY_LISTENER_BITRATE", defaults.listener_bitrate))
    listener_frame_ms = int(os.environ.get("PARLEY_LISTENER_FRAME_MS", defaults.listener_frame_ms))
    result["pesq_wb_offline_codec_chain"] = offline_chain(
        reference, listener_bitrate, listener_frame_ms
    )
    result["listener_bitrate"], result["listener_frame_ms"] = listener_bitrate, listener_frame_ms
    log(f"offline codec chain PESQ WB: {result['pesq_wb_offline_codec_chain']}")

    server.start()
    health = await server.wait_healthy()
    log(
        f"server up on port {server.port} ({health['store']['backend']}+{health['bus']['backend']})"
    )
    http = HttpClient(server.port, max_connections=4)
    try:
        stage = await make_stage(http, "Quality benchmark", [], ["carol", "dave"])
    finally:
        await http.aclose()
    base = f"http://{HOST}:{server.port}"

    lead = int(args.lead_seconds * SAMPLE_RATE_HZ)
    gap = int(args.gap_seconds * SAMPLE_RATE_HZ)
    source = Passes(reference, lead, gap, count=1 + args.lossy_passes)
    track = GeneratedTrack(source)
    speaker = TimedClient(base, stage.host_token, stage.space_id, "whip", track)
    carol = TimedClient(base, stage.tokens["carol"], stage.space_id, "whep")
    dave = TimedClient(base, stage.tokens["dave"], stage.space_id, "whep")
    clients = [speaker, carol, dave]
    uplink = Dropper(args.loss, args.seed)
    downlink = Dropper(args.loss, args.seed + 1)
    downlink.active = True
    try:
        for client in (carol, dave, speaker):
            answer = await client.connect()
            if answer.status_code != 201:
                raise RuntimeError(f"{client.kind} refused: {answer.status_code} {answer.text}")
        downlink.on_receive(dave)
        uplink.on_send(speaker)

        # Uplink loss from the middle of the gap after the clean pass (its end has reached the
        # listeners long before); each lossy pass drops with a seed of its own, since which
        # packets go matters as much as how many (PESQ of single patterns spreads by +-0.3).
        def lossy_uplink(which: int) -> Callable[[], None]:
            def switch() -> None:
                uplink.reseed(args.seed + which)
                uplink.active = True
                downlink.active = False
                log(f"pass {which + 1}: uplink loss on (seed {args.seed + which})")

            return switch

        for which in range(1, len(source.starts)):
            source.on_sample.append((source.starts[which] - gap // 2, lossy_uplink(which)))
        await wait_connected(clients)
        log(f"connected; pass 1 (clean uplink) in {args.lead_seconds:.1f} s")
        await asyncio.sleep(source.end / SAMPLE_RATE_HZ + args.tail_seconds)
    finally:
        await close_all(clients)

    for name, client in (("carol", carol), ("dave", dave)):
        jumps = client.seq_jumps()
        log(
            f"{name}: {len(client.rtp)} RTP packets reached the receiver, {len(client.frames)} "
            f"frames decoded; sequence jumps (first 5): {jumps[:5]}"
        )
        result[f"{name}_rtp_packets"] = len(client.rtp)
        result[f"{name}_frames_decoded"] = len(client.frames)
        result[f"{name}_rtp_seq_jumps"] = len(jumps)
    sent = dict(track.sent_at)
    bounds = []
    for s in source.starts:
        first = s // FRAME_SAMPLES * FRAME_SAMPLES
        last = (s + reference.size) // FRAME_SAMPLES * FRAME_SAMPLES
        if first not in sent or last not in sent:
            raise RuntimeError("the speech did not leave the speaker's track in time")
        bounds.append((sent[first] - 0.5, sent[last] + 1.0))

    def received(client: TimedClient, which: int) -> tuple[Samples, int]:
        since, until = bounds[which]
        return client.heard(since, until), 0

    cases = {"clean": (carol, 0), "loss5_downlink": (dave, 0)}
    cases |= {f"loss5_pass{i}": (carol, i) for i in range(1, len(source.starts))}
    for name, (client, which) in cases.items():
        audio, gaps = received(client, which)
        scored = score(reference, audio)
        if args.dump:
            os.makedirs(args.dump, exist_ok=True)
            write_wav(os.path.join(args.dump, f"{name}.wav"), audio)
            write_wav(os.path.join(args.dump, "reference.wav"), reference)
        log(f"{name}: {scored}, gaps {gaps / 48:.0f} ms")
        result[f"pesq_wb_{name}"] = scored["pesq"]
        result[f"{name}_lag_ms"] = scored.get("lag_ms")
        result[f"{name}_correlation"] = scored.get("correlation")
        result[f"{name}_timeline_gaps_ms"] = round(gaps / 48, 1)
    lossy = [result.pop(f"pesq_wb_loss5_pass{i}") for i in range(1, len(source.starts))]
    result["pesq_wb_loss5"] = round(sum(lossy) / len(lossy), 3)
    result["pesq_wb_loss5_each_pattern"] = lossy
    result["uplink_packets_dropped"] = uplink.dropped
    result["uplink_packets_seen"] = uplink.seen
    result["downlink_packets_dropped"] = downlink.dropped
    result["downlink_packets_seen"] = downlink.seen
    result["goal_clean"] = GOAL_CLEAN
    result["goal_lossy"] = GOAL_LOSSY
    result["meets_goal"] = bool(
        result["pesq_wb_clean"] >= GOAL_CLEAN and result["pesq_wb_loss5"] >= GOAL_LOSSY
    )
    result["loss_model"] = (
        "pesq_wb_loss5: speaker->server (speaker's RTP dropped before SRTP); "
        "pesq_wb_loss5_downlink: server->listener (listener's RTP dropped before its jitter "
        "buffer); both random, fixed seed"
    )
    result["note"] = CHEAP_HASHING_NOTE
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--loss", type=float, default=0.05, help="fraction of RTP packets dropped")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--level-dbfs", type=float, default=-24.0, help="speech RMS level")
    p.add_argument("--lead-seconds", type=float, default=3.0)
    p.add_argument("--gap-seconds", type=float, default=3.0)
    p.add_argument("--tail-seconds", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=170.0)
    p.add_argument("--keep-data", action="store_true")
    p.add_argument(
        "--lossy-passes", type=int, default=4, help="passes with uplink loss, each its own seed"
    )
    p.add_argument("--dump", default="", help="folder to write the reference and received WAVs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    result, code = run_against_server(args, run)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    report(result, ("pesq_wb_clean", "pesq_wb_loss5", "pesq_wb_loss5_downlink"))
    return code


if __name__ == "__main__":
    sys.exit(main())
