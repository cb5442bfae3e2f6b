"""Text helpers shared by matching code."""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter + accent.
_SPECIAL = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE",
                          "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "ı": "i", "Ħ": "H", "ħ": "h"})  # fmt: skip


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
