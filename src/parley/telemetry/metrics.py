"""The node's Prometheus metrics (docs/operations.md lists them).

Process-wide counters and histograms live in `REGISTRY`, ours rather than prometheus_client's
global default one: several apps may run in one process (the tests), and a metric object made
twice raises. What belongs to one app (its sockets, sessions, spaces, queues) is read at scrape
time by a `NodeCollector` that app registers in a registry of its own (`app_registry`), so
counting costs its hot paths nothing.

Hot paths: the media clock observes one histogram per tick; per-packet and per-frame work only
adds to a `Tally` (a plain sum read at scrape time, no lock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The text exposition format generate_latest writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No `_created` series beside each counter and histogram: they double what Prometheus stores and
# no query here uses them (the library's switch is process-wide; this process is Parley's).
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Latency buckets from a fast JSON answer to a slow WHIP offer (ICE gathering).
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A tick is due every 20 ms: lateness under 5 ms is inaudible (the input queues' cushion is one
# 20 ms block), past 20 ms a tick is being skipped.
_TICK_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.5, 1.0)
_BUS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

HTTP_REQUEST_SECONDS = Histogram(
    "parley_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template.",
    ["method", "route", "status"],
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "parley_errors",
    "Errors by kind (http_4xx and http_5xx by error code, unhandled, media_tick, hls_writer, "
    "job by job name, bus_handler, room_loop by loop name).",
    ["kind", "code"],
    registry=REGISTRY,
)
TICK_LATENESS_SECONDS = Histogram(
    "parley_media_tick_lateness_seconds",
    "How late each 20 ms media clock tick started against its schedule.",
    buckets=_TICK_BUCKETS,
    registry=REGISTRY,
)
HLS_SEGMENTS = Counter(
    "parley_hls_segments_written",
    "HLS segments written (every live space's, this process).",
    registry=REGISTRY,
)
HLS_BYTES = Counter(
    "parley_hls_written_bytes",
    "Bytes of HLS segments written.",
    registry=REGISTRY,
)
HLS_ENCODE_SECONDS = Counter(
    "parley_hls_encode_seconds",
    "Time the HLS writers spent encoding AAC and muxing it (added once per segment).",
    registry=REGISTRY,
)
BUS_PUBLISH_SECONDS = Histogram(
    "parley_bus_publish_duration_seconds",
    "Time a publish on the event bus took (Redis: a round trip to the server).",
    ["bus"],
    buckets=_BUS_BUCKETS,
    registry=REGISTRY,
)
BUS_DELIVERY_LAG_SECONDS = Histogram(
    "parley_bus_delivery_lag_seconds",
    "Time from a publish to its handlers running on this node (memory: every message; "
    "Redis: a probe message every few seconds on the node's own channel).",
    ["bus"],
    buckets=_BUS_BUCKETS,
    registry=REGISTRY,
)


class Tally:
    """Seconds spent on a piece of hot work and how many times it ran: a plain sum with no lock,
    read at scrape time. Meant for one writing thread (the media clock's, the media loop's);
    a second writer may lose a rare addition, never corrupt the sum."""

    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.count += 1


OPUS_ENCODE = Tally()  # media/space.py, on the media clock's thread
OPUS_DECODE = Tally()  # media/opus.py, on the media loop (each received packet)


class _TallyCollector:
    def collect(self) -> Iterator[Metric]:
        for name, tally, unit, doing, done in (
            (
                "parley_opus_encode",
                OPUS_ENCODE,
                "frames",
                "Time spent encoding Opus (listener and stage mixes).",
                "Opus frames encoded.",
            ),
            (
                "parley_opus_decode",
                OPUS_DECODE,
                "packets",
                "Time spent decoding received Opus (the speakers' audio).",
                "Opus packets decoded.",
            ),
        ):
            yield CounterMetricFamily(f"{name}_seconds", doing, value=tally.seconds)
            yield CounterMetricFamily(f"{name}d_{unit}", done, value=tally.count)


REGISTRY.register(_TallyCollector())


def count_error(kind: str, code: str = "") -> None:
    ERRORS.labels(kind, code).inc()


# --- per app -------------------------------------------------------------------------------------
class CaptionFigures(Protocol):
    """The live captions' figures (captions/pipeline.py's `CaptionStats` is one)."""

    spaces: int
    backlog_s: float
    queued_finals: int
    queued_partials: int
    finals: int
    partials: int
    dropped_partials: int
    engine_busy_s: float


@dataclass
class _NoCaptions:
    """Zeros, while no space of the app has had captions."""

    spaces: int = 0
    backlog_s: float = 0.0
    queued_finals: int = 0
    queued_partials: int = 0
    finals: int = 0
    partials: int = 0
    dropped_partials: int = 0
    engine_busy_s: float = 0.0


@dataclass
class NodeGauges:
    """One app's figures at the time of a scrape (read by api/metrics.py)."""

    live_spaces_node: int = 0
    live_spaces_store: int = 0
    # Open WebSockets by kind: room (signed in), visitor (room, no account), feed, user.
    sockets: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("room", "visitor", "feed", "user"), 0)
    )
    # WebRTC sessions by kind: whip (publishing), whep (listening).
    sessions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("whip", "whep"), 0))
    job_queue_depth: int = 0
    captions: CaptionFigures = field(default_factory=_NoCaptions)


class NodeCollector:
    """An app's gauges, from the `NodeGauges` its scrape read just before."""

    def __init__(self) -> None:
        self.gauges = NodeGauges()

    def collect(self) -> Iterable[Metric]:
        g = self.gauges
        spaces = GaugeMetricFamily(
            "parley_live_spaces",
            "Live spaces: mixed on this node (node), live in the store (store: all nodes).",
            labels=["scope"],
        )
        spaces.add_metric(["node"], g.live_spaces_node)
        spaces.add_metric(["store"], g.live_spaces_store)
        yield spaces
        yield _by_kind("parley_websockets", "Open WebSockets on this node, by kind.", g.sockets)
        yield _by_kind(
            "parley_webrtc_sessions", "WebRTC sessions on this node, by kind.", g.sessions
        )
        yield GaugeMetricFamily(
            "parley_job_queue_depth", "Background jobs waiting in the queue.", g.job_queue_depth
        )
        c = g.captions
        yield GaugeMetricFamily(
            "parley_caption_spaces", "Spaces with live captions on this node.", c.spaces
        )
        yield GaugeMetricFamily(
            "parley_caption_backlog_seconds",
            "How far the captions are behind the speech: the oldest waiting line's age or the "
            "audio waiting for the speech engine, whichever is more.",
            c.backlog_s,
        )
        queued = GaugeMetricFamily(
            "parley_caption_queued_lines",
            "Caption lines waiting for the speech engine, by kind.",
            labels=["kind"],
        )
        queued.add_metric(["final"], c.queued_finals)
        queued.add_metric(["partial"], c.queued_partials)
        yield queued
        lines = CounterMetricFamily(
            "parley_caption_lines", "Caption lines made, by kind.", labels=["kind"]
        )
        lines.add_metric(["final"], c.finals)
        lines.add_metric(["partial"], c.partials)
        yield lines
        yield CounterMetricFamily(
            "parley_caption_dropped_partials",
            "Partial caption lines dropped because the speech engine fell behind.",
            value=c.dropped_partials,
        )
        yield CounterMetricFamily(
            "parley_caption_engine_busy_seconds",
            "Time the speech engine spent recognizing.",
            value=c.engine_busy_s,
        )


def _by_kind(name: str, documentation: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["kind"])
    for kind, value in sorted(values.items()):
        family.add_metric([kind], value)
    return family


class _Proxy:
    """Another registry's metrics, collected as one collector's (no names: no clash checks)."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self.collect = collect


def app_registry(collector: Collector) -> CollectorRegistry:
    """A registry of one app: the process-wide metrics and the app's own collector."""
    registry = CollectorRegistry()
    registry.register(_Proxy(REGISTRY.collect))
    registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in Prometheus' text format."""
    return generate_latest(registry)
