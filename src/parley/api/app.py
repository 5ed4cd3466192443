"""Assembles the ASGI app: routes, error handlers and a lifespan that starts and stops, in order,
the store, the bus, the room runtime and the media."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI

from parley import __version__
from parley.actions import accounts as account_actions
from parley.actions import captions as caption_actions
from parley.actions import deliver, fanout, notify, presence, schedule
from parley.actions.base import Clock, Services, utc_now
from parley.api import (
    errors,
    pages,
    routes_accounts,
    routes_admin,
    routes_analytics,
    routes_avatars,
    routes_captions,
    routes_discovery,
    routes_media,
    routes_messages,
    routes_metrics,
    routes_notifications,
    routes_recordings,
    routes_reports,
    routes_schedule,
    routes_sharing,
    routes_spaces,
    static,
    ws,
)
from parley.api import feed as feed_routes
from parley.api.auth import ServicesDep
from parley.api.body_limit import BodyLimit
from parley.api.cors import MediaCors
from parley.api.headers import SecurityHeaders
from parley.api.schemas import CaptionsHealth, Health, MediaHealth, StoreHealth
from parley.bus import create_bus
from parley.config import Settings
from parley.delivery.mail import Mailer, SmtpSettings
from parley.delivery.push import PushSender, load_or_make_key, public_key_b64url
from parley.domain import schedule as schedule_rules
from parley.jobs import Jobs
from parley.media import internals, urls
from parley.room.access import AccessWatcher
from parley.room.feed import SpaceFeed
from parley.room.inbox import UserInbox
from parley.room.media import MediaRuntime
from parley.room.runtime import RoomRuntime
from parley.store.db import Store
from parley.telemetry.http import RequestTelemetry, note_path_params


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_data_dir()
        settings.ensure_media_url_secret()
        caption_actions.check_settings(settings)
        # Each part is stopped, in the reverse order, if it started: also when a later one fails
        # to start or an earlier stop raises.
        async with AsyncExitStack() as started:
            store = Store(settings.resolved_database_url)
            started.push_async_callback(store.close)
            bus = create_bus(settings.redis_url, settings.bus_namespace)
            await bus.start()
            started.push_async_callback(bus.stop)
            services = Services.build(settings, store, bus, clock)
            vapid = load_or_make_key(
                settings.vapid_private_key, settings.data_dir / "vapid-private.pem"
            )
            app.state.vapid_public_key = public_key_b64url(vapid)
            services.push = PushSender(vapid, settings.resolved_vapid_subject)
            started.push_async_callback(services.push.close)
            if settings.smtp_host:
                services.mailer = Mailer(
                    SmtpSettings(
                        host=settings.smtp_host,
                        port=settings.smtp_port,
                        username=settings.smtp_username,
                        password=settings.smtp_password,
                        starttls=settings.smtp_starttls,
                        sender=settings.mail_from,
                    )
                )
            jobs = Jobs(settings)
            _register_jobs(jobs, services)
            services.jobs = jobs
            app.state.jobs = jobs
            # Fan-outs a stop or a crash cut short go on now, not at the next minute's sweep
            # (the only node: before its workers start, their claims are void).
            await fanout.sweep_fanouts(services, only_node_starting=not settings.redis_url)
            jobs.start(settings.job_workers)
            started.push_async_callback(jobs.stop)
            runtime = RoomRuntime(services)
            services.room = runtime
            app.state.services = services
            app.state.room = runtime
            runtime.start()
            started.push_async_callback(runtime.stop)
            feed = SpaceFeed(
                bus,
                max_sockets=settings.feed_max_sockets,
                per_address=settings.feed_sockets_per_address,
            )
            await feed.start()
            started.push_async_callback(feed.stop)
            app.state.feed = feed
            # This node has no visitors yet, whatever a crash left counted under its name.
            await runtime.visitors.forget()
            if not settings.redis_url:
                # The only node: counts of connections a crash left behind are void.
                for space_id in await presence.forget_presence(services):
                    runtime.presence_changed(space_id)
            else:
                # Those this node counted before it stopped (under the same name) are void; the
                # other nodes' are theirs until their leases run out.
                node = settings.resolved_node_name
                for space_id in await presence.expire_connections(services, node=node):
                    runtime.presence_changed(space_id)
            media = MediaRuntime(services)
            app.state.media = media
            started.push_async_callback(media.stop)
            await media.start()
            inbox = UserInbox(
                bus,
                max_sockets=settings.feed_max_sockets,
                per_user=settings.room_sockets_per_user,
            )
            await inbox.start()
            started.push_async_callback(inbox.stop)
            app.state.inbox = inbox
            access = AccessWatcher(bus, runtime.hub, media, inbox)
            await access.start()
            started.push_async_callback(access.stop)
            # What start-up made lives as long as the process: keep it out of the collector's
            # full passes, which otherwise pause every thread (the media clock's too).
            gc.freeze()
            yield

    app = FastAPI(
        title="Parley",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url=None,  # served from our own files (api/static.py)
        redoc_url=None,
        # Each request's space (its `space_id` path parameter) in its log lines.
        dependencies=[Depends(note_path_params)],
    )
    errors.install(app)
    # GET /metrics (docs/operations.md): the process's metrics and this app's gauges.
    app.state.metrics = routes_metrics.AppMetrics(settings.metrics_token)
    # Whether a live link's holder may still listen, kept a moment (api/routes_recordings.py).
    app.state.hls_holders = urls.RecentChecks[bool](settings.hls_holder_check_s)
    # Sign-in and sign-up counts of this node (actions/accounts.py, domain/signin_limits.py).
    app.state.signin_limiter = account_actions.NodeSigninLimiter(settings, clock)
    # Inside MediaCors, so that a 413 to another origin's WHIP client is readable by it.
    app.add_middleware(BodyLimit, limit_bytes=settings.max_request_body_bytes)
    app.add_middleware(
        MediaCors, allowed_origins=settings.cors_origins, public_url=settings.public_url
    )
    app.add_middleware(SecurityHeaders, public_url=settings.public_url)
    # Outermost: every request gets its id and its latency counted, whatever answers it.
    app.add_middleware(RequestTelemetry)

    @app.get("/api/health", tags=["meta"])
    async def health(services: ServicesDep) -> Health:
        unavailable = internals.missing()
        media: MediaRuntime | None = getattr(app.state, "media", None)
        stats = media.captions.stats() if media is not None else None
        return Health(
            captions=CaptionsHealth(
                engine=stats.engine,
                spaces=stats.spaces,
                backlog_s=stats.backlog_s,
                queued_finals=stats.queued_finals,
                queued_partials=stats.queued_partials,
                finals=stats.finals,
                partials=stats.partials,
                dropped_partials=stats.dropped_partials,
            )
            if stats is not None
            else None,
            status="degraded" if unavailable else "ok",
            version=__version__,
            store=StoreHealth(
                backend=services.store.backend, version=await services.store.server_version()
            ),
            bus=StoreHealth(backend=services.bus.name, version=await services.bus.version()),
            media=MediaHealth(versions=internals.versions(), unavailable=unavailable),
        )

    app.include_router(routes_metrics.router)
    app.include_router(routes_accounts.router)
    app.include_router(routes_avatars.router)
    # Before the spaces' routes: `/me/captions` is not one of their `/me/{verb}`.
    app.include_router(routes_captions.router)
    # Before the spaces' routes too (its paths are more specific than theirs).
    app.include_router(routes_schedule.router)
    app.include_router(routes_analytics.router)
    app.include_router(routes_spaces.router)
    app.include_router(routes_discovery.router)
    app.include_router(routes_media.router)
    app.include_router(routes_recordings.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_notifications.router)
    app.include_router(routes_sharing.router)
    app.include_router(routes_messages.router)
    app.include_router(ws.router)
    app.include_router(feed_routes.router)
    app.include_router(pages.router)
    static.mount(app)
    return app


def _register_jobs(jobs: Jobs, services: Services) -> None:
    """The node's background jobs (actions/fanout.py, deliver.py, schedule.py, notify.py)."""

    async def run_fanout(fanout_id: int) -> None:
        await fanout.run_fanout(services, fanout_id)

    async def push(notification_ids: list[int]) -> None:
        await deliver.send_pushes(services, notification_ids)

    async def confirm_email(user_id: int, address: str) -> None:
        await deliver.send_confirmation(services, user_id, address)

    async def every_minute() -> None:
        await fanout.sweep_fanouts(services)
        await deliver.send_emails(services)

    async def host_start(space_id: int, starts_at: str) -> None:
        await schedule.host_start(services, space_id, starts_at)

    jobs.register(fanout.FANOUT_JOB, run_fanout)
    jobs.register(schedule_rules.HOST_START_JOB, host_start)
    jobs.register(notify.PUSH_JOB, push, retries=0)
    jobs.register(deliver.CONFIRM_JOB, confirm_email)

    async def hourly() -> None:
        await notify.forget_old(services)

    jobs.every("notify.every_minute", every_minute)
    jobs.every("notify.hourly", hourly, minute="17")
