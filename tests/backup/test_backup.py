"""`parley backup` and `parley restore` (docs/operations.md): a backup taken while the server
runs, restored into a fresh data folder and database, plays its recording, replay and clip, keeps
the links handed out before it and lets its users sign in; a damaged backup, a newer one and a
used target are refused."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from media_support import tone_level
from parley.backup import manifest as backup
from parley.cli import cli
from support import PASSWORD, Client, Running, run_parley
from webrtc_client import GeneratedTrack, WebRtcClient, tone

HZ = 440.0
HEARD = 0.05


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    """The environment of `parley` run for the instance in `data_dir` (nothing inherited that
    names another one)."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PARLEY_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return {**kept, "PARLEY_DATA_DIR": str(data_dir), "DATABASE_URL": database_url}


async def _parley(env: dict[str, str], *args: str) -> tuple[int, str]:
    """`parley ARGS` as the operator runs it: exit code, and its output and errors together."""
    code, out, err = await run_parley(env, *args)
    return code, out + err


def _decode(data: bytes, container_format: str | None = None) -> np.ndarray:
    """Audio (AAC in MP4 or MPEG-TS) as int16-scaled mono samples at 48 kHz."""
    with av.open(io.BytesIO(data), "r", format=container_format) as container:
        samples = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    return np.concatenate(samples).astype(np.float64) * 32767


def _loudest_tone(audio: np.ndarray) -> float:
    """The tone's level in the 1 s window where it is strongest."""
    windows = range(0, max(1, audio.size - 48000), 24000)
    return max(tone_level(audio[start : start + 48000], HZ) for start in windows)


async def _until_complete(host: Client, sid: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await host.get(f"/api/spaces/{sid}/recording")
        if response.status_code == 200 and response.json()["recording"]["state"] == "complete":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the recording was not completed")


async def _replay_audio(client: Client, playlist_url: str) -> tuple[bytes, np.ndarray]:
    """Every segment of a replay's VOD playlist, fetched as a player does: (bytes, audio)."""
    listed = await client.get(playlist_url)
    assert listed.status_code == 200, listed.text
    assert listed.text.rstrip().endswith("#EXT-X-ENDLIST")
    folder = playlist_url.rsplit("/", 1)[0]
    names = [line for line in listed.text.splitlines() if line and not line.startswith("#")]
    assert names
    parts = []
    for name in names:
        segment = await client.get(f"{folder}/{name}")
        assert segment.status_code == 200, name
        parts.append(segment.content)
    data = b"".join(parts)
    return data, _decode(data, "mpegts")


async def _new_pg_database() -> str:
    from conftest import _pg_admin, pg_database_url

    name = f"parley_restore_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url: str = pg_database_url(name)
    return url


async def _drop_pg_database(url: str) -> None:
    from conftest import _pg_admin

    await _pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.mark.integration
@pytest.mark.slow
async def test_a_backup_taken_while_serving_restores_into_a_fresh_instance(
    server: Running, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from conftest import run_server
    from support import TestClock

    settings = server.app.state.services.settings
    host = await server.signup("host")
    guest = await server.signup("guest")
    sid = (await host.create_space("Kept"))["id"]
    presence = await host.socket(sid)  # the host present: no grace period ends the space
    await presence.until_type("snapshot")
    speaker = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(HZ)))
    try:
        assert (await speaker.connect()).status_code == 201
        await host.unmute_on_air(sid)
        await asyncio.sleep(3.0)
    finally:
        await speaker.close()
        await presence.close()
    await host.ok("POST", f"/api/spaces/{sid}/end")
    await _until_complete(host, sid)
    await host.ok("POST", f"/api/spaces/{sid}/replay")
    # What was handed out before the backup: the guest's replay link and clip.
    replay = (await guest.ok("GET", f"/api/spaces/{sid}/replay"))["replay"]
    clip = (
        await guest.ok(
            "POST", f"/api/spaces/{sid}/clips", json={"start_s": 0.5, "duration_s": 2.5}, status=201
        )
    )["clip"]
    recording = (await host.get(f"/api/spaces/{sid}/recording.m4a")).content
    replay_bytes, _ = await _replay_audio(guest, replay["playlist_url"])
    clip_bytes = (await guest.get(clip["audio_url"])).content
    # A second space live while the backup is taken: its HLS is being written meanwhile.
    live_sid = (await guest.create_space("Still live"))["id"]
    live_presence = await guest.socket(live_sid)
    await live_presence.until_type("snapshot")

    kept = tmp_path_factory.mktemp("backup") / "parley.tar"
    try:
        code, out = await _parley(
            _env(settings.data_dir, settings.database_url), "backup", str(kept)
        )
    finally:
        await live_presence.close()
    assert code == 0, out
    assert "backed up" in out and "1 links" in out
    assert kept.stat().st_mode & 0o777 == 0o600  # it holds the secrets

    # A fresh instance: a new data folder and a new, empty database of the same kind.
    restored_dir = tmp_path_factory.mktemp("restored") / "data"
    if backup.backend_of(settings.resolved_database_url) == "postgresql":
        restored_url = await _new_pg_database()
    else:
        restored_url = f"sqlite+aiosqlite:///{restored_dir / 'parley.db'}"
    try:
        code, out = await _parley(_env(restored_dir, restored_url), "restore", str(kept))
        assert code == 0, out
        assert "restored" in out
        assert (restored_dir / "media" / "replay" / str(sid)).is_symlink()
        assert os.readlink(restored_dir / "media" / "replay" / str(sid)) == f"../recording/{sid}"
        async with run_server(restored_dir, restored_url, "", {}, TestClock()) as running:
            # The users sign in with their passwords, and their API tokens still work.
            async with running.browser() as browser:
                signin = await browser.post(
                    "/api/auth/signin", json={"handle": "host", "password": PASSWORD}
                )
                assert signin.status_code == 200, signin.text
            host_b = Client(running, host.user, host.token)
            guest_b = Client(running, guest.user, guest.token)
            # The recording downloads whole, the tone in it.
            download = await host_b.get(f"/api/spaces/{sid}/recording.m4a")
            assert download.status_code == 200
            assert hashlib.sha256(download.content).digest() == hashlib.sha256(recording).digest()
            assert _loudest_tone(_decode(download.content)) > HEARD
            # The replay link handed out before the backup plays (the URL secret came along).
            data, audio = await _replay_audio(guest_b, replay["playlist_url"])
            assert data == replay_bytes
            assert _loudest_tone(audio) > HEARD
            clip_now = await guest_b.get(clip["audio_url"])
            assert clip_now.status_code == 200 and clip_now.content == clip_bytes
            assert _loudest_tone(_decode(clip_now.content)) > HEARD
            # The replay is still published, and unpublishing it still takes the link down.
            await host_b.ok("DELETE", f"/api/spaces/{sid}/replay")
            assert (await guest_b.get(replay["playlist_url"])).status_code == 404
    finally:
        if restored_url.startswith("postgresql"):
            await _drop_pg_database(restored_url)


def _instance(root: Path, sqlite_template: Path) -> tuple[Path, dict[str, str]]:
    """A stopped instance's data folder: a migrated database, a recording and its replay link,
    the URL secret. Its folder and `parley`'s environment for it."""
    data = root / "data"
    recording = data / "media" / "recording" / "1"
    recording.mkdir(parents=True)
    shutil.copy(sqlite_template, data / "parley.db")
    (recording / "seg-000001.m4s").write_bytes(b"\x00" * 1000)
    (data / "media" / "replay").mkdir()
    os.symlink("../recording/1", data / "media" / "replay" / "1")
    (data / "media-url-secret").write_text("secret")
    return data, _env(data, "")


@pytest.mark.integration
def test_a_damaged_or_newer_backup_and_a_used_target_are_refused(
    tmp_path: Path, sqlite_template: Path
) -> None:
    runner = CliRunner()
    data, env = _instance(tmp_path / "source", sqlite_template)
    made = tmp_path / "backup"
    done = runner.invoke(cli, ["backup", str(made)], env=env)
    assert done.exit_code == 0, done.output
    # As private as the data folder: the folder, every file, the manifest.
    assert made.stat().st_mode & 0o777 == 0o700
    assert (made / "manifest.json").stat().st_mode & 0o777 == 0o600
    assert (made / "database.sqlite3").stat().st_mode & 0o777 == 0o600
    # The secret moved into the environment (several nodes): the file left behind is not the
    # one in use, and the operator is told to keep the environment's with the backup.
    moved = tmp_path / "moved"
    done = runner.invoke(
        cli, ["backup", str(moved)], env={**env, "PARLEY_MEDIA_URL_SECRET": "from-the-env"}
    )
    assert done.exit_code == 0, done.output
    assert "PARLEY_MEDIA_URL_SECRET is set in the environment" in done.output
    listed = json.loads((moved / "manifest.json").read_text())
    assert listed["secrets_from_environment"] == ["PARLEY_MEDIA_URL_SECRET"]
    # Not into a folder that is not empty: it would mix two instances.
    done = runner.invoke(cli, ["backup", str(made)], env=env)
    assert done.exit_code == 1 and "is not empty" in done.output
    # Without the media folder (copied apart): the database and the secrets all the same.
    lean = tmp_path / "lean"
    done = runner.invoke(cli, ["backup", "--no-media", str(lean)], env=env)
    assert done.exit_code == 0, done.output
    listed = json.loads((lean / "manifest.json").read_text())
    assert listed["media_included"] is False and listed["links"] == []
    assert [f["path"] for f in listed["files"]] == ["database.sqlite3", "data/media-url-secret"]
    done = runner.invoke(cli, ["restore", str(lean)], env=_env(tmp_path / "lean-data", ""))
    assert done.exit_code == 0 and "copy the media folder back into" in done.output
    assert str(tmp_path / "lean-data" / "media") in done.output
    # A backup that fails leaves no half-made .tar behind.
    nothing = tmp_path / "nothing.tar"
    done = runner.invoke(cli, ["backup", str(nothing)], env=_env(tmp_path / "no-data", ""))
    assert done.exit_code == 1 and "parley.db does not exist" in done.output
    assert not nothing.exists()

    # A used data folder is left alone unless --force.
    used = tmp_path / "used"
    used.mkdir()
    (used / "parley.db").write_bytes(b"old")
    done = runner.invoke(cli, ["restore", str(made)], env=_env(used, ""))
    assert done.exit_code == 1
    assert "is not empty" in done.output and "--force" in done.output
    assert (used / "parley.db").read_bytes() == b"old"
    done = runner.invoke(cli, ["restore", "--force", str(made)], env=_env(used, ""))
    assert done.exit_code == 0, done.output
    assert (used / "media-url-secret").read_text() == "secret"
    assert (used / "parley.db").read_bytes() != b"old"

    # One byte changed in the backup: named, and nothing is written.
    segment = made / "data" / "media" / "recording" / "1" / "seg-000001.m4s"
    segment.write_bytes(b"\x00" * 999 + b"\x01")
    fresh = tmp_path / "fresh"
    for args in (["restore", "--check", str(made)], ["restore", str(made)]):
        done = runner.invoke(cli, args, env=_env(fresh, ""))
        assert done.exit_code == 1
        assert "data/media/recording/1/seg-000001.m4s does not match" in done.output
        assert "sha256" in done.output
    assert not fresh.exists()
    segment.write_bytes(b"\x00" * 1000)
    done = runner.invoke(cli, ["restore", "--check", str(made)], env=_env(fresh, ""))
    assert done.exit_code == 0 and done.output.startswith("checked sqlite"), done.output

    # A backup from a newer Parley (a schema revision unknown here) is refused.
    manifest = json.loads((made / "manifest.json").read_text())
    (made / "manifest.json").write_text(json.dumps({**manifest, "alembic_revision": "9999"}))
    done = runner.invoke(cli, ["restore", str(made)], env=_env(fresh, ""))
    assert done.exit_code == 1 and "revision 9999, unknown to this Parley" in done.output
    # And one whose link leads out of the data folder.
    links = [{"path": "data/media/replay/1", "target": "../../../../etc"}]
    (made / "manifest.json").write_text(json.dumps({**manifest, "links": links}))
    done = runner.invoke(cli, ["restore", str(made)], env=_env(fresh, ""))
    assert done.exit_code == 1 and "leaves the data folder" in done.output
    assert not fresh.exists()


@pytest.mark.unit
def test_a_database_url_becomes_a_libpq_url_without_its_password() -> None:
    assert backup.libpq_url("postgresql+asyncpg://parley:p%40ss@db.example:5433/parley") == (
        "postgresql://parley@db.example:5433/parley",
        "p@ss",
    )
    assert backup.libpq_url(
        "postgresql+asyncpg://u@[::1]/x?ssl=require&prepared_statement_cache_size=0"
    ) == ("postgresql://u@[::1]/x?sslmode=require", None)
    # A Unix socket named in the query, as libpq takes it.
    assert backup.libpq_url("postgresql+asyncpg:///parley?host=/run/postgresql") == (
        "postgresql:///parley?host=%2Frun%2Fpostgresql",
        None,
    )
    with pytest.raises(backup.BackupError):
        backup.libpq_url("sqlite+aiosqlite:///x.db")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("link", "target", "inside"),
    [
        ("data/media/replay/7", "../recording/7", True),
        ("data/media/replay/7", "/etc", False),
        ("data/media/replay/7", "../../../x", False),
        ("data/x", "..", False),
    ],
)
def test_links_stay_inside_the_data_folder(link: str, target: str, inside: bool) -> None:
    if inside:
        assert backup.check_link_target(link, target) == target
    else:
        with pytest.raises(backup.BackupError):
            backup.check_link_target(link, target)


@pytest.mark.unit
@pytest.mark.parametrize(
    "path", ["../x", "/data/x", "data/../../x", "other/x", "data//x", "data/./x", ""]
)
def test_a_manifest_names_only_paths_inside_a_backup(path: str) -> None:
    with pytest.raises(backup.BackupError):
        backup.check_member_path(path)
    assert backup.check_member_path("data/media/recording/1/seg-000001.m4s")
    assert backup.check_member_path("database.pgdump")
