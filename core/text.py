"""Text helpers shared by matching code."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case ASCII form of a name: accents stripped ("São Paulo" -> "sao paulo")."""
    nfkd = unicodedata.normalize("NFKD", str(text))
    ascii_text = nfkd.encode("ascii", "ignore").decode("ascii")
    return " ".join(ascii_text.lower().replace("-", " ").split())
