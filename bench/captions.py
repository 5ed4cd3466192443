"""Live captions benchmark: speech in, caption lines out, through a real server.

    .venv/bin/python bench/captions.py [--language en] [--repeat 2] [--gap-s 2.0]

Starts the real server (`parley serve`, its defaults: whisper-base, one caption worker per two
cores) on a free 127.0.0.1 port and creates a live space with three speakers on stage and a
listener whose room socket collects the `caption` events. Speakers publish (WHIP, real aiortc)
sentences of the project's spoken test set (tests/speech_support.py, espeak-ng) with known
boundaries: the wall time each sentence's first and last sample left the speaker's track.

Three phases, in one run:
1. baseline: captions off; the host says every sentence (server CPU without captions);
2. one speaker: captions on; the host says every sentence `--repeat` times, `--gap-s` apart;
3. three talking: the three speakers say their sentences at the same time.

Per sentence: `final` latency = the final line's arrival at the listener - the sentence's last
sample leaving the speaker (the first final of that speaker to arrive after it: sentences are
further apart than any latency seen); `partial` latency = the first partial's arrival - the
sentence's first sample leaving. WER (jiwer) over each speaker's finals against what they said.
CPU: the server's extra cores with captions on (phase 2 minus phase 1) per second of speech.
Backlog: GET /api/health's captions.backlog_s every 0.5 s during phase 3.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _audio import GeneratedTrack, WebRtcClient, close_all, run_against_server, wait_connected
from _common import (
    CHEAP_HASHING_NOTE,
    HOST,
    HttpClient,
    HttpError,
    Server,
    create_account,
    log,
    percentile,
    report,
)
from parley.media.mixer import FRAME_SAMPLES, SAMPLE_RATE_HZ, Samples
from speech_support import SENTENCES, speech, word_error_rate

GOALS = {
    "final_latency_p95_s": 1.5,
    "partial_latency_p95_s": 1.0,
    "wer": 0.10,
    "cpu_s_per_speaker_s": 0.25,
}
LEAD_S = 1.0


@dataclass
class Program:
    """What one speaker says: sentences at sample offsets from the track's first frame."""

    items: list[tuple[int, Samples, str]] = field(default_factory=list)

    def source(self, start: int) -> Samples:
        block = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        for offset, samples, _ in self.items:
            lo, hi = start - offset, start - offset + FRAME_SAMPLES
            if hi > 0 and lo < samples.size:
                piece = samples[max(0, lo) : min(samples.size, hi)]
                at = max(0, -lo)
                block[at : at + piece.size] = piece
        return block

    @property
    def length_s(self) -> float:
        offset, samples, _ = self.items[-1]
        return (offset + samples.size) / SAMPLE_RATE_HZ

    @property
    def speech_s(self) -> float:
        return sum(samples.size for _, samples, _ in self.items) / SAMPLE_RATE_HZ


def program(texts: list[str], language: str, gap_s: float, lead_s: float) -> Program:
    made = Program()
    offset = int(lead_s * SAMPLE_RATE_HZ)
    for text in texts:
        samples = speech(text, language)
        made.items.append((offset, samples, text))
        offset += samples.size + int(gap_s * SAMPLE_RATE_HZ)
    return made


class Listener:
    """A room socket collecting caption lines with their arrival times."""

    def __init__(self, port: int, token: str, space_id: int) -> None:
        self.url = f"ws://{HOST}:{port}/api/spaces/{space_id}/ws"
        self.token = token
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.connection = await websockets.connect(
            self.url, additional_headers={"Authorization": f"Bearer {self.token}"}
        )
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.connection:
            event = json.loads(message)
            if event["type"] == "caption":
                self.lines.append((time.time(), event["line"]))
            elif event["type"] == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))

    async def stop(self) -> None:
        await self.connection.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


async def _ok(http: HttpClient, method: str, path: str, token: str, body: Any = None) -> Any:
    answer = await http.request(method, path, body=body, token=token)
    if answer.status not in (200, 201):
        raise HttpError(f"{method} {path}", answer)
    return answer.json()


async def _unmute_on_air(http: HttpClient, sid: int, token: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = await http.request("POST", f"/api/spaces/{sid}/me/unmute", token=token)
        if answer.status == 200:
            return
        if answer.status != 409 or time.monotonic() > deadline:
            raise HttpError("unmute", answer)
        await asyncio.sleep(0.05)


async def speak(
    port: int, http: HttpClient, sid: int, speakers: dict[str, tuple[str, int, Program]]
) -> dict[str, tuple[int, list[tuple[float, float, str]]]]:
    """Every speaker publishes their program at once; returns, per speaker, their user id and
    (first sample's wall time, last sample's wall time, text) of each sentence."""
    base = f"http://{HOST}:{port}"
    tracks = {name: GeneratedTrack(prog.source) for name, (_, _, prog) in speakers.items()}
    clients = [
        WebRtcClient(base, token, sid, "whip", tracks[name])
        for name, (token, _, _) in speakers.items()
    ]
    try:
        for client in clients:
            answer = await client.connect()
            if answer.status_code != 201:
                raise RuntimeError(f"WHIP refused: {answer.status_code} {answer.text}")
        await wait_connected(clients)
        for token, _, _ in speakers.values():
            await _unmute_on_air(http, sid, token)
        longest = max(prog.length_s for _, _, prog in speakers.values())
        started = min(t.sent_at[0][1] for t in tracks.values() if t.sent_at)
        await asyncio.sleep(max(0.0, started + longest + 4.0 - time.time()))
    finally:
        await close_all(clients)
    said: dict[str, tuple[int, list[tuple[float, float, str]]]] = {}
    for name, (_, user_id, prog) in speakers.items():
        wall0 = tracks[name].sent_at[0][1]  # pts 0 left at this wall time; pacing is real time
        said[name] = (
            user_id,
            [
                (
                    wall0 + offset / SAMPLE_RATE_HZ,
                    wall0 + (offset + samples.size) / SAMPLE_RATE_HZ,
                    text,
                )
                for offset, samples, text in prog.items
            ],
        )
    return said


def score(
    said: dict[str, tuple[int, list[tuple[float, float, str]]]],
    lines: list[tuple[float, dict[str, Any]]],
) -> dict[str, Any]:
    finals_lat: list[float] = []
    partials_lat: list[float] = []
    truths: list[str] = []
    hypotheses: list[str] = []
    missing = 0
    for user_id, sentences in said.values():
        mine = [(at, line) for at, line in lines if line["user_id"] == user_id]
        finals = [(at, line) for at, line in mine if line["final"]]
        partials = [(at, line) for at, line in mine if not line["final"]]
        for i, (onset, end, _) in enumerate(sentences):
            limit = sentences[i + 1][1] if i + 1 < len(sentences) else float("inf")
            after = [at for at, _ in finals if end <= at < limit]
            if after:
                finals_lat.append(after[0] - end)
            else:
                missing += 1
            first_partial = [at for at, _ in partials if onset <= at < end + 1.0]
            if first_partial:
                partials_lat.append(first_partial[0] - onset)
        truths.append(" ".join(text for _, _, text in sentences))
        hypotheses.append(" ".join(line["text"] or "" for _, line in finals))
    wer = word_error_rate(truths, hypotheses)

    def p(values: list[float], q: float) -> float | None:
        return round(percentile(values, q), 3) if values else None

    return {
        "sentences": sum(len(s) for _, s in said.values()),
        "finals_missing": missing,
        "final_latency_p50_s": p(finals_lat, 50),
        "final_latency_p95_s": p(finals_lat, 95),
        "final_latency_max_s": round(max(finals_lat), 3) if finals_lat else None,
        "partial_latency_p50_s": p(partials_lat, 50),
        "partial_latency_p95_s": p(partials_lat, 95),
        "partials_seen": len(partials_lat),
        "wer": round(wer, 4),
        "hypotheses": hypotheses,
    }


async def watch_backlog(port: int, samples: list[float], stop: asyncio.Event) -> None:
    http = HttpClient(port, max_connections=1)
    try:
        while not stop.is_set():
            answer = await http.request("GET", "/api/health")
            captions = answer.json().get("captions") or {}
            samples.append(float(captions.get("backlog_s", 0.0)))
            await asyncio.sleep(0.5)
    finally:
        await http.aclose()


async def run(args: argparse.Namespace, server: Server, cleanup: list[Any]) -> dict[str, Any]:
    language = args.language
    texts = SENTENCES[language]
    result: dict[str, Any] = {"language": language, "sentences_in_set": len(texts)}
    server.start()
    health = await server.wait_healthy()
    log(f"server up on port {server.port} ({health['store']['backend']})")
    http = HttpClient(server.port, max_connections=4)
    try:
        host_token = await create_account(http, "host")
        space = (
            await _ok(
                http,
                "POST",
                "/api/spaces",
                host_token,
                {"title": "Captions benchmark", "caption_language": language},
            )
        )["space"]
        sid = int(space["id"])
        ids = {"host": int(space["host"]["id"])}
        tokens = {"host": host_token}
        for name in ("bob", "dave", "carol"):
            tokens[name] = await create_account(http, name)
            member = (await _ok(http, "POST", f"/api/spaces/{sid}/join", tokens[name]))["member"]
            ids[name] = int(member["user"]["id"])
            if name != "carol":
                await _ok(http, "POST", f"/api/spaces/{sid}/me/request", tokens[name])
                await _ok(
                    http, "POST", f"/api/spaces/{sid}/members/{ids[name]}/approve", host_token
                )
        listener = Listener(server.port, tokens["carol"], sid)
        await listener.start()

        log("phase 1: captions off, the host says every sentence (CPU baseline)")
        base_prog = program(texts, language, args.gap_s, LEAD_S)
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        await speak(server.port, http, sid, {"host": (host_token, ids["host"], base_prog)})
        base_cores = (server.cpu_seconds() - cpu0) / (time.monotonic() - wall0)
        result["server_cores_without_captions"] = round(base_cores, 3)

        await _ok(http, "PATCH", f"/api/spaces/{sid}", host_token, {"captions": True})
        # The first captioned space loads the engine: let it load before measuring.
        await asyncio.sleep(3.0)
        log(f"phase 2: captions on, the host says every sentence x{args.repeat}")
        one_prog = program(texts * args.repeat, language, args.gap_s, LEAD_S)
        start = len(listener.lines)
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        said = await speak(server.port, http, sid, {"host": (host_token, ids["host"], one_prog)})
        wall = time.monotonic() - wall0
        cores = (server.cpu_seconds() - cpu0) / wall
        one = score(said, listener.lines[start:])
        result.update({k: v for k, v in one.items() if k != "hypotheses"})
        result["server_cores_with_captions"] = round(cores, 3)
        result["speech_s"] = round(one_prog.speech_s, 1)
        result["cpu_s_per_speaker_s"] = round(
            max(0.0, cores - base_cores) * wall / one_prog.speech_s, 3
        )
        log(f"  heard: {one['hypotheses'][0][:200]}")

        log("phase 3: three speakers talking at once")
        programs = {
            name: program(
                texts[i::1][: args.three_sentences], language, args.gap_s * 0.75, LEAD_S + 0.3 * i
            )
            for i, name in enumerate(("host", "bob", "dave"))
        }
        backlog: list[float] = []
        stop = asyncio.Event()
        watcher = asyncio.ensure_future(watch_backlog(server.port, backlog, stop))
        start = len(listener.lines)
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        said = await speak(
            server.port,
            http,
            sid,
            {name: (tokens[name], ids[name], prog) for name, prog in programs.items()},
        )
        result["server_cores_3_talking"] = round(
            (server.cpu_seconds() - cpu0) / (time.monotonic() - wall0), 3
        )
        stop.set()
        await watcher
        three = score(said, listener.lines[start:])
        for key in (
            "final_latency_p50_s",
            "final_latency_p95_s",
            "partial_latency_p95_s",
            "wer",
            "finals_missing",
            "sentences",
        ):
            result[f"{key}_3_talking"] = three[key]
        third = max(1, len(backlog) // 3)
        result["backlog_max_s_3_talking"] = round(max(backlog, default=0.0), 3)
        result["backlog_first_third_mean_s"] = round(statistics.fmean(backlog[:third]), 3)
        result["backlog_last_third_mean_s"] = round(statistics.fmean(backlog[-third:]), 3)
        result["backlog_growing_3_talking"] = (
            result["backlog_last_third_mean_s"] > result["backlog_first_third_mean_s"] + 0.5
        )
        health = (await http.request("GET", "/api/health")).json()
        result["caption_stats_at_end"] = health.get("captions")
        await listener.stop()
    finally:
        await http.aclose()
    result["goals"] = GOALS
    result["meets_goals"] = (
        all(result.get(key) is not None and result[key] <= goal for key, goal in GOALS.items())
        and result.get("final_latency_p95_s_3_talking", 99) <= GOALS["final_latency_p95_s"]
    )
    result["note"] = CHEAP_HASHING_NOTE
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--language", default="en", choices=sorted(SENTENCES))
    p.add_argument("--repeat", type=int, default=2, help="times the one speaker says the set")
    p.add_argument("--three-sentences", type=int, default=4, help="each speaker's, in phase 3")
    p.add_argument("--gap-s", type=float, default=2.0, help="silence between sentences")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--keep-data", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result, code = run_against_server(args, run)
    headline = (
        "final_latency_p50_s",
        "final_latency_p95_s",
        "partial_latency_p95_s",
        "wer",
        "cpu_s_per_speaker_s",
        "final_latency_p95_s_3_talking",
        "backlog_growing_3_talking",
    )
    report(result, headline)
    return code


if __name__ == "__main__":
    sys.exit(main())
