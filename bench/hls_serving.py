"""HLS serving through nginx: how many listeners' worth of requests this machine serves.

    .venv/bin/python bench/hls_serving.py [--seconds 20] [--connections 200]

Starts the real server (`parley serve`) with a live space whose host publishes a tone (WHIP, a
real aiortc client), so segments of real size keep coming, and Debian's nginx with the
configuration of docs/deploy.md (`parley.deploy.nginx_config`, the one tests/deploy runs) in front
of it. The load is wrk (Debian's package) with a Lua script playing listeners: each request
alternates between the live playlist and the newest segment it lists, both with the signed URL
the API handed out, so nginx checks the signature on every request.

A listener asks for the playlist and one segment per segment duration (2 requests per ~1 s), so
`listeners` = requests_per_s x segment_s / 2: the number of concurrent listeners whose requests
the measured rate carries. wrk runs closed-loop as fast as nginx answers; the figure is that
capacity, not a run with that many sockets open. `app_cpu_s_per_s` is the Parley process's CPU
(cores) during the load, `app_cpu_s_per_s_idle` the same span before it: nginx serves the HLS
without the app.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _audio import GeneratedTrack, WebRtcClient, close_all, make_stage, tone, wait_connected
from _common import HOST, HttpClient, HttpError, Server, free_port, log, report
from parley import deploy
from parley.media import playlist

GOAL_LISTENERS = 10_000

LUA = r"""
local base = "%(base)s"
local latest = nil
local want_segment = false

request = function()
  if want_segment and latest then
    want_segment = false
    return wrk.format("GET", base .. "/" .. latest)
  end
  want_segment = true
  return wrk.format("GET", base .. "/live.m3u8")
end

response = function(status, headers, body)
  if status == 200 and string.sub(body, 1, 7) == "#EXTM3U" then
    for name in string.gmatch(body, "seg%%-%%d+%%.m4s") do latest = name end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def _nginx(server: Server, run_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    assert server.data_dir is not None
    port = free_port()
    secret = (server.data_dir / "media-url-secret").read_text().strip()
    config = deploy.nginx_config(
        listen=f"{HOST}:{port}",
        app=f"{HOST}:{server.port}",
        media_dir=server.data_dir / "media",
        secret=secret,
    )
    conf = run_dir / "nginx.conf"
    conf.write_text(deploy.standalone_nginx(config, run_dir, workers=workers, as_root=True))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"connections": args.connections, "seconds": args.seconds}
    server = Server(keep_data=args.keep_data)
    run_dir = Path(tempfile.mkdtemp(prefix="parley-nginx-"))
    nginx: subprocess.Popen[bytes] | None = None
    speaker: WebRtcClient | None = None
    failed = False
    try:
        server.start()
        await server.wait_healthy()
        http = HttpClient(server.port, max_connections=4)
        try:
            stage = await make_stage(http, "HLS serving", speakers=[], listeners=[])
            base = f"http://{HOST}:{server.port}"
            speaker = WebRtcClient(
                base, stage.host_token, stage.space_id, "whip", GeneratedTrack(tone(440.0))
            )
            if (await speaker.connect()).status_code != 201:
                raise RuntimeError("WHIP refused")
            await wait_connected([speaker])
            answer = await http.request(
                "GET", f"/api/spaces/{stage.space_id}/listen", token=stage.host_token
            )
            if answer.status != 200:
                raise HttpError("listen", answer)
            hls_url = answer.json()["hls_url"]
        finally:
            await http.aclose()
        nginx, port = _nginx(server, run_dir, args.nginx_workers)
        await asyncio.sleep(args.warmup_seconds)  # nginx up, a full live window of segments

        # The app's CPU with the space live and nobody on HLS, then under the load.
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        await asyncio.sleep(args.seconds)
        cpu1, wall1 = server.cpu_seconds(), time.monotonic()
        script = run_dir / "listeners.lua"
        script.write_text(LUA % {"base": hls_url.rsplit("/", 1)[0]})
        log(f"wrk: {args.connections} connections for {args.seconds:.0f} s through nginx")
        wrk = await asyncio.create_subprocess_exec(
            shutil.which("wrk") or "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.seconds:.0f}s",
            "-s",
            str(script),
            f"http://{HOST}:{port}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        cpu2, wall2 = server.cpu_seconds(), time.monotonic()
        out, _ = await wrk.communicate()
        cpu3, wall3 = server.cpu_seconds(), time.monotonic()
        text = out.decode(errors="replace")
        line = next((ln for ln in text.splitlines() if ln.startswith("WRK ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary: {text[-500:]}")
        wrk_summary = json.loads(line[4:])
        errors = sum(wrk_summary[k] for k in ("connect", "read", "write", "status", "timeout"))
        requests = wrk_summary["requests"]
        rate = requests / (wrk_summary["duration_us"] / 1e6)
        segments, _ = playlist.parse(
            (server.data_dir / "media" / "live" / str(stage.space_id) / "live.m3u8").read_text()  # type: ignore[operator]
        )
        segment_s = sum(s.duration_s for s in segments) / max(1, len(segments))
        listeners = int(rate * segment_s / 2)
        result.update(
            {
                "listeners": listeners,
                "requests_per_s": round(rate),
                "error_ratio": round(errors / max(1, requests), 6),
                "app_cpu_s_per_s": round((cpu3 - cpu2) / (wall3 - wall2), 3),
                "app_cpu_s_per_s_idle": round((cpu1 - cpu0) / (wall1 - wall0), 3),
                "requests": requests,
                "errors": {
                    k: wrk_summary[k] for k in ("connect", "read", "write", "status", "timeout")
                },
                "latency_p50_ms": round(wrk_summary["p50_us"] / 1000, 2),
                "latency_p99_ms": round(wrk_summary["p99_us"] / 1000, 2),
                "megabytes_per_s": round(
                    wrk_summary["bytes"] / (wrk_summary["duration_us"] / 1e6) / 1e6, 2
                ),
                "segment_s": round(segment_s, 4),
                "nginx_workers": args.nginx_workers,
                "wrk_threads": args.threads,
                "goal_listeners": GOAL_LISTENERS,
            }
        )
        result["meets_goal"] = listeners >= GOAL_LISTENERS and errors == 0
    except BaseException as exc:
        failed = True
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['error']}")
    finally:
        if speaker is not None:
            await close_all([speaker])
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        server.stop_and_report(result, failed=failed)
        server.cleanup()
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--connections", type=int, default=200)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--nginx-workers", type=int, default=1)
    p.add_argument("--warmup-seconds", type=float, default=7.0)
    p.add_argument("--keep-data", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    result = asyncio.run(run(parse_args(argv)))
    report(result, ("listeners", "requests_per_s", "error_ratio", "app_cpu_s_per_s"))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
