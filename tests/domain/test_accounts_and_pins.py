from __future__ import annotations

import pytest

from parley.domain import accounts, pins
from parley.domain.errors import Conflict, Forbidden, Invalid
from parley.domain.pins import PinKind

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("handle", "ok"),
    [
        ("bob", True),
        ("Alice_1", True),
        ("x" * 15, True),
        ("ab", False),
        ("x" * 16, False),
        ("has space", False),
        ("émile", False),
        ("dash-ed", False),
    ],
)
def test_handles(handle: str, ok: bool) -> None:
    if ok:
        assert accounts.check_handle(handle) == handle
    else:
        with pytest.raises(Invalid) as error:
            accounts.check_handle(handle)
        assert (error.value.field, error.value.rule) == ("handle", "pattern")


def test_handles_are_unique_without_regard_to_case() -> None:
    assert accounts.normalize_handle("Alice") == accounts.normalize_handle("aLICE")


def test_profile_fields_and_password() -> None:
    assert accounts.check_display_name("  Al ") == "Al"
    with pytest.raises(Invalid, match="display_name"):
        accounts.check_display_name(" ")
    with pytest.raises(Invalid, match="display_name"):
        accounts.check_display_name("x" * 51)
    with pytest.raises(Invalid, match="bio"):
        accounts.check_bio("x" * 161)
    with pytest.raises(Invalid) as error:
        accounts.check_password("short")
    assert error.value.rule == "min_length"
    with pytest.raises(Invalid):
        accounts.check_password("x" * 129)


@pytest.mark.parametrize(
    ("minimum", "followers", "ok"), [(0, 0, True), (600, 599, False), (600, 600, True)]
)
def test_host_eligibility(minimum: int, followers: int, ok: bool) -> None:
    if ok:
        accounts.check_host_eligibility(follower_count=followers, min_followers_to_host=minimum)
    else:
        with pytest.raises(Forbidden, match="600 followers"):
            accounts.check_host_eligibility(follower_count=followers, min_followers_to_host=minimum)


def test_follow_and_block_rules() -> None:
    with pytest.raises(Forbidden):
        accounts.check_can_follow(follower_id=1, followee_id=1, blocked_either_way=False)
    with pytest.raises(Forbidden):
        accounts.check_can_follow(follower_id=1, followee_id=2, blocked_either_way=True)
    accounts.check_can_follow(follower_id=1, followee_id=2, blocked_either_way=False)
    with pytest.raises(Forbidden):
        accounts.check_can_block(blocker_id=3, blocked_id=3)


def test_pins() -> None:
    assert pins.check_pin(" hi ", None) == (PinKind.POST, "hi", None)
    assert pins.check_pin("docs", "https://example.org/a") == (
        PinKind.LINK,
        "docs",
        "https://example.org/a",
    )
    for text, url, field, rule in (
        ("", None, "text", "min_length"),
        ("x" * 281, None, "text", "max_length"),
        ("x", "javascript:alert(1)", "url", "scheme"),
        ("x", "ftp://host/file", "url", "scheme"),
        ("x", "https://" + "a" * 2000, "url", "max_length"),
    ):
        with pytest.raises(Invalid) as error:
            pins.check_pin(text, url)
        assert (error.value.field, error.value.rule) == (field, rule)
    pins.check_room_for_pin(4)
    with pytest.raises(Conflict) as full:
        pins.check_room_for_pin(5)
    assert full.value.rule == "pins_full"
