"""Search rules: folding, the query's rules, LIKE escaping, paging."""

from __future__ import annotations

import pytest

from parley.domain import search
from parley.domain.errors import Invalid

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Élodie", "elodie"),
        ("ÉLODIE", "elodie"),
        ("e\u0301lodie", "elodie"),  # decomposed input folds the same
        ("Straße", "strasse"),
        ("ÅSA Öberg", "asa oberg"),
        ("ﬁsh", "fish"),  # compatibility ligature
        ("Ｆｕｌｌ", "full"),  # full-width letters
        ("  many \t spaces\n", "many spaces"),
        ("Ωμέγα", "ωμεγα"),
        ("日本語", "日本語"),
        ("100% real_name", "100% real_name"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert search.fold(text) == folded


def test_a_space_key_keeps_title_and_topics_apart() -> None:
    key = search.space_key("Rust Meetup", ["Systems", "Café"])
    assert key == "rust meetup\nsystems\ncafe"
    assert search.KEY_SEPARATOR not in search.check_query("meetup systems")


@pytest.mark.parametrize(
    ("q", "rule"),
    [
        ("", "min_length"),
        ("   ", "min_length"),
        ("@", "min_length"),
        ("\u0301", "min_length"),
        ("x" * 101, "max_length"),
        ("a\x00", "control_characters"),
        ("\tab", "control_characters"),
        ("a\x9fb", "control_characters"),
        ("a\u2029b", "control_characters"),
    ],
)
def test_queries_breaking_a_rule_are_refused(q: str, rule: str) -> None:
    with pytest.raises(Invalid) as refused:
        search.check_query(q)
    assert (refused.value.field, refused.value.rule) == ("q", rule)


def test_queries_are_trimmed_folded_and_lose_one_leading_at() -> None:
    assert search.check_query("  @Alice ") == "alice"
    assert search.check_query(" " + "X" * 100 + " ") == "x" * 100
    assert search.check_query("@@x") == "@x"
    assert search.check_query("👋\u200d") == "👋\u200d"  # format characters are not controls


def test_like_wildcards_and_the_escape_are_escaped() -> None:
    assert search.escape_like("100%_\\") == "100\\%\\_\\\\"
    assert search.contains("a_b") == "%a\\_b%"
    assert search.starts_with("50%") == "50\\%%"
    assert search.word_starts_with("x") == "% x%"


def test_next_offset() -> None:
    assert search.next_offset(0, 20, 21) == 20
    assert search.next_offset(40, 20, 20) is None
    assert search.next_offset(0, 20, 0) is None
