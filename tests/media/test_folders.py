"""The media store's folders: a space's files move between scopes as it ends and is published."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.media.folders import MediaFolders

pytestmark = pytest.mark.unit


def test_an_ended_space_leaves_the_live_scope_and_its_replay_follows_publication(
    tmp_path: Path,
) -> None:
    folders = MediaFolders(tmp_path)
    live = folders.live(3)
    live.mkdir(parents=True)
    (live / "seg-000001.m4s").write_bytes(b"x")
    assert folders.current(3) == live

    archived = folders.archive(3)
    assert archived == folders.recording(3) == folders.current(3)
    assert not live.exists() and (archived / "seg-000001.m4s").read_bytes() == b"x"
    assert folders.archive(3) == archived  # again (a restart after a crash): nothing moves

    replay = folders.of("replay", 3)
    assert not (replay / "seg-000001.m4s").exists()
    folders.publish(3, True)
    folders.publish(3, True)
    assert (replay / "seg-000001.m4s").read_bytes() == b"x"
    folders.publish(3, False)
    assert not replay.exists() and archived.exists()

    folders.clips(3).mkdir(parents=True)
    folders.publish(3, True)
    folders.remove(3)
    assert not any(p.exists() or p.is_symlink() for p in (replay, archived, folders.clips(3)))
