"""What human text may contain (domain/text.py), and the handle pattern's anchors."""

from __future__ import annotations

import pytest

from parley.domain import accounts, pins, space
from parley.domain.errors import Invalid
from parley.domain.text import check_no_surrogates, check_text

pytestmark = pytest.mark.unit

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"
TECHNOLOGIST = "\U0001f469\U0001f3fd\u200d\U0001f4bb"
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
HINDI = "\u0915\u094d\u200c\u0937"


def _rule(text: str, *, multiline: bool = False) -> str:
    with pytest.raises(Invalid) as refused:
        check_text("title", text, multiline=multiline)
    assert refused.value.field == "title"
    return refused.value.rule


@pytest.mark.parametrize(
    "text", [FAMILY, RAINBOW_FLAG, TECHNOLOGIST, HEART_ON_FIRE, ENGLAND, PERSIAN, HINDI]
)
def test_joiners_and_tags_are_kept_where_they_are_spelling(text: str) -> None:
    assert check_text("title", f"a {text} b") == f"a {text} b"


def test_text_is_nfc_and_trimmed() -> None:
    assert check_text("title", "  Cafe\u0301\u00a0 \t") == "Caf\u00e9"
    assert check_text("title", "e\u0301") == "\u00e9"
    # A new emoji this Python's Unicode (14.0 on 3.11) may not know yet: not "unassigned".
    assert check_text("title", "\U0001fae8") == "\U0001fae8"


def test_only_multiline_fields_keep_line_breaks_and_as_newlines() -> None:
    assert check_text("bio", "one\r\ntwo\rthree\n", multiline=True) == "one\ntwo\nthree"
    assert _rule("one\ntwo") == "control_character"
    assert _rule("one\ttwo", multiline=True) == "control_character"
    assert _rule("one\u2028two", multiline=True) == "control_character"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("a\x00b", "control_character"),
        ("a\x1bb", "control_character"),
        ("a\x7fb", "control_character"),
        ("a\x9bb", "control_character"),
        ("a\u200bb", "invisible_character"),
        ("a\u200db", "invisible_character"),  # a joiner between letters joins nothing visible
        (f"a\u200d{FAMILY}", "invisible_character"),
        (f"{FAMILY}\u200d", "invisible_character"),
        ("a\u200cb", "invisible_character"),  # Latin never needs a non-joiner
        ("\u062e\u200c", "invisible_character"),
        ("a\u2060b", "invisible_character"),
        ("a\ufeffb", "invisible_character"),
        ("a\u00adb", "invisible_character"),  # soft hyphen
        ("a\u200eb", "invisible_character"),
        ("a\u200fb", "invisible_character"),
        ("a\u061cb", "invisible_character"),  # Arabic letter mark
        *((f"a{chr(c)}b", "invisible_character") for c in range(0x202A, 0x202F)),
        *((f"a{chr(c)}b", "invisible_character") for c in range(0x2066, 0x206A)),
        ("\u3164", "invisible_character"),  # Hangul filler: a "blank" name
        ("a\u115fb", "invisible_character"),
        ("a\U000e0067b", "invisible_character"),  # a tag outside a flag
        ("\U0001f3f4\U000e0067\U000e0062", "invisible_character"),  # a flag never ended
        ("a\ue000b", "private_use_character"),
        ("a\U000f0000b", "private_use_character"),
        ("a\u0378b", "unassigned_character"),
        ("a\ufffeb", "unassigned_character"),  # a noncharacter
        (f"a{chr(0xD800)}b", "surrogate"),
        (f"a{chr(0xDFFF)}b", "surrogate"),
    ],
)
def test_hidden_characters_are_refused_with_their_rule(text: str, rule: str) -> None:
    assert _rule(text) == rule


def test_the_message_names_the_character_without_containing_it() -> None:
    with pytest.raises(Invalid) as refused:
        check_text("title", "ab\u202ecd")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE at position 3" in refused.value.message
    with pytest.raises(Invalid) as refused:
        check_text("title", " \t ab\u202ecd")  # counted in what was sent, before trimming
    assert "at position 6" in refused.value.message
    with pytest.raises(Invalid) as refused:
        check_no_surrogates("password", "x\udc00")
    assert (refused.value.field, refused.value.rule) == ("password", "surrogate")
    assert "U+DC00 at position 2" in refused.value.message
    refused.value.message.encode("utf-8")


@pytest.mark.parametrize("handle", ["alice\n", "\nalice", "alice\r\n", "al\nice", "alice\x00"])
def test_a_handle_is_the_whole_string(handle: str) -> None:
    assert not accounts.is_handle(handle)
    assert not accounts.HANDLE_RE.match(handle)
    with pytest.raises(Invalid) as refused:
        accounts.check_handle(handle)
    assert (refused.value.field, refused.value.rule) == ("handle", "pattern")
    assert accounts.is_handle("alice") and accounts.check_handle("Alice_1") == "Alice_1"


def test_every_human_text_field_is_checked_under_its_own_name() -> None:
    hidden = "x\u200by"
    checks = [
        ("display_name", lambda: accounts.check_display_name(hidden)),
        ("bio", lambda: accounts.check_bio(hidden)),
        ("name", lambda: accounts.check_token_name(hidden)),
        ("title", lambda: space.check_title(hidden)),
        ("topics", lambda: space.check_topics(["ok", hidden])),
        ("text", lambda: pins.check_pin(hidden, None)),
        ("url", lambda: pins.check_pin("ok", f"https://example.org/{hidden}")),
    ]
    for field, check in checks:
        with pytest.raises(Invalid) as refused:
            check()
        assert (refused.value.field, refused.value.rule) == (field, "invisible_character")
    with pytest.raises(Invalid) as refused:
        accounts.check_password("a long password\ud800")
    assert (refused.value.field, refused.value.rule) == ("password", "surrogate")
    assert accounts.check_bio(" one\r\ntwo ") == "one\ntwo"


def test_a_name_of_invisible_characters_only_is_refused_not_emptied() -> None:
    with pytest.raises(Invalid) as refused:
        accounts.check_display_name("\u200b\u200b")
    assert refused.value.rule == "invisible_character"
    with pytest.raises(Invalid) as refused:
        accounts.check_display_name(" \u00a0\u3000 ")
    assert refused.value.rule == "min_length"
