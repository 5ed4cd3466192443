"""WebSocket fan-out benchmark: one space, N listening sockets, host actions and a reaction storm.

    .venv/bin/python bench/ws_fanout.py [--listeners N] [--storm-rate R] [--storm-seconds S]
                                        [--analytics on|off]

Starts the real server (`parley serve`) on a free 127.0.0.1 port with a throwaway data folder,
creates a host and N listener accounts through the REST API, opens N room WebSockets spread over
several client processes, then measures:

* host action latency: the host pins a post and removes it (`--rounds` times, actions
  `--action-interval` apart); latency = arrival of the event's `seq` at a listener minus the moment
  just before the host's HTTP request went out (one machine, one clock). p50/p99 over every
  (listener, event) pair, and `delivered_ratio` = pairs received / (events x N).
* server CPU while idle (everyone connected, nothing happening) and during a reaction storm
  (`--storm-rate` reactions/s for `--storm-seconds`, from many listener accounts, sent by a separate
  process), plus how many `reactions` messages each listener got (aggregation into windows).

`--analytics off` starts the server with PARLEY_ANALYTICS=false (host analytics not gathered);
the default, on, is the product's (bench/analytics_cost.py compares the two, issue 14).

Progress goes to stderr; the last line of stdout is one JSON object with the results. The latency
includes the client side (parsing in the listener processes), which shares the machine's cores with
the server, so it is an upper bound of what the server alone adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    CHEAP_HASHING_NOTE,
    HOST,
    SETUP_LIMITS_NOTE,
    CpuMeter,
    HttpClient,
    Server,
    analytics_env,
    create_live_space,
    create_members,
    log,
    percentile,
    receive,
    report,
    try_uvloop,
)

GOAL_P99_MS = 250.0
PONG = '{"type":"pong"}'


def _event_key(data: dict[str, Any]) -> tuple[str, int] | None:
    """What a timed host action is recognised by in the stream (its seq is not known upfront)."""
    kind = data.get("type")
    if kind == "pin_added":
        return ("pin_added", int(data["pin"]["id"]))
    if kind == "pin_removed":
        return ("pin_removed", int(data["pin_id"]))
    return None


def _ws_url(port: int, space_id: int) -> str:
    return f"ws://{HOST}:{port}/api/spaces/{space_id}/ws"


async def _open_socket(
    port: int, space_id: int, token: str, compression: bool, timeout_s: float
) -> tuple[ClientConnection, dict[str, Any]]:
    """Opens a room socket and waits for its snapshot."""
    ws = await connect(
        _ws_url(port, space_id),
        additional_headers={"Authorization": f"Bearer {token}"},
        compression="deflate" if compression else None,
        ping_interval=None,  # the room protocol has its own heartbeat (ping -> pong)
        open_timeout=timeout_s,
        close_timeout=2,
        max_size=2**22,
    )
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    except BaseException:
        await ws.close()
        raise
    if first.get("type") != "snapshot":
        await ws.close()
        raise RuntimeError(f"expected a snapshot first, got {first.get('type')!r}")
    return ws, first


# --- listener processes ----------------------------------------------------------------------
@dataclass
class ListenerState:
    snapshot_seq: int = -1
    arrivals: dict[int, float] = field(default_factory=dict)  # seq -> time.time() on arrival
    duplicates: int = 0
    out_of_order: int = 0
    last_seq: int = -1
    reaction_messages: int = 0
    reaction_count_sum: int = 0
    presence_messages: int = 0
    pings: int = 0
    reactions_first: float = 0.0
    reactions_last: float = 0.0
    closed: str | None = None


async def _listen(ws: ClientConnection, st: ListenerState, keys: dict[int, Any]) -> None:
    """Receives, notes the time, parses little and answers pings: a listener must be light."""
    try:
        async for raw in ws:
            now = time.time()
            data = json.loads(raw)
            seq = data.get("seq")
            if seq is not None:
                if seq in st.arrivals:
                    st.duplicates += 1
                    continue
                st.arrivals[seq] = now
                if seq != st.last_seq + 1:
                    st.out_of_order += 1
                st.last_seq = seq
                if seq not in keys:
                    keys[seq] = _event_key(data)
                continue
            kind = data.get("type")
            if kind == "reactions":
                st.reaction_messages += 1
                if not st.reactions_first:
                    st.reactions_first = now
                st.reactions_last = now
                st.reaction_count_sum += sum(data.get("counts", {}).values())
            elif kind == "ping":
                st.pings += 1
                await ws.send(PONG)
            elif kind == "presence":
                st.presence_messages += 1
        st.closed = f"closed by server: {ws.close_code} {ws.close_reason}"
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        st.closed = f"{type(exc).__name__}: {exc} (close code {ws.close_code})"


def listener_process(
    conn: Connection,
    port: int,
    space_id: int,
    tokens: list[str],
    connect_concurrency: int,
    compression: bool,
) -> None:
    try_uvloop()
    with contextlib.suppress(EOFError, KeyboardInterrupt, BrokenPipeError):
        asyncio.run(_listener_main(conn, port, space_id, tokens, connect_concurrency, compression))


async def _listener_main(
    conn: Connection,
    port: int,
    space_id: int,
    tokens: list[str],
    connect_concurrency: int,
    compression: bool,
) -> None:
    states = [ListenerState() for _ in tokens]
    sockets: list[ClientConnection | None] = [None] * len(tokens)
    keys: dict[int, Any] = {}
    tasks: list[asyncio.Task[None]] = []
    failures: list[str] = []
    slots = asyncio.Semaphore(connect_concurrency)

    async def open_one(index: int) -> None:
        async with slots:
            for attempt in range(3):
                try:
                    ws, snapshot = await _open_socket(
                        port, space_id, tokens[index], compression, 60
                    )
                except Exception as exc:
                    if attempt == 2:
                        failures.append(f"{type(exc).__name__}: {exc}")
                        return
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                sockets[index] = ws
                states[index].snapshot_seq = states[index].last_seq = int(snapshot["seq"])
                tasks.append(asyncio.create_task(_listen(ws, states[index], keys)))
                return

    await asyncio.gather(*(open_one(i) for i in range(len(tokens))))
    conn.send(("ready", sum(ws is not None for ws in sockets), failures[:5], len(failures)))
    try:
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command == "collect":
                conn.send(
                    (
                        "data",
                        {
                            "keys": keys,
                            "listeners": [
                                {
                                    "connected": sockets[i] is not None,
                                    "snapshot_seq": st.snapshot_seq,
                                    "arrivals": st.arrivals,
                                    "duplicates": st.duplicates,
                                    "out_of_order": st.out_of_order,
                                    "reaction_messages": st.reaction_messages,
                                    "reaction_count_sum": st.reaction_count_sum,
                                    "reactions_first": st.reactions_first,
                                    "reactions_last": st.reactions_last,
                                    "presence_messages": st.presence_messages,
                                    "pings": st.pings,
                                    "closed": st.closed,
                                }
                                for i, st in enumerate(states)
                            ],
                        },
                    )
                )
            elif command == "stop":
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        open_sockets = [ws for ws in sockets if ws is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in open_sockets), return_exceptions=True), 10
            )


# --- the storm sender process ----------------------------------------------------------------
def sender_process(
    conn: Connection, port: int, space_id: int, tokens: list[str], rate: float, seconds: float
) -> None:
    try_uvloop()
    with contextlib.suppress(EOFError, KeyboardInterrupt, BrokenPipeError):
        asyncio.run(_sender_main(conn, port, space_id, tokens, rate, seconds))


async def _sender_main(
    conn: Connection, port: int, space_id: int, tokens: list[str], rate: float, seconds: float
) -> None:
    http = HttpClient(port, max_connections=64, timeout_s=20)
    path = f"/api/spaces/{space_id}/reactions"
    # Warm the connection pool so the storm does not start with 64 TCP handshakes.
    warm = [http.request("GET", "/api/health") for _ in range(16)]
    await asyncio.gather(*warm, return_exceptions=True)
    http.status_counts.clear()
    conn.send(("ready",))
    command = await asyncio.to_thread(conn.recv)
    if command != "go":
        await http.aclose()
        return
    total = round(rate * seconds)
    errors: dict[str, int] = {}
    lags: list[float] = []
    answer_ms: list[float] = []

    async def fire(i: int) -> None:
        try:
            t = time.monotonic()
            await http.request("POST", path, body={"emoji": "💯"}, token=tokens[i % len(tokens)])
            answer_ms.append((time.monotonic() - t) * 1000)
        except Exception as exc:
            name = type(exc).__name__
            errors[name] = errors.get(name, 0) + 1

    start = time.monotonic()
    wall_start = time.time()
    pending: set[asyncio.Task[None]] = set()
    for i in range(total):
        target = start + i / rate
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(time.monotonic() - target)
        task = asyncio.create_task(fire(i))
        pending.add(task)
        task.add_done_callback(pending.discard)
    last_sent = time.monotonic()
    if pending:
        await asyncio.wait(pending, timeout=25)
    for task in list(pending):  # not answered in time: counted, not waited for
        task.cancel()
        errors["unanswered"] = errors.get("unanswered", 0) + 1
    done = time.monotonic()
    await http.aclose()
    conn.send(
        (
            "done",
            {
                "sent": total,
                "wall_start": wall_start,
                "send_seconds": last_sent - start,
                "seconds": done - start,
                "status_counts": http.status_counts,
                "errors": errors,
                "schedule_lag_p99_ms": percentile(lags, 99) * 1000,
                "answer_p50_ms": percentile(answer_ms, 50),
                "answer_p99_ms": percentile(answer_ms, 99),
            },
        )
    )


# --- the orchestration -----------------------------------------------------------------------
@dataclass
class Host:
    token: str
    space_id: int
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    pings: list[float] = field(default_factory=list)
    seen: dict[int, tuple[str, int]] = field(default_factory=dict)  # seq -> key

    async def listen(self, port: int, compression: bool) -> None:
        """The host's own socket: it sees which seq each of its actions got."""
        self.ws, _ = await _open_socket(port, self.space_id, self.token, compression, 30)
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                data = json.loads(raw)
                if data.get("type") == "ping":
                    self.pings.append(time.monotonic())
                    await self.ws.send(PONG)
                key = _event_key(data)
                if key is not None and data.get("seq") is not None:
                    self.seen[int(data["seq"])] = key

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


@dataclass
class Clients:
    """The client processes' pipes: the storm sender (idle until told) and the listeners."""

    sender: Connection
    listeners: list[Connection]
    processes: list[psutil.Process]  # all of them, for their CPU time
    storm_users: int  # the listener accounts the storm's reactions come from


@dataclass(frozen=True)
class Action:
    """A timed host action: what its event is recognised by, when its HTTP request went out
    (time.time()) and how long the answer took."""

    key: tuple[str, int]
    sent: float
    http_ms: float


@dataclass
class Actions:
    started: float  # time.time() just before the first action
    done: list[Action] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Collected:
    """What the listener processes saw, and which event each seq carried."""

    keys: dict[int, tuple[str, int]]
    listeners: list[dict[str, Any]]


async def run(args: argparse.Namespace, server: Server, children: list[Any]) -> dict[str, Any]:
    t_begin = time.monotonic()
    result = describe(args, server)
    result["load_avg_1m_at_start"] = round(os.getloadavg()[0], 2)
    result["server_health"] = await start_server(server)
    http = HttpClient(server.port, max_connections=args.setup_concurrency, timeout_s=60)
    host, tokens = await set_up_accounts(args, http, result)
    await host.listen(server.port, args.compression)
    clients = await start_clients(args, server, host, tokens, children, result)
    await asyncio.sleep(args.settle)
    meter = CpuMeter(server, clients.processes)
    actions = await host_actions(args, http, host, meter, result)
    await measure_idle(args, meter, result)
    storm = await reaction_storm(args, clients, meter, result)
    await asyncio.sleep(1.5)  # the last windows
    collected = await collect(clients, host)
    result |= event_delivery(actions, collected, args.listeners)
    result |= reaction_delivery(collected.listeners, storm)
    result["server_rss_mib"] = round(server.rss_mib(), 1)
    result["goal_met"] = bool(result["p99_ms"] <= GOAL_P99_MS and result["delivered_ratio"] == 1.0)
    result["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    result["run_seconds_before_teardown"] = round(time.monotonic() - t_begin, 1)
    await host.close()
    await http.aclose()
    return result


def describe(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    """What is measured and how: the head of the result."""
    return {
        "listeners": args.listeners,
        "backend": server.backend,
        "password_hashing": CHEAP_HASHING_NOTE,
        "setup_limits": SETUP_LIMITS_NOTE,
        "compression": "permessage-deflate" if args.compression else "none",
        "analytics": args.analytics,
        "client_processes": args.processes,
        "storm_rate": args.storm_rate,
        "storm_seconds": args.storm_seconds,
        "goal": f"p99 <= {GOAL_P99_MS:.0f} ms at N=1000 and delivered_ratio == 1.0",
    }


async def start_server(server: Server) -> dict[str, Any]:
    """Starts `parley serve` and waits until it answers; its health answer."""
    log(f"starting parley serve on {HOST} ({server.backend})")
    server.start()
    health = await server.wait_healthy()
    log(f"server up on port {server.port}, pid {server.process.pid if server.process else '?'}")
    return health


async def set_up_accounts(
    args: argparse.Namespace, http: HttpClient, result: dict[str, Any]
) -> tuple[Host, list[str]]:
    """The host and their live space, and the listener accounts, joined; their tokens."""
    log(f"creating host + {args.listeners} listeners ({args.setup_concurrency} requests at once)")
    t0 = time.monotonic()
    host_token, space_id = await create_live_space(http, "benchhost", "Fan-out benchmark")
    host = Host(token=host_token, space_id=space_id)
    handles = [f"l{i:05d}" for i in range(args.listeners)]
    tokens = await create_members(http, space_id, handles, args.setup_concurrency, log_every=200)
    result["setup_seconds"] = round(time.monotonic() - t0, 1)
    log(f"accounts ready in {result['setup_seconds']}s; space {host.space_id}")
    return host, tokens


async def start_clients(
    args: argparse.Namespace,
    server: Server,
    host: Host,
    tokens: list[str],
    children: list[tuple[Any, Connection]],
    result: dict[str, Any],
) -> Clients:
    """The storm sender first (idle until told), then the listener processes, which open the
    room sockets; waits until all are ready."""
    ctx = mp.get_context("spawn")
    storm_users = min(len(tokens), max(150, math.ceil(args.storm_rate / 1.5)))
    sender_conn, sender_child = ctx.Pipe()
    sender = ctx.Process(
        target=sender_process,
        args=(
            sender_child,
            server.port,
            host.space_id,
            tokens[:storm_users],
            args.storm_rate,
            args.storm_seconds,
        ),
        daemon=True,
        name="storm-sender",
    )
    sender.start()
    children.append((sender, sender_conn))

    log(f"opening {len(tokens)} WebSockets from {args.processes} client processes")
    t0 = time.monotonic()
    workers: list[tuple[Any, Connection]] = []
    for w in range(args.processes):
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=listener_process,
            args=(
                child,
                server.port,
                host.space_id,
                tokens[w :: args.processes],
                args.connect_concurrency,
                args.compression,
            ),
            daemon=True,
            name=f"listeners-{w}",
        )
        proc.start()
        workers.append((proc, parent))
        children.append((proc, parent))
    connected = 0
    failures: list[str] = []
    for _, parent in workers:
        _, ok, some_failures, n_failed = await receive(parent, args.connect_timeout, "listeners")
        connected += ok
        failures += some_failures
        if n_failed:
            log(f"  a client process failed to open {n_failed} sockets, e.g. {some_failures[:1]}")
    result["listeners_connected"] = connected
    result["connect_seconds"] = round(time.monotonic() - t0, 1)
    if failures:
        result["connect_failures_sample"] = failures[:5]
    log(f"{connected}/{len(tokens)} listeners connected in {result['connect_seconds']}s")
    await receive(sender_conn, 30, "storm sender")
    return Clients(
        sender=sender_conn,
        listeners=[parent for _, parent in workers],
        processes=[psutil.Process(proc.pid) for proc in [sender, *(p for p, _ in workers)]],
        storm_users=storm_users,
    )


async def host_actions(
    args: argparse.Namespace,
    http: HttpClient,
    host: Host,
    meter: CpuMeter,
    result: dict[str, Any],
) -> Actions:
    """The host pins a post and removes it, --rounds times, --action-interval apart; the
    server's CPU meanwhile."""
    log(f"host actions: {args.rounds} x (pin, unpin), {args.action_interval}s apart")
    pins_path = f"/api/spaces/{host.space_id}/pins"
    actions = Actions(started=time.time())
    start = meter.sample()
    for r in range(args.rounds):
        sent = time.time()
        made = await http.request(
            "POST", pins_path, body={"text": f"benchmark pin {r}"}, token=host.token
        )
        took = (time.time() - sent) * 1000
        if made.status != 201:
            actions.errors.append(f"pin: HTTP {made.status} {made.body[:200]!r}")
            await asyncio.sleep(args.action_interval)
            continue
        pin_id = int(made.json()["pin"]["id"])
        actions.done.append(Action(("pin_added", pin_id), sent, took))
        await asyncio.sleep(args.action_interval)
        sent = time.time()
        gone = await http.request("DELETE", f"{pins_path}/{pin_id}", token=host.token)
        took = (time.time() - sent) * 1000
        if gone.status != 204:
            actions.errors.append(f"unpin: HTTP {gone.status} {gone.body[:200]!r}")
        else:
            actions.done.append(Action(("pin_removed", pin_id), sent, took))
        await asyncio.sleep(args.action_interval)
    await asyncio.sleep(2.0)  # let the tail arrive
    used = meter.use(start, meter.sample())
    result["actions_server_cpu_s_per_s"] = round(used.server, 3)
    result["actions_machine_busy_cores"] = round(used.machine_busy, 3)
    mono_to_wall = time.time() - time.monotonic()
    pings = [round(p + mono_to_wall - actions.started, 1) for p in host.pings]
    log(f"server heartbeats (ping) seen by the host at t = {pings} s (t = 0: first action)")
    http_ms = [a.http_ms for a in actions.done]
    result["action_http_p50_ms"] = round(percentile(http_ms, 50), 1)
    result["action_http_max_ms"] = round(max(http_ms, default=math.nan), 1)
    if actions.errors:
        result["action_errors"] = actions.errors[:5]
    return actions


async def measure_idle(args: argparse.Namespace, meter: CpuMeter, result: dict[str, Any]) -> None:
    """The server's CPU with everyone connected and nothing happening."""
    log(f"idle: measuring server CPU for {args.storm_seconds}s with everyone connected")
    start = meter.sample()
    await asyncio.sleep(args.storm_seconds)
    result["idle_server_cpu_s_per_s"] = round(meter.use(start, meter.sample()).server, 3)


async def reaction_storm(
    args: argparse.Namespace, clients: Clients, meter: CpuMeter, result: dict[str, Any]
) -> dict[str, Any]:
    """The sender process posts --storm-rate reactions/s for --storm-seconds; the CPU of the
    server, the clients and the machine until it is done. The sender's report."""
    log(
        f"storm: {args.storm_rate:.0f} reactions/s for {args.storm_seconds}s "
        f"from {clients.storm_users} accounts"
    )
    start = meter.sample()
    clients.sender.send("go")
    answer = await receive(clients.sender, args.storm_seconds + 60, "storm sender")
    storm: dict[str, Any] = answer[1]
    used = meter.use(start, meter.sample())
    result["storm_server_cpu_s_per_s"] = round(used.server, 3)
    result["storm_clients_cpu_s_per_s"] = round(used.clients, 3)
    result["storm_machine_busy_cores"] = round(used.machine_busy, 3)
    result["storm_wall_seconds"] = round(used.wall_s, 2)
    result["storm_answer_p50_ms"] = round(storm["answer_p50_ms"], 1)
    result["storm_answer_p99_ms"] = round(storm["answer_p99_ms"], 1)
    statuses: dict[int, int] = storm["status_counts"]
    result["storm_users"] = clients.storm_users
    result["storm_requests_sent"] = storm["sent"]
    result["storm_reactions_accepted"] = statuses.get(202, 0)
    result["storm_429"] = statuses.get(429, 0)
    other = {str(k): v for k, v in statuses.items() if k not in (202, 429)}
    if other or storm["errors"]:
        result["storm_other_answers"] = {**other, **storm["errors"]}
    result["storm_achieved_rate"] = round(storm["sent"] / max(storm["send_seconds"], 1e-9), 1)
    result["storm_send_lag_p99_ms"] = round(storm["schedule_lag_p99_ms"], 1)
    return storm


async def collect(clients: Clients, host: Host) -> Collected:
    """Every listener's arrivals and counts, and the event key of every seq seen."""
    keys: dict[int, tuple[str, int]] = {}
    per_listener: list[dict[str, Any]] = []
    for parent in clients.listeners:
        parent.send("collect")
    for parent in clients.listeners:
        _, data = await receive(parent, 60, "listeners")
        for seq, key in data["keys"].items():
            if key is not None:
                keys[seq] = tuple(key)
        per_listener += data["listeners"]
    for seq, key in host.seen.items():
        keys.setdefault(seq, key)
    return Collected(keys=keys, listeners=per_listener)


def seqs_of_actions(actions: Actions, keys: dict[int, tuple[str, int]]) -> list[int | None]:
    """The seq each action's event got (None: seen by nobody). Pin ids are reused after a
    delete, so a key can match several seqs: the actions ran one after the other, so each one's
    event is the first match after the previous action's."""
    seq_of_action: list[int | None] = []
    previous = -1
    for action in actions.done:
        found = min((s for s, k in keys.items() if k == action.key and s > previous), default=None)
        seq_of_action.append(found)
        if found is not None:
            previous = found
    return seq_of_action


def event_delivery(actions: Actions, collected: Collected, listeners: int) -> dict[str, Any]:
    """The latency of every (listener, event) pair, how many arrived, duplicates and gaps."""
    per_listener = collected.listeners
    out: dict[str, Any] = {}
    latencies: list[float] = []
    log("host action events (latency from just before the HTTP request):")
    delivered = 0
    missing_events = 0
    for action, seq in zip(actions.done, seqs_of_actions(actions, collected.keys), strict=True):
        key, sent = action.key, action.sent
        if seq is None:
            missing_events += 1
            log(f"  {key[0]} {key[1]}: seen by no listener")
            continue
        these = [
            (lst["arrivals"][seq] - sent) * 1000 for lst in per_listener if seq in lst["arrivals"]
        ]
        delivered += len(these)
        latencies += these
        log(
            f"  t={sent - actions.started:5.1f}s seq {seq:<3} {key[0]:<11} "
            f"http {action.http_ms:6.1f} ms; {len(these)} listeners got it, "
            f"p50 {percentile(these, 50):7.1f} ms, max {max(these, default=math.nan):7.1f} ms"
        )
    events = len(actions.done)
    out["events"] = events
    out["p50_ms"] = round(percentile(latencies, 50), 1)
    out["p90_ms"] = round(percentile(latencies, 90), 1)
    out["p99_ms"] = round(percentile(latencies, 99), 1)
    out["max_ms"] = round(max(latencies, default=math.nan), 1)
    out["delivered_pairs"] = delivered
    out["expected_pairs"] = events * listeners
    out["delivered_ratio"] = delivered / (events * listeners) if events else 0.0
    if missing_events:
        out["events_seen_by_nobody"] = missing_events
    out["duplicates"] = sum(lst["duplicates"] for lst in per_listener)
    out["seq_gaps"] = sum(lst["out_of_order"] for lst in per_listener)
    closed = [lst["closed"] for lst in per_listener if lst["closed"]]
    out["listener_sockets_closed_early"] = len(closed)
    if closed:
        out["listener_close_sample"] = closed[:3]
    return out


def reaction_delivery(per_listener: list[dict[str, Any]], storm: dict[str, Any]) -> dict[str, Any]:
    """How the storm's reactions reached the listeners: messages (windows) and counts."""
    out: dict[str, Any] = {}
    msgs = [lst["reaction_messages"] for lst in per_listener if lst["connected"]]
    sums = [lst["reaction_count_sum"] for lst in per_listener if lst["connected"]]
    out["reaction_messages_total"] = sum(msgs)
    firsts = [lst["reactions_first"] for lst in per_listener if lst["reactions_first"]]
    lasts = [lst["reactions_last"] for lst in per_listener if lst["reactions_last"]]
    if firsts and lasts:
        out["reaction_delivery_span_s"] = round(max(lasts) - min(firsts), 1)
    # Per second of delivery (first to last reactions message), which outlasts the sending
    # when the server falls behind.
    span = max(out.get("reaction_delivery_span_s", 0.0), storm["send_seconds"])
    out["reaction_messages_per_listener_per_s"] = (
        round(statistics.mean(msgs) / span, 2) if msgs else 0.0
    )
    out["reaction_messages_per_listener_min_max"] = [min(msgs, default=0), max(msgs, default=0)]
    out["reaction_counts_sum_per_listener_min_max"] = [min(sums, default=0), max(sums, default=0)]
    return out


def _stop_children(children: list[tuple[Any, Connection]]) -> None:
    """Asks every client process to stop, then ends the stragglers (only ours, by handle)."""
    for _, conn in children:
        with contextlib.suppress(Exception):
            conn.send("stop")
    deadline = time.monotonic() + 15
    for proc, _ in children:
        proc.join(max(0.1, deadline - time.monotonic()))
    for proc, _ in children:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--listeners", type=int, default=1000, help="listening sockets (N)")
    p.add_argument("--storm-rate", type=float, default=200.0, help="reactions per second")
    p.add_argument("--storm-seconds", type=float, default=10.0, help="storm (and idle) length")
    p.add_argument("--rounds", type=int, default=20, help="pin + unpin rounds of the host")
    p.add_argument("--action-interval", type=float, default=0.5, help="seconds between actions")
    p.add_argument("--processes", type=int, default=4, help="listener client processes")
    p.add_argument("--setup-concurrency", type=int, default=20, help="setup requests in flight")
    p.add_argument("--connect-concurrency", type=int, default=25, help="handshakes per process")
    p.add_argument("--connect-timeout", type=float, default=120.0, help="to open all sockets")
    p.add_argument("--settle", type=float, default=2.0, help="pause after connecting (s)")
    p.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="do not offer permessage-deflate (browsers do, so it is on by default)",
    )
    p.add_argument(
        "--analytics",
        choices=("on", "off"),
        default="on",
        help="host analytics in the server (PARLEY_ANALYTICS; on is the product default)",
    )
    p.add_argument("--database-url", default="", help="passed to the server as DATABASE_URL")
    p.add_argument("--redis-url", default="", help="passed to the server as REDIS_URL")
    p.add_argument("--keep-data", action="store_true", help="keep the data folder and server log")
    p.add_argument("--timeout", type=float, default=600.0, help="abort the whole run after (s)")
    args = p.parse_args(argv)
    if args.listeners < 1 or args.processes < 1 or args.storm_rate <= 0:
        p.error("--listeners, --processes and --storm-rate must be positive")
    args.processes = min(args.processes, args.listeners)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for url in (args.database_url, args.redis_url):
        if url and not any(h in url for h in ("127.0.0.1", "localhost", "[::1]")):
            log("refusing a database/redis URL that is not on this machine")
            return 2
    try_uvloop()
    server = Server(
        database_url=args.database_url,
        redis_url=args.redis_url,
        extra_env=analytics_env(args.analytics),
        keep_data=args.keep_data,
    )
    children: list[tuple[Any, Connection]] = []
    result: dict[str, Any] = {"listeners": args.listeners}
    code = 0
    try:
        result = asyncio.run(asyncio.wait_for(run(args, server, children), args.timeout))
    except BaseException as exc:
        code = 130 if isinstance(exc, KeyboardInterrupt) else 1
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['error']}")
    finally:
        _stop_children(children)
        server.stop_and_report(result, failed=bool(code))
        if args.keep_data:
            log(f"data folder and server log kept in {server.data_dir}")
        server.cleanup()
    report(result, ("p50_ms", "p99_ms", "delivered_ratio", "storm_server_cpu_s_per_s"))
    return code


if __name__ == "__main__":
    sys.exit(main())
