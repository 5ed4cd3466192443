"""The metrics' plumbing: one process, several apps, each with its own gauges; the bus's lag."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.bus.memory import MemoryBus
from parley.bus.redis import RedisBus
from parley.telemetry.metrics import (
    REGISTRY,
    NodeCollector,
    NodeGauges,
    Tally,
    app_registry,
    exposition,
)
from support import BUS_NAMESPACE, REDIS_URL, require_redis


def _values(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


@pytest.mark.unit
def test_two_apps_in_one_process_each_expose_their_own_gauges_and_the_shared_metrics() -> None:
    first, second = NodeCollector(), NodeCollector()
    first.gauges = NodeGauges(live_spaces_node=2, sockets={"room": 5}, job_queue_depth=7)
    second.gauges = NodeGauges(live_spaces_node=1, sessions={"whep": 3})
    # Made twice, a metric object would raise: two apps' registries must not.
    a, b = _values(exposition(app_registry(first))), _values(exposition(app_registry(second)))
    assert a[("parley_live_spaces", (("scope", "node"),))] == 2
    assert b[("parley_live_spaces", (("scope", "node"),))] == 1
    assert a[("parley_websockets", (("kind", "room"),))] == 5
    assert b[("parley_websockets", (("kind", "room"),))] == 0
    assert b[("parley_webrtc_sessions", (("kind", "whep"),))] == 3
    assert a[("parley_job_queue_depth", ())] == 7
    # Captions read zero until a space of the app has had them.
    assert a[("parley_caption_backlog_seconds", ())] == 0
    # The process-wide ones are in both.
    for values in (a, b):
        assert ("parley_opus_encode_seconds_total", ()) in values
        assert ("process_cpu_seconds_total", ()) in values
    # Ours are not in prometheus_client's default registry (another library's app may use it).
    from prometheus_client import REGISTRY as DEFAULT

    assert DEFAULT is not REGISTRY
    assert not any(family.name.startswith("parley_") for family in DEFAULT.collect()), (
        "parley's metrics leaked into the default registry"
    )


@pytest.mark.unit
def test_a_tally_sums_seconds_and_counts() -> None:
    tally = Tally()
    for seconds in (0.25, 0.5, 0.125):
        tally.add(seconds)
    assert (tally.seconds, tally.count) == (0.875, 3)


def _lag_count(bus: str) -> float:
    values = _values(exposition(REGISTRY))
    return values.get(("parley_bus_delivery_lag_seconds_count", (("bus", bus),)), 0.0)


@pytest.mark.integration
async def test_the_memory_bus_measures_each_delivery() -> None:
    bus = MemoryBus()
    await bus.start()
    got: list[str] = []
    await bus.subscribe("c", lambda _channel, message: got.append(message))
    before = _lag_count("memory")
    for n in range(3):
        await bus.publish("c", str(n))
    await asyncio.sleep(0.01)
    assert got == ["0", "1", "2"]
    assert _lag_count("memory") == before + 3
    await bus.stop()


@pytest.mark.integration
async def test_the_redis_bus_measures_its_lag_with_a_probe() -> None:
    require_redis()
    bus = RedisBus(REDIS_URL, BUS_NAMESPACE, probe_interval_s=0.05)
    before = _lag_count("redis")
    await bus.start()
    try:
        # A probe goes out after each interval and comes back through the reader.
        for _ in range(100):
            if _lag_count("redis") >= before + 2:
                break
            await asyncio.sleep(0.02)
        assert _lag_count("redis") >= before + 2
        values = _values(exposition(REGISTRY))
        # Under a second on a local Redis (the probe is not mistaken for a message either).
        assert (
            values[("parley_bus_delivery_lag_seconds_bucket", (("bus", "redis"), ("le", "1.0")))]
            >= 1
        )
    finally:
        await bus.stop()
