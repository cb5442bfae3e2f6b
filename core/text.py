"""Text helpers shared by matching code."""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter + accent.
_SPECIAL = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "Th",
        "þ": "th",
        "ı": "i",
        "Ħ": "H",
        "ħ": "h",
    }
)


def fold(text: str) -> str:
    """Lower-case ASCII form of a name: accents stripped ("São Paulo" -> "sao paulo", "Łódź" -> "lodz")."""
    return " ".join(ascii_label(text).lower().replace("-", " ").split())


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def md_escape(text: object) -> str:
    """User or generated text made inert for Markdown renderers (Streamlit's st.markdown and friends):
    every Markdown / HTML special character is backslash-escaped, so "![x](http://host/p.png)" shows as
    those characters instead of making every viewer's browser fetch the URL."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


def ascii_label(text: str) -> str:
    """A name in ASCII letters with its case kept ("Köln" -> "Koln", "İstanbul" -> "Istanbul"), for
    renderers that only have ASCII glyphs."""
    nfkd = unicodedata.normalize("NFKD", str(text).translate(_SPECIAL))
    return nfkd.encode("ascii", "ignore").decode("ascii")


_ID = __import__("re").compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_record_id(value: object) -> bool:
    """True for the ids the app gives its records (UUID strings); anything else names no record, so it is
    answered as "not found" before it reaches a database (a NUL byte makes PostgreSQL refuse the query)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def control_character(text: str, allow_line_breaks: bool = False) -> str | None:
    """The first control character in ``text`` (NUL, escape ...), described for a message; None if none.
    Line breaks and tabs pass where ``allow_line_breaks`` (a description may have paragraphs)."""
    for ch in text:
        if unicodedata.category(ch) == "Cc" and not (allow_line_breaks and ch in "\n\r\t"):
            return f"U+{ord(ch):04X}"
    return None


def sentence(text: object) -> str:
    """A message as a sentence on screen: its first letter upper-case ("unknown category 'x'; ..." ->
    "Unknown category 'x'; ..."). Domain errors are written lower-case so they read well after a prefix
    ("error: ..." on the CLI); pages show them as sentences."""
    s = str(text)
    return s[:1].upper() + s[1:]
