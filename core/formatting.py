"""How numbers are written for people (pages, agent text, PDF): one function per kind."""

from __future__ import annotations

import math


def money(x: float, decimals: int | None = None) -> str:
    """US dollars with the sign first: -$149,501, $12.50. Whole dollars from $100 up unless told."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    places = decimals if decimals is not None else (0 if abs(x) >= 100 else 2)
    text = f"${abs(x):,.{places}f}"
    return f"-{text}" if x < 0 and float(f"{abs(x):.{places}f}") != 0 else text
