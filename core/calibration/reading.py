"""Reading a user's sales file: decoding, separators, numbers as spreadsheets write them, which column
plays which role (city, country, region, measure, period). Every problem raises InputError saying what to fix."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from core.errors import InputError
from core.text import fold

MAX_BYTES = 20 * 1024 * 1024  # same as the upload limit in .streamlit/config.toml
MAX_COLUMNS = 50  # a sales file needs 3-6 columns; more is a wrong file, refused before parsing
MAX_ROWS = 200_000  # sales rows per file (one row per city and period)
MEASURES = ("units", "orders", "revenue")


def _decode(data: bytes, name: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise InputError(f"{name} looks like UTF-16 text without a byte-order mark; save it as 'CSV UTF-8'")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text; save it as 'CSV UTF-8' and upload it again") from None


def _numbers(values: pd.Series, sep: str) -> pd.Series:
    """Parse numbers as spreadsheets write them: "1,234.5"; with ; or tab separators also "1.234,5"."""
    text = values.str.strip().str.replace(" ", "", regex=False)
    if sep != ",":
        european = text.str.fullmatch(r"-?\d{1,3}(\.\d{3})*(,\d+)?|-?\d+,\d+")
        text = text.where(
            ~european, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        )
    return pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")


# Column names in common shop exports and several languages (folded: lower case, no accents), per role.
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "city": (
        "city",
        "cidade",
        "ciudad",
        "stadt",
        "ville",
        "citta",
        "sehir",
        "miasto",
        "stad",
        "municipio",
        "localidade",
        "ort",
        "town",
        "customer_city",
        "shipping_city",
        "ship_city",
    ),
    "country": (
        "country",
        "pais",
        "land",
        "pays",
        "paese",
        "ulke",
        "kraj",
        "country_code",
        "country_iso2",
        "iso2",
        "shipping_country",
        "ship_country",
    ),
    "region": (
        "region",
        "state",
        "estado",
        "uf",
        "province",
        "provincia",
        "bundesland",
        "departement",
        "county",
        "state_uf",
        "customer_state",
        "shipping_province",
        "ship_state",
    ),
    "units": (
        "units",
        "quantity",
        "qty",
        "quantidade",
        "cantidad",
        "menge",
        "quantite",
        "quantita",
        "adet",
        "pieces",
        "items",
    ),
    "orders": (
        "orders",
        "pedidos",
        "bestellungen",
        "commandes",
        "ordini",
        "siparis",
        "order_count",
        "n_orders",
    ),
    "revenue": (
        "revenue",
        "sales",
        "receita",
        "ingresos",
        "umsatz",
        "chiffre_affaires",
        "fatturato",
        "ciro",
        "amount",
        "gmv",
        "net_sales",
        "total_sales",
    ),
    "period": ("period", "month", "date", "mes", "monat", "mois", "periodo", "ay", "year_month"),
}
ROLES = ("city", "country", "region", "units", "orders", "revenue", "period")


def guess_columns(columns: list[str]) -> dict[str, str]:
    """Which column of a sales file plays which role (city, country, region, a measure, period): a column
    named like a role in ``COLUMN_SYNONYMS`` (exactly, after folding), else one whose name has such a word
    ("city_as_written", "customer_state"). Each column serves one role; one measure at most (units, then
    orders, then revenue)."""
    folded = {c: fold(c).replace(" ", "_") for c in columns}
    taken: set[str] = set()
    out: dict[str, str] = {}
    for exact in (True, False):
        for role in ROLES:
            if role in out or (role in MEASURES and any(m in out for m in MEASURES)):
                continue
            for col in columns:
                words = set(folded[col].split("_"))
                hit = (
                    (folded[col] in COLUMN_SYNONYMS[role])
                    if exact
                    else bool(words & set(COLUMN_SYNONYMS[role]))
                )
                if col not in taken and hit:
                    out[role], taken = col, taken | {col}
                    break
    return out


def _header(text: str) -> tuple[str, str, int]:
    """A sales file's header line, its separator (the most frequent of , ; tab |) and how often it occurs."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in ",;\t|"}
    sep = max(counts, key=counts.get) if max(counts.values()) > 0 else ","
    return header, sep, counts[sep]


def sales_columns(data: bytes, name: str = "sales.csv") -> list[str]:
    """The header of a sales file, as ``read_sales`` reads it (for the column mapping on the page)."""
    header, sep, _count = _header(_decode(data, name)) if data.strip() else ("", ",", 0)
    row = next(csv.reader(io.StringIO(header), delimiter=sep), [])
    return [c.strip() for c in row][:MAX_COLUMNS]


def _bounded_text(data: bytes, name: str) -> tuple[str, str]:
    """The file's text and separator, refused before parsing when it is too large, empty or too wide."""
    if len(data) > MAX_BYTES:
        raise InputError(
            f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // 2**20} MB. Split the file."
        )
    if not data.strip():
        raise InputError(f"{name} is empty; it needs a header row and at least one sales row")
    text = _decode(data, name)
    _header_line, sep, separators = _header(text)
    if separators + 1 > MAX_COLUMNS:
        raise InputError(
            f"{name} has {separators + 1:,} columns; a sales file needs city, country, "
            f"[region], units|orders|revenue, [period] (at most {MAX_COLUMNS} columns)"
        )
    lines = text.count("\n")
    if lines > MAX_ROWS + 1:
        raise InputError(
            f"{name} has {lines:,} rows; the limit is {MAX_ROWS:,}. Sum the sales per city and period first."
        )
    return text, sep


def _table(text: str, sep: str, name: str) -> pd.DataFrame:
    """The CSV's rows as text columns (blank lines dropped; a row with extra non-empty fields refused)."""
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error as exc:
        raise InputError(f"{name} could not be read as CSV ({exc}); use commas between columns") from None
    records = [r for r in records if any(cell.strip() for cell in r)]
    columns = [c.strip().lower() for c in records[0]]
    width = len(columns)
    for i, r in enumerate(records[1:], start=2):
        if len(r) > width and any(cell.strip() for cell in r[width:]):
            raise InputError(
                f"row {i} has {len(r)} fields but the header has {width}; "
                "quote names that contain the separator, or remove the extra fields"
            )
    frame = pd.DataFrame([(r + [""] * width)[:width] for r in records[1:]], columns=columns, dtype=str)
    if len(frame.columns) == 1 and any(d in frame.columns[0] for d in ";\t|"):
        raise InputError(f"{name} has one column only; separate columns with commas (or semicolons)")
    return frame


def _measure_values(column: pd.Series, sep: str, measure: str) -> pd.Series:
    """The measure as numbers: finite, not negative, not absurdly large (the rows named when not)."""
    values = _numbers(column, sep)
    bad = column.index[values.isna() | ~np.isfinite(values.fillna(0))].tolist()
    if bad:
        raise InputError(
            f"{measure} is not a finite number on row(s) {', '.join(str(i + 2) for i in bad[:10])}"
        )
    neg = column.index[values < 0].tolist()
    if neg:
        raise InputError(f"{measure} is negative on row(s) {', '.join(str(i + 2) for i in neg[:10])}")
    if values.max() > 1e12:
        raise InputError(f"{measure} above 10^12 on row {int(values.idxmax()) + 2}: check the column")
    return values


def read_sales(
    data: bytes, name: str = "sales.csv", mapping: dict[str, str] | None = None, country: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Parse a sales CSV into (rows, measure). Every problem raises InputError saying what to fix.

    ``mapping``: role -> the file's column (``guess_columns`` proposes one; without a mapping, the guess is
    used for roles the file does not name exactly). ``country``: the country of every row (ISO2 or name),
    for a file without a country column. Size is bounded before parsing (bytes, columns, rows), so a
    hostile file costs little."""
    text, sep = _bounded_text(data, name)
    frame = _table(text, sep, name)
    frame = _mapped(frame, mapping, country, name)
    missing = [c for c in ("city", "country") if c not in frame.columns]
    if missing:
        hint = (
            " Map the columns on the Calibrate page (or name them city / country); a file of one country can "
            "say which country every row is in (the page's \"All rows are in\", the CLI's --country)."
        )
        raise InputError(
            f"{name} lacks the column(s) {', '.join(missing)}; columns found: "
            f"{', '.join(frame.columns)[:200]}.{hint}"
        )
    measures = [m for m in MEASURES if m in frame.columns]
    if len(measures) != 1:
        raise InputError(
            f"{name} needs exactly one of the columns units, orders or revenue; found {measures or 'none'}"
        )
    measure = measures[0]
    if frame.empty:
        raise InputError(f"{name} has a header but no sales rows")
    values = _measure_values(frame[measure], sep, measure)
    frame[measure] = values
    for col in ("region", "period"):
        if col not in frame.columns:
            frame[col] = ""
    key = ["city", "country", "region", "period"]
    dup = frame.duplicated(key, keep=False)
    if dup.any():
        rows = ", ".join(str(i + 2) for i in frame.index[dup][:10])
        raise InputError(
            f"rows {rows} repeat the same city, country, region and period; merge or remove them"
        )
    frame["row"] = frame.index + 2  # the line number in the file (header is line 1)
    return frame[["row", *key, measure]], measure


def _mapped(
    frame: pd.DataFrame, mapping: dict[str, str] | None, country: str | None, name: str
) -> pd.DataFrame:
    """The file's columns renamed to their roles (the given mapping, or the guess for roles not named
    exactly), and a constant country where the file has none."""
    if mapping is None:
        guess = guess_columns(list(frame.columns))
        named_measure = any(m in frame.columns for m in MEASURES)
        mapping = {
            r: c for r, c in guess.items() if r not in frame.columns and not (r in MEASURES and named_measure)
        }
    chosen = {r: c.strip().lower() for r, c in mapping.items() if c}
    unknown = [c for c in chosen.values() if c not in frame.columns]
    if unknown:
        raise InputError(
            f"{name} has no column {unknown[0]!r}; columns found: {', '.join(frame.columns)[:200]}"
        )
    if len(set(chosen.values())) < len(chosen):
        raise InputError("one column is mapped to two roles; give each role its own column")
    keep = set(chosen.values())
    # a column named like a role that another column now plays goes (no two "city" columns); with a chosen
    # measure, the other measure-named columns go too (one measure per file)
    replaced = {r for r, c in chosen.items() if c != r}
    if any(r in MEASURES for r in chosen):
        replaced |= set(MEASURES) - set(chosen)
    frame = frame.drop(columns=[c for c in frame.columns if c in replaced and c not in keep])
    frame = frame.rename(columns={c: r for r, c in chosen.items()})
    if country and "country" not in frame.columns:
        frame["country"] = country
    return frame
