"""What human text may contain: names, bios, titles, topics, pins, token names. Pure.

Text people read must show what it says (issue 12): no control characters (NUL, bells, C1
codes), no invisible format characters (zero-width spaces and joiners, word joiners, byte order
marks, bidirectional overrides, embeddings, isolates and marks that make "@alice" read as
someone else or hide words from search), no private-use or unassigned code points (they show as
nothing or a box, differently on every device) and no lone UTF-16 surrogates (not Unicode text at
all: neither the database nor a JSON response can encode one).

Three invisible characters have uses that are not tricks, and are kept where they have them:
- U+200D ZERO WIDTH JOINER between two pictographs, which makes emoji sequences
  (family, rainbow flag, "woman technologist"): allowed there only.
- U+200C ZERO WIDTH NON-JOINER, which Persian, Kurdish and Indic spelling need inside words:
  allowed between two letters or marks of scripts other than Latin, Greek and Cyrillic (which never
  use it).
- Tag characters (U+E0020-U+E007F), which spell subdivision flags after U+1F3F4 (the flag of
  England): allowed in such a sequence only.

Text is normalized to NFC (one way to write "é") and trimmed. Only fields that say so keep line
breaks, as "\\n" (a "\\r\\n" or a lone "\\r" becomes "\\n").
"""

from __future__ import annotations

import re
import unicodedata

from parley.domain.errors import Invalid

ZWJ = "\u200d"
ZWNJ = "\u200c"
VARIATION_SELECTOR_16 = "\ufe0f"
# Emoji skin tone modifiers (category Sk) may sit between a pictograph and a joiner.
_SKIN_TONES = range(0x1F3FB, 0x1F400)
# Where Unicode assigns new emoji: the Python this runs on may know an older Unicode (3.11 has
# 14.0) and would take newer emoji for unassigned code points.
_EMOJI_BLOCKS = range(0x1F000, 0x1FB00)
# Blank letters and fillers (not format characters, but shown as nothing) that are used to make
# names look empty: Unicode's Default_Ignorable_Code_Point letters and the combining grapheme
# joiner.
_BLANKS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
_SUBDIVISION_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
_NON_JOINING_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def _where(text: str, index: int, offset: int = 0) -> str:
    """The offending character, named without including it (a surrogate cannot be encoded),
    and where it is in what was sent (`offset`: what trimming took off its start)."""
    char = text[index]
    name = unicodedata.name(char, "")
    named = f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"
    return f"{named} at position {offset + index + 1}"


def _pictographic(char: str) -> bool:
    return unicodedata.category(char) == "So" or ord(char) in _EMOJI_BLOCKS


def _joins_pictographs(text: str, index: int) -> bool:
    """A joiner between two pictographs (the one before may carry a presentation selector or a
    skin tone)."""
    before = index - 1
    while before >= 0 and (
        text[before] == VARIATION_SELECTOR_16 or ord(text[before]) in _SKIN_TONES
    ):
        before -= 1
    after = index + 1
    return (
        before >= 0
        and after < len(text)
        and _pictographic(text[before])
        and _pictographic(text[after])
    )


def _joining_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM" and not unicodedata.name(char, "").startswith(
        _NON_JOINING_SCRIPTS
    )


def _separates_letters(text: str, index: int) -> bool:
    return (
        0 < index < len(text) - 1
        and _joining_letter(text[index - 1])
        and _joining_letter(text[index + 1])
    )


def _flag_tags(text: str) -> set[int]:
    """Positions of tag characters inside subdivision flags."""
    return {
        i
        for match in _SUBDIVISION_FLAG.finditer(text)
        for i in range(match.start() + 1, match.end())
    }


def check_no_surrogates(field: str, text: str) -> str:
    """Refuses lone surrogates, which a JSON "\\ud800" escape can carry into a str: every text
    that enters is checked for these first, whatever else its field allows."""
    for index, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            raise Invalid(
                field,
                "surrogate",
                f"must be valid Unicode text, without lone surrogates ({_where(text, index)})",
            )
    return text


def check_text(field: str, text: str, *, multiline: bool = False) -> str:
    """`text` as stored: NFC, trimmed, line breaks as "\\n" where `multiline`; or Invalid
    naming the field, the rule and the first character that breaks it."""
    check_no_surrogates(field, text)
    # White space (line breaks included) around the text is dropped, not refused; what is left
    # is checked as sent, so that positions are the sender's (NFC makes no character refused
    # here from characters that are not).
    offset = len(text) - len(text.lstrip())
    text = text.strip()
    flag_tags: set[int] | None = None
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cc" or category in ("Zl", "Zp"):
            if multiline and char in "\r\n":
                continue
            lines = "" if multiline else "; this field is one line"
            raise Invalid(
                field,
                "control_character",
                f"must not contain control characters{lines} ({_where(text, index, offset)})",
            )
        if category == "Cf" or char in _BLANKS:
            if char == ZWJ and _joins_pictographs(text, index):
                continue
            if char == ZWNJ and _separates_letters(text, index):
                continue
            if 0xE0020 <= ord(char) <= 0xE007F:
                if flag_tags is None:
                    flag_tags = _flag_tags(text)
                if index in flag_tags:
                    continue
            raise Invalid(
                field,
                "invisible_character",
                "must not contain invisible or direction-changing characters "
                f"({_where(text, index, offset)})",
            )
        if category == "Co":
            raise Invalid(
                field,
                "private_use_character",
                f"must not contain private-use characters ({_where(text, index, offset)})",
            )
        if category == "Cn" and ord(char) not in _EMOJI_BLOCKS:
            raise Invalid(
                field,
                "unassigned_character",
                f"must not contain unassigned code points ({_where(text, index, offset)})",
            )
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)
