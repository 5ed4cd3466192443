"""Rules for accounts and the social graph."""

from __future__ import annotations

import re

from parley.domain.errors import Forbidden, Invalid
from parley.domain.text import check_no_surrogates, check_text

# \A and \Z, not ^ and $: "$" also matches before a final "\n", which let "alice\n" pass as a
# handle and sign up as someone who reads as @alice (issue 12). `match` and `fullmatch` agree.
HANDLE_RE = re.compile(r"\A[A-Za-z0-9_]{3,15}\Z")
DISPLAY_NAME_MAX = 50
BIO_MAX = 160
PASSWORD_MIN = 8
PASSWORD_MAX = 128
TOKEN_NAME_MAX = 60


def normalize_handle(handle: str) -> str:
    """Handles are unique without regard to case; this is the key they are stored under."""
    return handle.lower()


def is_handle(handle: str) -> bool:
    """Whether `handle` could be someone's: what cannot is looked up nowhere."""
    return HANDLE_RE.fullmatch(handle) is not None


def check_handle(handle: str) -> str:
    if not is_handle(handle):
        raise Invalid(
            "handle", "pattern", "must be 3-15 characters of letters, digits and underscore"
        )
    return handle


def check_display_name(name: str) -> str:
    name = check_text("display_name", name)
    if not name:
        raise Invalid("display_name", "min_length", "must not be empty")
    if len(name) > DISPLAY_NAME_MAX:
        raise Invalid(
            "display_name", "max_length", f"must be at most {DISPLAY_NAME_MAX} characters"
        )
    return name


def check_bio(bio: str) -> str:
    # A bio may keep its line breaks; names and titles are one line.
    bio = check_text("bio", bio, multiline=True)
    if len(bio) > BIO_MAX:
        raise Invalid("bio", "max_length", f"must be at most {BIO_MAX} characters")
    return bio


def check_password(password: str) -> str:
    # Any character may be in a password, but it is hashed as UTF-8, which has no surrogates.
    check_no_surrogates("password", password)
    if len(password) < PASSWORD_MIN:
        raise Invalid("password", "min_length", f"must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise Invalid("password", "max_length", f"must be at most {PASSWORD_MAX} characters")
    return password


def check_token_name(name: str) -> str:
    name = check_text("name", name)
    if not name:
        raise Invalid("name", "min_length", "must not be empty")
    if len(name) > TOKEN_NAME_MAX:
        raise Invalid("name", "max_length", f"must be at most {TOKEN_NAME_MAX} characters")
    return name


def check_can_follow(*, follower_id: int, followee_id: int, blocked_either_way: bool) -> None:
    if follower_id == followee_id:
        raise Forbidden("you cannot follow yourself")
    if blocked_either_way:
        raise Forbidden("you cannot follow a user who blocked you or whom you blocked")


def check_can_block(*, blocker_id: int, blocked_id: int) -> None:
    if blocker_id == blocked_id:
        raise Forbidden("you cannot block yourself")


def check_host_eligibility(*, follower_count: int, min_followers_to_host: int) -> None:
    """Hosting may require an audience (Twitter required 600 followers at launch)."""
    if follower_count < min_followers_to_host:
        raise Forbidden(
            f"hosting a space needs at least {min_followers_to_host} followers; "
            f"you have {follower_count}"
        )
