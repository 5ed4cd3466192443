"""Two app processes sharing PostgreSQL and Redis deliver each other's events to their own
WebSocket clients."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from support import (
    BUS_NAMESPACE,
    REDIS_URL,
    Client,
    RoomSocket,
    Running,
    TestClock,
    free_port,
    require_redis,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _start_node(
    database_url: str, data_dir: Path, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **{f"PARLEY_{name.upper()}": value for name, value in settings.items()},
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "PARLEY_BUS_NAMESPACE": BUS_NAMESPACE,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PASSWORD_TIME_COST": "1",
        "PARLEY_PASSWORD_MEMORY_KIB": "8192",
        # One secret on every node (docs/deploy.md): any node's media links are good on all.
        "PARLEY_MEDIA_URL_SECRET": "two-nodes-secret",
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "parley", "serve", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        for _ in range(1200):  # up to a minute: a loaded machine imports slowly
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text())
            try:
                if (await http.get(f"{base_url}/api/health")).status_code == 200:
                    return process, base_url
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    raise TimeoutError("node did not start")


@pytest.fixture
async def two_nodes(pg_template: str, tmp_path: Path) -> AsyncIterator[tuple[Running, Running]]:
    """Nodes a and b, each with its data folder under tmp_path ("a", "b")."""
    require_redis()
    from conftest import truncate_pg  # type: ignore[import-not-found]

    await truncate_pg(pg_template)
    processes = []
    try:
        nodes = []
        for name in ("a", "b"):
            process, base_url = await _start_node(pg_template, tmp_path / name)
            processes.append(process)
            nodes.append(Running(base_url=base_url, app=None, clock=TestClock()))  # type: ignore[arg-type]
        yield nodes[0], nodes[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def test_events_cross_nodes(two_nodes: tuple[Running, Running]) -> None:
    node_a, node_b = two_nodes
    host = await node_a.signup("host")
    listener_on_b = await node_b.signup("listener")
    host_health = await host.ok("GET", "/api/health")
    assert host_health["bus"]["backend"] == "redis"
    assert host_health["store"]["backend"] == "postgresql"
    space = await host.create_space("Across nodes")
    sid = space["id"]
    await listener_on_b.join(sid)

    # The listener's socket is on node B; the host acts on node A.
    socket_b = await listener_on_b.socket(sid)
    snapshot = await socket_b.until_type("snapshot")
    await host.ok("POST", f"/api/spaces/{sid}/pins", {"text": "from node A"}, 201)
    pin = await socket_b.until_type("pin_added")
    assert pin["pin"]["text"] == "from node A"
    assert pin["seq"] == snapshot["seq"] + 1

    # And the other way round: a request made on B reaches the host's socket on A.
    host_socket_a = await host.socket(sid)
    await host_socket_a.until_type("snapshot")
    await listener_on_b.ok("POST", f"/api/spaces/{sid}/me/request")
    change = await host_socket_a.until(
        lambda m: m["type"] == "member_updated" and m["member"]["stage_request"] == "requested"
    )
    assert change["member"]["user"]["handle"] == "listener"
    # Reactions and presence are ephemeral but cross nodes too.
    await listener_on_b.ok("POST", f"/api/spaces/{sid}/reactions", {"emoji": "👋"}, 202)
    reactions = await host_socket_a.until_type("reactions")
    assert reactions["counts"] == {"👋": 1}
    await socket_b.close()
    await host_socket_a.close()


async def test_one_node_claims_a_live_spaces_media(
    two_nodes: tuple[Running, Running], tmp_path: Path
) -> None:
    """Both nodes hear the space go live; the first to insert its recording row mixes and
    records it, the other stays out (no two recordings of one space)."""
    node_a, node_b = two_nodes
    host = await node_b.signup("host")
    sid = (await host.create_space("Claimed once"))["id"]
    folders = {name: tmp_path / name / "media" / "live" / str(sid) for name in ("a", "b")}

    def written(name: str) -> int:
        return len(list(folders[name].glob("seg-*.m4s"))) if folders[name].is_dir() else 0

    for _ in range(100):
        if max(written("a"), written("b")) >= 2:
            break
        await asyncio.sleep(0.1)
    counts = {name: written(name) for name in folders}
    assert sorted(counts.values())[0] == 0 and sorted(counts.values())[1] >= 2, counts
    owner = next(name for name, count in counts.items() if count)
    owner_node = node_a if owner == "a" else node_b
    # The owner serves the live playlist of the link either node hands out.
    listen = await host.ok("GET", f"/api/spaces/{sid}/listen")
    async with httpx.AsyncClient(base_url=owner_node.base_url) as http:
        playlist = await http.get(listen["hls_url"])
    assert playlist.status_code == 200 and "seg-" in playlist.text


async def test_visitors_on_one_node_are_counted_on_the_other(
    two_nodes: tuple[Running, Running],
) -> None:
    """A visitor's socket on node B counts in the listener count the host sees on node A (each
    node's count is a row in the shared store), and closes when the host ends the space on A."""
    node_a, node_b = two_nodes
    host = await node_a.signup("host")
    sid = (await host.create_space("Open to all"))["id"]
    observer = await host.socket(sid)
    await observer.until_type("snapshot")
    visitor = RoomSocket(await websockets.connect(f"{node_b.ws_url}/api/spaces/{sid}/ws"))
    snapshot = await visitor.until_type("snapshot")
    assert snapshot["me"] is None
    await observer.until(lambda m: m["type"] == "presence" and m["listener_count"] == 1)
    seen = await host.ok("GET", f"/api/spaces/{sid}")
    assert seen["space"]["listener_count"] == 1
    await host.ok("POST", f"/api/spaces/{sid}/pins", {"text": "from node A"}, 201)
    assert (await visitor.until_type("pin_added"))["pin"]["text"] == "from node A"
    await host.ok("POST", f"/api/spaces/{sid}/end")
    assert (await visitor.until_type("space_updated"))["space"]["state"] == "ended"
    assert await visitor.closed_with() == 4410
    await observer.until(lambda m: m["type"] == "presence" and m["listener_count"] == 0)
    await observer.close()


async def test_a_killed_nodes_connections_are_taken_back(pg_template: str, tmp_path: Path) -> None:
    """kill -9 of the node holding the host's socket: once its lease runs out its counts are gone,
    the host is absent, and the space ends after the grace period (it no longer records for
    ever, issue 12)."""
    require_redis()
    from conftest import truncate_pg  # type: ignore[import-not-found]

    await truncate_pg(pg_template)
    short = {"connection_lease_s": "3", "host_grace_s": "2", "grace_check_interval_s": "0.5"}
    processes = []
    try:
        for name in ("a", "b"):
            processes.append(await _start_node(pg_template, tmp_path / name, **short))
        node_a = Running(base_url=processes[0][1], app=None, clock=TestClock())  # type: ignore[arg-type]
        node_b = Running(base_url=processes[1][1], app=None, clock=TestClock())  # type: ignore[arg-type]
        host = await node_a.signup("host")
        sid = (await host.create_space("Left behind"))["id"]
        on_b = Client(node_b, host.user, host.token)
        socket = await on_b.socket(sid)
        await socket.until_type("snapshot")
        for _ in range(40):  # the socket's presence is counted (the host is back)
            page = await host.ok("GET", f"/api/spaces/{sid}")
            if page["me"]["connected"]:
                break
            await asyncio.sleep(0.1)
        assert page["me"]["connected"]
        processes[1][0].kill()  # no goodbye: its sockets never disconnect
        processes[1][0].wait(timeout=10)
        for _ in range(200):
            page = await host.ok("GET", f"/api/spaces/{sid}")
            if page["space"]["state"] == "ended":
                break
            await asyncio.sleep(0.1)
        assert page["space"]["state"] == "ended", page
        assert not page["me"]["connected"]
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
