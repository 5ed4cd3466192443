"""Sharing's pure rules (issue 13): what may be reposted, which links oEmbed answers for, the
player's size within a consumer's limits."""

from __future__ import annotations

import pytest

from parley.domain import sharing
from parley.domain.errors import Blocked, InvalidState
from parley.domain.sharing import BadUrl, EmbedTarget, embed_target
from parley.domain.space import SpaceState

pytestmark = pytest.mark.unit

SITE = "https://parley.example"


@pytest.mark.parametrize("state", [SpaceState.SCHEDULED, SpaceState.LIVE])
def test_upcoming_and_live_spaces_may_be_reposted(state: SpaceState) -> None:
    sharing.check_can_repost(state, blocked_either_way=False)


@pytest.mark.parametrize("state", [SpaceState.ENDED, SpaceState.CANCELED])
def test_finished_spaces_may_not_be_reposted(state: SpaceState) -> None:
    with pytest.raises(InvalidState) as refused:
        sharing.check_can_repost(state, blocked_either_way=False)
    assert refused.value.state == state.value


def test_a_block_either_way_refuses_a_repost_before_the_state() -> None:
    with pytest.raises(Blocked):
        sharing.check_can_repost(SpaceState.ENDED, blocked_either_way=True)


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (f"{SITE}/s/12", EmbedTarget("space", space_id=12)),
        (f"{SITE}/s/12/", EmbedTarget("space", space_id=12)),
        (f"{SITE}/s/12?ref=x#top", EmbedTarget("space", space_id=12)),
        (f"{SITE}/s/12/replay", EmbedTarget("replay", space_id=12)),
        (f"{SITE}/clips/Ab_9-x", EmbedTarget("clip", clip_id="Ab_9-x")),
        # The host is not case-sensitive; the default port is the same origin.
        ("https://PARLEY.example:443/s/3", EmbedTarget("space", space_id=3)),
    ],
)
def test_links_of_this_instance_name_what_they_show(url: str, target: EmbedTarget) -> None:
    assert embed_target(url, SITE) == target


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/s/12",
        "http://parley.example/s/12",  # another scheme: another origin
        "https://parley.example:8443/s/12",
        "https://parley.example.evil.example/s/12",
        f"{SITE}/s/0",
        f"{SITE}/s/012",
        f"{SITE}/s/99999999999",
        f"{SITE}/s/2147483648",
        f"{SITE}/s/12/replay/more",
        f"{SITE}/u/ann",
        f"{SITE}/clips/{'a' * 33}",
        f"{SITE}/",
    ],
)
def test_other_links_are_not_ours(url: str) -> None:
    assert embed_target(url, SITE) is None


def test_nothing_is_ours_without_a_url_we_can_vouch_for() -> None:
    assert embed_target(f"{SITE}/s/1", None) is None


def test_an_instance_under_a_path_answers_for_its_own_links() -> None:
    site = "https://example.org/parley"
    assert embed_target("https://example.org/parley/s/4", site) == EmbedTarget("space", space_id=4)
    assert embed_target("https://example.org/s/4", site) is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "parley.example/s/1",
        "/s/1",
        "ftp://parley.example/s/1",
        "javascript:alert(1)",
        "https://parley.example/s/1 2",
        "https://parley.example:99999/s/1",
        "https://\x00/s/1",
        "https://" + "a" * 2001,
    ],
)
def test_what_is_not_a_url_is_refused_naming_url(url: str) -> None:
    with pytest.raises(BadUrl) as refused:
        embed_target(url, SITE)
    assert refused.value.field == "url" and refused.value.status == 400


def test_the_player_fits_within_the_consumers_limits() -> None:
    assert sharing.fit(480, 220, None, None) == (480, 220)
    assert sharing.fit(480, 220, 300, None) == (300, 220)
    assert sharing.fit(480, 220, 1000, 100) == (480, 100)


def test_ids_in_paths() -> None:
    assert sharing.space_id_of("42") == 42
    for text in ("0", "042", "-1", "4a", "١٢", "2147483648", ""):
        assert sharing.space_id_of(text) is None, text
    assert sharing.clip_id_of("Ab_9-x") == "Ab_9-x"
    assert sharing.clip_id_of("a/b") is None and sharing.clip_id_of("") is None
