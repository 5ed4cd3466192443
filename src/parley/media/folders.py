"""Where a space's media lives in the media store, by what may be done with it.

    {media}/live/{space}/       the HLS being written while the space is live
    {media}/recording/{space}/  the same files once it ended, with recording.m4a (the host's)
    {media}/replay/{space}      a link to the recording while its replay is published
    {media}/clips/{space}/      clips, one .m4a each

The first three are also the scopes of the signed HLS links (media/urls.py), and nginx serves each
scope from its folder (docs/deploy.md). So a listener's live link stops reaching the space's
segments when the space ends (they moved), and a replay link reaches them only while the replay is
published (the link exists), without nginx knowing anything of the space.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

Scope = Literal["live", "recording", "replay"]
SCOPES: tuple[Scope, ...] = ("live", "recording", "replay")


def write_atomically(path: Path, data: bytes | str) -> None:
    """Replaces `path` whole: a reader (or a crash) sees the old file or the new, never a part."""
    temporary = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        temporary.write_text(data)
    else:
        temporary.write_bytes(data)
    temporary.replace(path)


class MediaFolders:
    def __init__(self, root: Path) -> None:
        self.root = root

    def of(self, scope: Scope, space_id: int) -> Path:
        return self.root / scope / str(space_id)

    def live(self, space_id: int) -> Path:
        return self.of("live", space_id)

    def recording(self, space_id: int) -> Path:
        return self.of("recording", space_id)

    def clips(self, space_id: int) -> Path:
        return self.root / "clips" / str(space_id)

    def current(self, space_id: int) -> Path:
        """Where the space's segments are now: still in the live folder, or archived."""
        live = self.live(space_id)
        return live if live.is_dir() else self.recording(space_id)

    def archive(self, space_id: int) -> Path:
        """Moves an ended space's segments out of the live scope (one rename: a crash leaves them
        in one place or the other, and `current` finds them in either)."""
        live, recording = self.live(space_id), self.recording(space_id)
        if live.is_dir():
            recording.parent.mkdir(parents=True, exist_ok=True)
            if recording.exists():
                shutil.rmtree(recording)
            live.rename(recording)
        return recording

    def publish(self, space_id: int, published: bool) -> None:
        """The replay scope reaches the recording only while the replay is published."""
        link = self.of("replay", space_id)
        if published:
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                os.symlink(os.path.join("..", "recording", str(space_id)), link)
        elif link.is_symlink():
            link.unlink()

    def remove(self, space_id: int) -> None:
        """Everything of the space: its HLS, recording, replay link and clips."""
        self.publish(space_id, False)
        for folder in (self.live(space_id), self.recording(space_id), self.clips(space_id)):
            shutil.rmtree(folder, ignore_errors=True)
