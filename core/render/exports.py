"""CSV and Excel exports of a ranking: exactly the numbers shown on screen, formula-safe cells, readable headers."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pandas as pd

from core import __version__

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formula injection in text cells (OWASP: prefix with a quote)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers at the precision they carry: money to the cent, scores, units and terms to 2 decimals,
    coordinates to 5, rates and shares to 6 significant digits; whole numbers stay whole."""
    out = table.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        if col in ("lat", "lon"):
            out[col] = out[col].round(5)
        elif col.endswith(("_rate", "_share")) or col == "obtainable_share":
            out[col] = out[col].map(lambda v: float(f"{v:.6g}") if pd.notna(v) else v)
        elif col in ("population", "distance_km"):
            out[col] = out[col].round(0)
        else:
            out[col] = out[col].round(2)
    return out


def csv_metadata(
    product: dict, what_if: dict, scope: list[str], plan: str | None, generated_at: datetime
) -> dict:
    """What produced an export: the sidecar JSON offered next to the CSV."""
    return {
        "product": product,
        "what_if": what_if,
        "scope": scope or ["world"],
        "plan": plan,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "app_version": __version__,
        "method": "docs/methodology.md",
    }


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """The rows every file export writes: numbers ``rounded``, text cells formula-safe (``safe_cell``).
    Plan limits are checked by the use case before rendering (core.services.exports)."""
    safe = rounded(table)
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(safe_cell)
    return safe


def plain_number(v: float) -> str:
    """A float in positional notation with the shortest digits that read back as the same number, no
    trailing ".0"; missing (NaN) as empty: numpy's ``format_float_positional(v, trim="-")``. Python's own
    repr gives the same shortest digits in C, ~10x faster over a 1,000-city table's 30,000 numbers; numpy
    writes the few that repr puts in exponent form (below 1e-4, from 1e16) and the infinities."""
    if v != v:
        return ""
    r = repr(v)
    if "e" in r or "n" in r:
        return np.format_float_positional(v, trim="-")
    return r[:-2] if r.endswith(".0") else r


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV (with BOM, so spreadsheets detect the encoding), injection-safe, numbers
    rounded to the precision they carry (``rounded``)."""
    safe = export_table(table)
    for col in safe.columns:  # numbers as people and spreadsheets read them: 8961989, 0.0000107924
        if pd.api.types.is_float_dtype(safe[col]):
            safe[col] = [plain_number(v) for v in safe[col].to_numpy(dtype=float, na_value=np.nan).tolist()]
    # CRLF rows (RFC 4180): the csv module then quotes every field holding a CR or LF, so a bare "\r"
    # inside a cell cannot start a new row in a spreadsheet.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


HEADER_WORDS = {
    "usd": "(US$)",
    "pct": "%",
    "iso2": "ISO2",
    "iso3": "ISO3",
    "id": "id",
    "km": "km",
    "cac": "CAC",
    "roas": "ROAS",
}


def header(column: str) -> str:
    """A column name as a spreadsheet header: "expected_revenue_usd_month" -> "Expected revenue (US$) month"."""
    words = [HEADER_WORDS.get(w, w) for w in column.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, f"{key}.")
        else:
            out.append(
                (
                    key,
                    ", ".join(map(str, v)) if isinstance(v, list | tuple) else ("" if v is None else str(v)),
                )
            )
    return out


def xlsx_bytes(table: pd.DataFrame, metadata: dict) -> bytes:
    """The ranking as an Excel workbook: sheet "Ranking" (the CSV's rows, rounded and injection-safe)
    and sheet "Parameters" (what produced it: ``csv_metadata``)."""
    safe = export_table(table)
    params = pd.DataFrame([(k, safe_cell(v)) for k, v in _flatten(metadata)], columns=["parameter", "value"])
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        safe.rename(columns=header).to_excel(xl, sheet_name="Ranking", index=False, freeze_panes=(1, 0))
        params.rename(columns=header).to_excel(xl, sheet_name="Parameters", index=False)
    return buf.getvalue()
