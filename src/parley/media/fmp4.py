"""Fragmented MP4 (ISO/IEC 14496-12) cut at box boundaries: the init segment and one media segment
per fragment, as PyAV's MP4 muxer writes them with `empty_moov` and `frag_duration`."""

from __future__ import annotations


class Fmp4Splitter:
    """Cuts the muxer's fragmented-MP4 byte stream into the init segment (ftyp + moov) and media
    segments (moof + mdat), counting each fragment's samples from its `trun` box."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: list[bytes] = []
        self._samples = 0

    def feed(self, data: bytes) -> list[tuple[str, bytes, int]]:
        """Returns the whole units the data completed: ("init", bytes, 0) or
        ("segment", bytes, sample_count)."""
        self._buffer += data
        units: list[tuple[str, bytes, int]] = []
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[0:4], "big")
            kind = bytes(self._buffer[4:8])
            if size == 1 and len(self._buffer) >= 16:
                size = int.from_bytes(self._buffer[8:16], "big")
            if size < 8:
                raise ValueError(f"bad MP4 box size {size} for {kind!r}")
            if len(self._buffer) < size:
                break
            box = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._pending.append(box)
            if kind == b"moov":
                units.append(("init", b"".join(self._pending), 0))
                self._pending = []
            elif kind == b"moof":
                self._samples = trun_sample_count(box)
            elif kind == b"mdat":
                units.append(("segment", b"".join(self._pending), self._samples))
                self._pending, self._samples = [], 0
        return units


def _children(box: bytes, header: int = 8) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    at = header
    while at + 8 <= len(box):
        size = int.from_bytes(box[at : at + 4], "big")
        if size < 8:
            break
        found.setdefault(box[at + 4 : at + 8], box[at : at + size])
        at += size
    return found


def trun_sample_count(moof: bytes) -> int:
    """ISO/IEC 14496-12 s8.8.8: the track run's sample_count follows its version and flags."""
    traf = _children(moof).get(b"traf", b"")
    trun = _children(traf).get(b"trun", b"")
    if len(trun) < 16:
        return 0
    return int.from_bytes(trun[12:16], "big")
