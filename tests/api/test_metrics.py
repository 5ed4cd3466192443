"""GET /metrics (issue 14, docs/operations.md): Prometheus' text format, for the bearer of
PARLEY_METRICS_TOKEN only, with the media and HTTP metrics moving while a space is live."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support import Running
from webrtc_client import GeneratedTrack, WebRtcClient, tone

pytestmark = pytest.mark.integration

TOKEN = "metrics-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "parley-dashboard.json"

# A sample: (name, labels) -> value.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(server: Running) -> tuple[Samples, set[str]]:
    """The samples of one scrape, and the names of its metric families."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    families: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_metrics_are_off_without_a_token(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/metrics", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parley_settings(metrics_token=TOKEN)
async def test_metrics_need_the_token(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            response = await http.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"] == "not_authenticated"
            assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
    samples, families = await scrape(server)
    # The 401s above are counted, by their code, and their latency under the route's template.
    assert value(samples, "parley_errors_total", kind="http_4xx", code="not_authenticated") >= 5
    route = {"method": "GET", "route": "/metrics"}
    assert value(samples, "parley_http_request_duration_seconds_count", **route, status="401") >= 5
    assert {"parley_live_spaces", "parley_websockets", "parley_webrtc_sessions"} <= families
    assert value(samples, "parley_job_queue_depth") >= 0
    assert "process_cpu_seconds" in families


@pytest.mark.slow
@pytest.mark.parley_settings(metrics_token=TOKEN)
async def test_media_and_http_metrics_move_while_a_space_is_live(server: Running) -> None:
    host = await server.signup("host")
    listener = await server.signup("listener")
    space = await host.create_space("Measured")
    sid = space["id"]
    socket = await host.socket(sid)  # the host present: no grace period ends the space
    await socket.until_type("snapshot")
    speaker = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(440.0)))
    hearer = WebRtcClient(server.base_url, listener.token, sid, "whep")
    try:
        assert (await speaker.connect()).status_code == 201
        await listener.join(sid)
        assert (await hearer.connect()).status_code == 201
        await asyncio.wait_for(hearer.received.wait(), 15)
        await host.unmute_on_air(sid)
        before, _ = await scrape(server)
        await asyncio.sleep(3.0)
        await host.ok("GET", f"/api/spaces/{sid}")
        after, _ = await scrape(server)
    finally:
        await hearer.close()
        await speaker.close()
        await socket.close()

    def moved(name: str, **labels: str) -> tuple[float, float]:
        return total(before, name, **labels), total(after, name, **labels)

    # 3 s of 20 ms ticks: well over 100 more, each observed once.
    old, new = moved("parley_media_tick_lateness_seconds_count")
    assert new - old >= 100, (old, new)
    # 1 s segments.
    old, new = moved("parley_hls_segments_written_total")
    assert new - old >= 2, (old, new)
    assert moved("parley_hls_written_bytes_total")[1] > moved("parley_hls_written_bytes_total")[0]
    assert moved("parley_hls_encode_seconds_total")[1] > moved("parley_hls_encode_seconds_total")[0]
    old, new = moved("parley_opus_encoded_frames_total")
    assert new - old >= 100, (old, new)
    assert (
        moved("parley_opus_encode_seconds_total")[1] > moved("parley_opus_encode_seconds_total")[0]
    )
    # The speaker's packets are decoded as they arrive.
    old, new = moved("parley_opus_decoded_packets_total")
    assert new - old >= 100, (old, new)
    # The request between the scrapes, under its route's template, never its raw path.
    route = "/api/spaces/{space_id}"
    old, new = moved("parley_http_request_duration_seconds_count", route=route, status="200")
    assert new - old == 1, (old, new)
    routes = {dict(ls).get("route") for (n, ls) in after if n.startswith("parley_http_request")}
    assert not any(str(sid) in (r or "") for r in routes), routes
    # What is open now: the host's room socket, one session of each kind, the space.
    assert value(before, "parley_websockets", kind="room") == 1
    assert value(before, "parley_websockets", kind="visitor") == 0
    assert value(before, "parley_webrtc_sessions", kind="whip") == 1
    assert value(before, "parley_webrtc_sessions", kind="whep") == 1
    assert value(before, "parley_live_spaces", scope="node") == 1
    assert value(before, "parley_live_spaces", scope="store") == 1
    bus = server.app.state.services.bus.name
    assert total(after, "parley_bus_publish_duration_seconds_count", bus=bus) > 0
    if bus == "memory":  # Redis's lag is a probe every 5 s (tests/telemetry/test_metrics.py)
        assert total(after, "parley_bus_delivery_lag_seconds_count", bus=bus) > 0


def dashboard_metrics() -> set[str]:
    """The `parley_...` names the dashboard's panels query (histogram and counter series too)."""

    model: dict[str, Any] = json.loads(DASHBOARD.read_text())
    exprs: list[str] = []
    panels = list(model["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        exprs.extend(target["expr"] for target in panel.get("targets", []) if "expr" in target)
    assert exprs, "the dashboard queries nothing"
    exprs.extend(v["definition"] for v in model["templating"]["list"] if v["type"] == "query")
    return {name for expr in exprs for name in re.findall(r"\bparley_[a-z_]+", expr)}


@pytest.mark.parley_settings(metrics_token=TOKEN)
async def test_the_dashboard_queries_only_metrics_that_exist(server: Running) -> None:
    model = json.loads(DASHBOARD.read_text())
    assert model["schemaVersion"] >= 36
    variables = model["templating"]["list"]
    assert any(v["type"] == "datasource" and v["query"] == "prometheus" for v in variables)
    # An error and a request before: labelled series exist once something was counted.
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/api/nothing-here")).status_code == 404
    samples, _ = await scrape(server)
    exposed = {name for name, _ in samples}
    missing = sorted(dashboard_metrics() - exposed)
    assert missing == [], f"the dashboard queries metrics /metrics does not expose: {missing}"
    # And the other way round: every family of ours is on it (docs/operations.md says so).
    queried = dashboard_metrics()
    families = {re.sub(r"_(bucket|count|sum|total|created)$", "", name) for name in exposed}
    left_out = sorted(
        family
        for family in families
        if family.startswith("parley_")
        and not any(name == family or name.startswith(family + "_") for name in queried)
    )
    assert left_out == [], f"metrics the dashboard does not show: {left_out}"
