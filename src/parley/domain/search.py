"""Rules of search: how text is folded for matching, what a query may be, LIKE patterns. No I/O.

Matching is done on *folded* text, computed here in Python and stored next to what it folds
(`users.name_key`, `spaces.search_key`), so SQLite and PostgreSQL match the same way whatever
their collations: SQLite's own LOWER() and LIKE fold ASCII only, and accent-insensitive matching
in PostgreSQL would need the `unaccent` extension. Folding is Unicode compatibility decomposition
(NFKD), combining marks dropped, then full case folding: "Élodie", "ELODIE" and "élodie" all fold
to "elodie", "Straße" to "strasse", the ligature "ﬁ" to "fi".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from parley.domain.errors import Invalid

QUERY_MAX = 100
PAGE_MAX = 50
PAGE_DEFAULT = 20
# Paging deeper than this is scraping, not searching.
OFFSET_MAX = 1000
# The character of LIKE patterns that makes the next one literal (both backends accept it).
LIKE_ESCAPE = "\\"
# Between a space's title and each topic in its key: a query can never contain it (control
# characters are refused), so a match never runs across two of them.
KEY_SEPARATOR = "\n"
# Refused in queries: control characters (C0, DEL, C1), surrogates and line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def fold(text: str) -> str:
    """The form text is matched in: compatibility-decomposed, without combining marks, case-
    folded, runs of white space as one space, trimmed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def user_name_key(display_name: str) -> str:
    return fold(display_name)


def space_key(title: str, topics: Sequence[str]) -> str:
    """A space's title and topics, each folded, in one searchable text."""
    return KEY_SEPARATOR.join(fold(part) for part in [title, *topics])


def check_query(q: str) -> str:
    """The query to match: 1 to 100 characters once trimmed (a leading "@", as in "@alice",
    is dropped: handles are matched without it), no control characters; folded."""
    if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in q):
        raise Invalid("q", "control_characters", "must not contain control characters")
    trimmed = q.strip()
    if len(trimmed) > QUERY_MAX:
        raise Invalid("q", "max_length", f"must be at most {QUERY_MAX} characters")
    folded = fold(trimmed.removeprefix("@"))
    if not folded:
        raise Invalid("q", "min_length", "must contain something to search for")
    return folded


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern: its wildcards (% and _) and the escape
    character itself are escaped."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def contains(folded: str) -> str:
    return f"%{escape_like(folded)}%"


def starts_with(folded: str) -> str:
    return f"{escape_like(folded)}%"


def word_starts_with(folded: str) -> str:
    """A pattern for a word after the first starting with `folded` (keys are single-spaced)."""
    return f"% {escape_like(folded)}%"


def next_offset(offset: int, limit: int, fetched: int) -> int | None:
    """The offset of the next page, when one more row than the page was found."""
    return offset + limit if fetched > limit else None
