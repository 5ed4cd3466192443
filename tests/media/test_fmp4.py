"""Cutting the muxer's fragmented MP4 into the init segment and media segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_support import new_writer, push_ticks
from parley.media.fmp4 import Fmp4Splitter

pytestmark = pytest.mark.unit


def test_the_splitter_cuts_init_and_fragments_and_counts_samples(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    push_ticks(writer, 100)
    writer.finish()
    init = (tmp_path / "init-1.mp4").read_bytes()
    segment = (tmp_path / "seg-000001.m4s").read_bytes()
    splitter = Fmp4Splitter()
    stream = init + segment
    units = [
        unit for at in range(0, len(stream), 777) for unit in splitter.feed(stream[at : at + 777])
    ]
    assert [(kind, data) for kind, data, _ in units] == [("init", init), ("segment", segment)]
    assert units[1][2] == 47  # AAC frames of 1024 samples in the first second
    with pytest.raises(ValueError, match="bad MP4 box size"):
        Fmp4Splitter().feed(b"\0\0\0\3moof")
