"""Notification fan-out benchmark (issue 13): a host with N followers goes live.

    .venv/bin/python bench/notify_fanout.py [--followers N] [--others K] [--others-followers M]

Starts the real server (`parley serve`) with the product default store (SQLite in a throwaway
data folder, the embedded job queue), signs the host and K other hosts up through the API, and
writes the N followers (and M for each other host) straight into the database in bulk (signing
up 100 000 people through the API would take most of an hour of password hashing; see
tests/notify_support.py). Then:

* the big host goes live (POST /api/spaces): that request's time;
* while its fan-out runs, the K other hosts go live one after the other: their requests' times,
  which wait on the fan-out's batches for the database (SQLite has one writer);
* `go_live_request_ms` is the p99 (nearest rank) of all those go-live requests;
* `fanout_s`: from just before the big host's request until the database holds the last of the
  N in-app notifications (read every 20 ms); `notifications_per_s` = N / `fanout_s`;
* `duplicates`: notification rows minus distinct (user, dedupe key) (must be 0), and
  `followers_told` against `followers` (must be equal).

The followers have no push subscription and no email: the figure is the in-app path (the rows,
their socket events on the bus); pushes and email are jobs of their own after it. Progress goes
to stderr; the last line of stdout is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import (
    CHEAP_HASHING_NOTE,
    HttpClient,
    HttpError,
    Server,
    create_account,
    log,
    percentile,
    report,
)
from notify_support import add_followers
from parley.store.db import Store

GOAL_REQUEST_MS = 200.0
GOAL_PER_S = 5000.0


async def _user_id(http: HttpClient, token: str) -> int:
    me = await http.request("GET", "/api/me", token=token)
    if me.status != 200:
        raise HttpError("me", me)
    return int(me.json()["user"]["id"])


async def _go_live(http: HttpClient, token: str, title: str) -> tuple[float, int]:
    """The request's time in ms, and the space's id."""
    started = time.perf_counter()
    made = await http.request("POST", "/api/spaces", body={"title": title}, token=token)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if made.status != 201:
        raise HttpError("go live", made)
    space = made.json()["space"]
    if space["state"] != "live":
        raise RuntimeError(f"space is {space['state']}, expected live")
    return elapsed_ms, int(space["id"])


def _query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql, args).fetchall())
    finally:
        conn.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "followers": args.followers,
        "store": "sqlite",
        "fanout_batch": args.fanout_batch,
        "note": CHEAP_HASHING_NOTE,
    }
    server = Server(
        keep_data=args.keep_data, extra_env={"PARLEY_FANOUT_BATCH": str(args.fanout_batch)}
    )
    failed = False
    try:
        server.start()
        await server.wait_healthy()
        assert server.data_dir is not None
        db = server.data_dir / "parley.db"
        http = HttpClient(server.port, max_connections=4)
        try:
            host_token = await create_account(http, "bighost")
            host_id = await _user_id(http, host_token)
            others = [await create_account(http, f"host{n}") for n in range(args.others + 1)]
            other_ids = [await _user_id(http, token) for token in others]

            log(f"writing {args.followers} followers in bulk")
            started = time.monotonic()
            store = Store(f"sqlite+aiosqlite:///{db}")
            try:
                async with store.write() as session:
                    await add_followers(session, host_id, args.followers, prefix="f")
                    for n, other_id in enumerate(other_ids):
                        await add_followers(
                            session, other_id, args.others_followers, prefix=f"o{n}x"
                        )
            finally:
                await store.close()
            log(f"  written in {time.monotonic() - started:.1f} s")

            # Warm up: one of the small hosts goes live (imports, caches, the job queue).
            warm_ms, _ = await _go_live(http, others[0], "Warm up")
            await asyncio.sleep(1.0)

            log(f"the host with {args.followers} followers goes live")
            fanout_started = time.monotonic()
            big_ms, space_id = await _go_live(http, host_token, "One hundred thousand")
            key = f"live:{space_id}"
            count_sql = "SELECT count(*) FROM notifications WHERE dedupe_key = ?"

            async def others_go_live() -> list[float]:
                times = []
                for n, token in enumerate(others[1:]):
                    await asyncio.sleep(args.others_interval_s)
                    elapsed_ms, _ = await _go_live(http, token, f"Small show {n}")
                    times.append(elapsed_ms)
                return times

            small = asyncio.create_task(others_go_live())
            deadline = fanout_started + args.timeout_s
            told = 0
            while True:
                [(told,)] = await asyncio.to_thread(_query, db, count_sql, key)
                if told >= args.followers:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {told} of {args.followers} told")
                await asyncio.sleep(0.02)
            fanout_s = time.monotonic() - fanout_started
            small_ms = await small
        finally:
            await http.aclose()

        [(rows, distinct)] = await asyncio.to_thread(
            _query,
            db,
            "SELECT count(*), (SELECT count(*) FROM "
            "(SELECT DISTINCT user_id, dedupe_key FROM notifications)) FROM notifications",
        )
        [(followers_told,)] = await asyncio.to_thread(
            _query,
            db,
            "SELECT count(DISTINCT user_id) FROM notifications WHERE dedupe_key = ?",
            key,
        )
        # The fan-out's own record of it (done once a batch finds nobody left: with N a
        # multiple of the batch, one empty batch after the last rows).
        server_fanout_s = None
        for _ in range(100):
            [(server_fanout_s,)] = await asyncio.to_thread(
                _query,
                db,
                "SELECT (julianday(done_at) - julianday(created_at)) * 86400 FROM fanouts "
                "WHERE space_id = ?",
                space_id,
            )
            if server_fanout_s is not None:
                break
            await asyncio.sleep(0.1)
        requests_ms = [big_ms, *small_ms]
        result.update(
            {
                "go_live_request_ms": round(percentile(requests_ms, 99), 1),
                "fanout_s": round(fanout_s, 2),
                "notifications_per_s": round(args.followers / fanout_s),
                "duplicates": rows - distinct,
                "followers_told": followers_told,
                "go_live_requests": len(requests_ms),
                "go_live_request_p50_ms": round(percentile(requests_ms, 50), 1),
                "big_host_request_ms": round(big_ms, 1),
                "warm_up_request_ms": round(warm_ms, 1),
                "fanout_s_server": None if server_fanout_s is None else round(server_fanout_s, 2),
                "goal_request_ms": GOAL_REQUEST_MS,
                "goal_notifications_per_s": GOAL_PER_S,
            }
        )
        result["meets_goal"] = (
            result["go_live_request_ms"] <= GOAL_REQUEST_MS
            and result["notifications_per_s"] >= GOAL_PER_S
            and result["duplicates"] == 0
            and followers_told == args.followers
        )
    except BaseException as exc:
        failed = True
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['error']}")
    finally:
        server.stop_and_report(result, failed=failed)
        server.cleanup()
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--followers", type=int, default=100_000)
    p.add_argument("--others", type=int, default=20, help="small hosts going live meanwhile")
    p.add_argument("--others-followers", type=int, default=10)
    p.add_argument("--others-interval-s", type=float, default=0.2)
    p.add_argument("--fanout-batch", type=int, default=1000, help="PARLEY_FANOUT_BATCH")
    p.add_argument("--timeout-s", type=float, default=600.0)
    p.add_argument("--keep-data", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    result = asyncio.run(run(parse_args(argv)))
    report(
        result,
        ("followers", "go_live_request_ms", "fanout_s", "notifications_per_s", "duplicates"),
    )
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
