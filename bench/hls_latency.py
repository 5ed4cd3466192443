"""HLS glass-to-glass latency: a speaker's impulse to its first appearance at an HLS client.

    .venv/bin/python bench/hls_latency.py [--impulses 50] [--period-ms 700]

Starts the real server (`parley serve`) on a free port with a throwaway data folder, makes a live
space whose host is on stage and unmuted, and has the host publish (WHIP, a real aiortc client)
a track that is silent but for a 5 ms burst every `--period-ms`, the bursts cycling through four
frequencies that mark them (as bench/stage_latency.py). Meanwhile an HLS client in this process
follows the live playlist as RFC 8216 s6.3.4 tells a client to: after a reload that found the
playlist changed it waits the target duration before the next, after one that did not, half of
it; each new segment is fetched as soon as it is listed.

Send time of an impulse = the wall time its 20 ms frame left the speaker's track + its offset in
the frame. Appearance = the wall time the segment holding its onset finished downloading (the
moment a player could first have it). The fetched segments are decoded afterwards as one stream
(init + segments), onsets found by threshold, and each onset mapped to its segment by the
segments' EXTINF durations. Both ends run on this machine's clock.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _audio import (
    GeneratedTrack,
    TimedClient,
    close_all,
    make_stage,
    run_against_server,
    wait_connected,
)
from _common import HOST, HttpClient, HttpError, Server, log, percentile, report
from parley.media import playlist
from parley.media.mixer import FRAME_SAMPLES, INT16_MAX, SAMPLE_RATE_HZ
from stage_latency import MARKS_HZ, Impulses, _latencies, _onsets

GOAL_P95_S = 2.0


class HlsFollower:
    """A live HLS client: reloads the playlist by RFC 8216's timing, fetches new segments."""

    def __init__(self, http: HttpClient, playlist_url: str) -> None:
        self.http = http
        self.base = playlist_url.rsplit("/", 1)[0]
        self.playlist_url = playlist_url
        self.init: bytes | None = None
        # (segment, its bytes, wall time it finished downloading)
        self.fetched: list[tuple[playlist.Segment, bytes, float]] = []
        self.reloads = 0
        self.errors = 0

    async def _get(self, path: str) -> bytes | None:
        answer = await self.http.request("GET", path)
        if answer.status != 200:
            self.errors += 1
            return None
        return answer.body

    async def follow(self, stop: asyncio.Event) -> None:
        last_text = ""
        while not stop.is_set():
            started = time.monotonic()
            text = await self._get(self.playlist_url)
            self.reloads += 1
            changed = text is not None and text.decode() != last_text
            if text is not None and changed:
                last_text = text.decode()
                segments, _ = playlist.parse(last_text)
                seen = self.fetched[-1][0].number if self.fetched else 0
                for segment in segments:
                    if segment.number <= seen:
                        continue
                    if self.init is None:
                        self.init = await self._get(
                            f"{self.base}/{playlist.init_name(segment.run)}"
                        )
                    body = await self._get(f"{self.base}/{playlist.segment_name(segment.number)}")
                    if body is not None:
                        self.fetched.append((segment, body, time.time()))
            wait_s = playlist.TARGET_DURATION_S * (1.0 if changed else 0.5)
            await asyncio.sleep(max(0.0, started + wait_s - time.monotonic()))

    def frames(self) -> list[tuple[float, int, np.ndarray]]:
        """(arrival, 0, samples) per fetched segment, decoded as one stream: the shape
        stage_latency's onset finder reads."""
        if self.init is None or not self.fetched:
            return []
        data = self.init + b"".join(body for _, body, _ in self.fetched)
        with av.open(io.BytesIO(data)) as source:
            audio = np.concatenate([f.to_ndarray().reshape(-1) for f in source.decode(audio=0)])
        pcm = (audio * INT16_MAX).astype(np.int16)
        out: list[tuple[float, int, np.ndarray]] = []
        at = 0
        for segment, _, arrived in self.fetched:
            size = round(segment.duration_s * SAMPLE_RATE_HZ)
            out.append((arrived, 0, pcm[at : at + size]))
            at += size
        return out


async def run(
    args: argparse.Namespace, server: Server, cleanup: list[Callable[[], Any]]
) -> dict[str, Any]:
    result: dict[str, Any] = {"impulses_sent": args.impulses, "period_ms": args.period_ms}
    server.start()
    await server.wait_healthy()
    http = HttpClient(server.port, max_connections=4)
    try:
        stage = await make_stage(http, "HLS latency", speakers=[], listeners=[])
        answer = await http.request(
            "GET", f"/api/spaces/{stage.space_id}/listen", token=stage.host_token
        )
        if answer.status != 200:
            raise HttpError("listen", answer)
        follower = HlsFollower(http, answer.json()["hls_url"])
        base = f"http://{HOST}:{server.port}"
        period = args.period_ms * SAMPLE_RATE_HZ // 1000
        lead = int(args.lead_seconds * SAMPLE_RATE_HZ) // FRAME_SAMPLES * FRAME_SAMPLES
        impulses = Impulses(lead, period, args.impulses)
        track = GeneratedTrack(impulses)
        speaker = TimedClient(base, stage.host_token, stage.space_id, "whip", track)
        stop = asyncio.Event()
        following = asyncio.ensure_future(follower.follow(stop))
        try:
            if (await speaker.connect()).status_code != 201:
                raise RuntimeError("WHIP refused")
            await wait_connected([speaker])
            log(f"speaker connected; {args.impulses} impulses every {args.period_ms} ms")
            await asyncio.sleep((lead + args.impulses * period) / SAMPLE_RATE_HZ + 3.0)
        finally:
            stop.set()
            await following
            await close_all([speaker])
    finally:
        await http.aclose()

    sent_at = dict(track.sent_at)
    sent: list[tuple[float, int]] = []
    for k in range(args.impulses):
        s = impulses.start_of(k)
        frame = s // FRAME_SAMPLES * FRAME_SAMPLES
        if frame in sent_at:
            sent.append((sent_at[frame] + (s - frame) / SAMPLE_RATE_HZ, k % len(MARKS_HZ)))
    onsets = _onsets(follower.frames(), offset_in_block=False)
    # A match may lag by up to 4 periods (the marks' cycle): more than any latency here.
    latencies_ms, spurious = _latencies(onsets, sent, window_s=4 * args.period_ms / 1000)
    values = [v / 1000 for v in latencies_ms]
    log("latencies (s, in order): " + " ".join(f"{v:.2f}" for v in values))
    result.update(
        {
            "glass_to_glass_p50_s": round(percentile(values, 50), 3),
            "glass_to_glass_p95_s": round(percentile(values, 95), 3),
            "glass_to_glass_max_s": round(max(values), 3) if values else math.nan,
            "impulses": len(values),
            "impulses_left_sender": len(sent),
            "spurious_onsets": spurious,
            "segments_fetched": len(follower.fetched),
            "playlist_reloads": follower.reloads,
            "http_errors": follower.errors,
            "segment_s": round(
                sum(s.duration_s for s, _, _ in follower.fetched) / max(1, len(follower.fetched)),
                4,
            ),
            "target_duration_s": playlist.TARGET_DURATION_S,
            "goal_p95_s": GOAL_P95_S,
        }
    )
    result["meets_goal"] = result["glass_to_glass_p95_s"] <= GOAL_P95_S
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--impulses", type=int, default=50)
    p.add_argument("--period-ms", type=int, default=700)
    p.add_argument("--lead-seconds", type=float, default=3.0, help="silence before the first")
    p.add_argument("--timeout", type=float, default=170.0)
    p.add_argument("--keep-data", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result, code = run_against_server(args, run)
    report(result, ("glass_to_glass_p50_s", "glass_to_glass_p95_s", "impulses"))
    return code


if __name__ == "__main__":
    sys.exit(main())
