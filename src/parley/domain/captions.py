"""Live captions' rules: languages, who may switch them, who reads and downloads a transcript,
which lines a clip carries. Pure."""

from __future__ import annotations

from collections.abc import Collection

from parley.domain.errors import Forbidden, Invalid
from parley.domain.stage import Role


def check_language(language: str, supported: Collection[str]) -> str:
    """An ISO 639-1 code the instance's speech engine transcribes."""
    code = language.strip().lower()
    if code not in supported:
        raise Invalid(
            "caption_language",
            "supported_language",
            f"{language!r} is not a language this server transcribes (ISO 639-1, e.g. 'en', 'fr')",
        )
    return code


def require_may_switch(role: Role | None) -> None:
    """The host and co-hosts turn captions on and off and set the language."""
    if role not in (Role.HOST, Role.COHOST):
        raise Forbidden("only the host or a co-host may change the captions")


def may_download(viewer_id: int | None, *, host_id: int, speakers: Collection[int]) -> bool:
    """The host and everyone who spoke (a line of theirs is in the transcript) download it."""
    return viewer_id is not None and (viewer_id == host_id or viewer_id in speakers)


def require_may_read(
    viewer_id: int | None,
    *,
    host_id: int,
    speakers: Collection[int],
    moderators: Collection[int],
    replay_published: bool,
) -> None:
    """The transcript shows beside a published replay (its captions), so whoever may play the
    replay reads it; before that only the host, the co-hosts and the speakers."""
    if replay_published:
        return
    if may_download(viewer_id, host_id=host_id, speakers=speakers) or viewer_id in moderators:
        return
    raise Forbidden("the transcript is for the host and the speakers until a replay is published")
