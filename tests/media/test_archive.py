"""Reading a media folder back after a crash (the writer's output as the journal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_support import new_writer, push_ticks
from parley.media import archive, playlist

pytestmark = pytest.mark.unit


def test_playlists_of_a_crashed_space_are_closed_with_what_was_listed(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    push_ticks(writer, 160)
    segments = writer.finish()
    index = tmp_path / "index.m3u8"
    index.write_text(index.read_text().replace(playlist.ENDLIST, ""))
    assert archive.close_playlists(tmp_path, 3) == segments
    assert playlist.parse(index.read_text()) == (segments, True)
