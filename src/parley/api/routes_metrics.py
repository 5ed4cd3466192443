"""GET /metrics: the node's Prometheus metrics (docs/operations.md), for the bearer of
PARLEY_METRICS_TOKEN only; without that setting the route answers 404, as if absent.

The app's gauges are read here, at scrape time, from what the app already keeps (its sockets,
WebRTC sessions, spaces, job queue, captions): nothing is counted on their hot paths for them.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy import select

from parley.api.errors import error_body
from parley.domain.errors import NotAuthenticated
from parley.domain.space import SpaceState
from parley.store.models import Space
from parley.telemetry.metrics import (
    CONTENT_TYPE,
    NodeCollector,
    NodeGauges,
    app_registry,
    count_error,
    exposition,
)

router = APIRouter()


class AppMetrics:
    """One app's collector and the registry /metrics exposes (the process's metrics and it)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.collector = NodeCollector()
        self.registry = app_registry(self.collector)


def _authorized(sent: str | None, token: str) -> bool:
    scheme, _, value = (sent or "").partition(" ")
    # Compared in constant time: how much of a guess matched must not show in the answer's time.
    return scheme.lower() == "bearer" and secrets.compare_digest(
        value.strip().encode(), token.encode()
    )


async def read_gauges(request: Request) -> NodeGauges:
    """The app's figures now (the store's live spaces and the job queue are each one query)."""
    state = request.app.state
    gauges = NodeGauges()
    services = getattr(state, "services", None)
    media = getattr(state, "media", None)
    if services is not None:
        async with services.store.read() as session:
            live = list(
                (
                    await session.scalars(
                        select(Space.id).where(Space.state == SpaceState.LIVE.value)
                    )
                ).all()
            )
        gauges.live_spaces_store = len(live)
        if media is not None:
            gauges.live_spaces_node = sum(
                1 for space_id in live if media.engine.ticks_of(space_id) is not None
            )
    room = getattr(state, "room", None)
    if room is not None:
        clients = room.hub.all_clients()
        visitors = sum(1 for client in clients if client.user_id is None)
        gauges.sockets["room"] = len(clients) - visitors
        gauges.sockets["visitor"] = visitors
    feed = getattr(state, "feed", None)
    gauges.sockets["feed"] = len(feed) if feed is not None else 0
    inbox = getattr(state, "inbox", None)
    gauges.sockets["user"] = len(inbox) if inbox is not None else 0
    if media is not None:
        for session in media.engine.sessions():
            gauges.sessions[session.kind] = gauges.sessions.get(session.kind, 0) + 1
        stats = media.captions.stats()
        if stats is not None:
            gauges.captions = stats
    jobs = getattr(state, "jobs", None)
    if jobs is not None:
        gauges.job_queue_depth = await jobs.pending()
    return gauges


@router.get("/metrics", include_in_schema=False)
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    app_metrics: AppMetrics = request.app.state.metrics
    if not app_metrics.token:
        raise HTTPException(404, "Not Found")
    if not _authorized(authorization, app_metrics.token):
        # RFC 6750 s3: a 401 names the scheme it wants (so answered here, counted as the
        # error handler counts the others).
        count_error("http_4xx", NotAuthenticated.code)
        return JSONResponse(
            error_body(
                NotAuthenticated.code,
                "GET /metrics needs 'Authorization: Bearer <PARLEY_METRICS_TOKEN>'",
            ),
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    app_metrics.collector.gauges = await read_gauges(request)
    return Response(exposition(app_metrics.registry), media_type=CONTENT_TYPE)
