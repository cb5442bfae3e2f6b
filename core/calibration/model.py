"""Learn from your own sales: read a sales file, match cities, fit a model, predict, find twin cities.

The model is a scikit-learn estimator (params in __init__, fit returns self, learned attributes end
in ``_``, check_is_fitted in predict). It regresses log sales on log city features, the log of the
prior forecast and (with enough cities) shrunken region effects, so with little data it leans on the
prior and with more it learns the user's market. Accuracy is cross-validated fold by fold next to a
population-only model fitted the same way.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import ConstantInputWarning, spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import PoissonRegressor, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from core.errors import InputError
from core.forecast import AMBIGUITY_RATIO, CityArrays, Evaluation, city_info
from core.places.geo import chord_to_km, unit_vectors
from core.places.names import alternate_names, country_names
from core.text import fold

MAX_BYTES = 20 * 1024 * 1024  # same as the upload limit in .streamlit/config.toml
MAX_COLUMNS = 50  # a sales file needs 3-6 columns; more is a wrong file, refused before parsing
MAX_ROWS = 200_000  # sales rows per file (one row per city and period)
MEASURES = ("units", "orders", "revenue")
FEATURES = [
    "log_prior",
    "log_population",
    "log_income",
    "online_buyers_pct",
    "internet_users_pct",
    "urban_pct",
    "age_15_24_pct",
    "age_25_34_pct",
    "age_35_44_pct",
    "age_65plus_pct",
    "logistics_index",
]
REGION_COLUMN = "region_code"  # the integer code of a city's admin-1 region (a model group)
MIN_REGION_CITIES = 3  # a region gets its own effect once this many training cities are in it
COORD_COLUMNS_NAMES = ("lat", "lon")  # a city's coordinates: the model's neighbour smoothing, not features
BANDWIDTHS_KM = (25.0, 50.0, 100.0, 200.0)  # Gaussian kernel widths tried for the neighbour smoothing
NEIGHBOURS = 20  # training cities a prediction borrows residuals from (the nearest ones)
SMOOTHING_PRIOR_WEIGHT = 1.0  # the smoothed residual shrinks to 0 as if one more neighbour had residual 0
LOSSES = ("log1p", "poisson")  # least squares on log(1 + sales), or a Poisson GLM on the counts (section 17)
MIN_CITIES_FOR_CLAIM = 20  # "better than population" needs at least this many cities ...
PARTICLES = {"de", "do", "da", "dos", "das", "del", "della", "di", "du", "of", "the", "la", "le", "el"}
SYNONYMS = {
    "st": "saint",
    "ste": "sainte",
    "sta": "santa",
    "sto": "santo",
    "s": "sao",
    "mt": "mount",
    "ft": "fort",
}
REGION_WORDS = {
    "state",
    "province",
    "region",
    "oblast",
    "governorate",
    "county",
    "department",
    "prefecture",
    "district",
    "autonomous",
    "community",
    "capital",
    "territory",
    "of",
    "the",
    "land",
    "estado",
    "provincia",
    "departamento",
    "regiao",
    "do",
    "de",
    "da",
    "ili",
    "il",
}
FEDERAL_DISTRICT = "federal district"  # "Distrito Federal", "Federal District", "Capital District" ...

# Match methods, as the report names them.
EXACT, ALTERNATE, LOOSE, DISTRICT = "exact", "alternate name", "loose", "district folded"


def _region_key(name: str) -> str:
    words = fold(name).split()
    if "federal" in words or ("capital" in words and ("district" in words or "distrito" in words)):
        return FEDERAL_DISTRICT
    words = [w for w in words if w not in REGION_WORDS and w != "distrito"]
    return " ".join(words)


@cache
def iso_subdivision_names(code: str) -> tuple[str, ...]:
    """The local and English names of an ISO 3166-2 subdivision ("DE-BY" -> Bayern, Bavaria), from pycountry."""
    import gettext

    import pycountry

    try:
        sub = pycountry.subdivisions.get(code=code.upper())
    except (KeyError, LookupError):
        return ()
    if sub is None:
        return ()
    english = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"], fallback=True)
    return tuple(dict.fromkeys([sub.name, english.gettext(sub.name)]))


def loose_key(folded_name: str) -> str:
    """A name with abbreviations spelled out and particles and a trailing "city" dropped:
    "st louis" -> "saint louis", "new york city" -> "new york", "sao joao del rei" -> "sao joao rei"."""
    words = [SYNONYMS.get(w.rstrip("."), w.rstrip(".")) for w in folded_name.replace("'", " ").split()]
    if len(words) > 1 and words[-1] == "city":
        words = words[:-1]
    return " ".join(w for w in words if w not in PARTICLES)


# --- reading ------------------------------------------------------------------------------
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


def read_sales(
    data: bytes, name: str = "sales.csv", mapping: dict[str, str] | None = None, country: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Parse a sales CSV into (rows, measure). Every problem raises InputError saying what to fix.

    ``mapping``: role -> the file's column (``guess_columns`` proposes one; without a mapping, the guess is
    used for roles the file does not name exactly). ``country``: the country of every row (ISO2 or name),
    for a file without a country column. Size is bounded before parsing (bytes, columns, rows), so a
    hostile file costs little."""
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
    values = _numbers(frame[measure], sep)
    bad = frame.index[values.isna() | ~np.isfinite(values.fillna(0))].tolist()
    if bad:
        raise InputError(
            f"{measure} is not a finite number on row(s) {', '.join(str(i + 2) for i in bad[:10])}"
        )
    neg = frame.index[values < 0].tolist()
    if neg:
        raise InputError(f"{measure} is negative on row(s) {', '.join(str(i + 2) for i in neg[:10])}")
    if values.max() > 1e12:
        raise InputError(f"{measure} above 10^12 on row {int(values.idxmax()) + 2}: check the column")
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


# --- matching ------------------------------------------------------------------------------
@dataclass
class MatchReport:
    matched: pd.DataFrame  # row, city_id, period, value, method, as_written, matched_city
    unmatched: list[dict] = field(default_factory=list)  # row, city, country, reason

    @property
    def matched_rows(self) -> int:
        return len(self.matched)

    def methods(self) -> dict[str, int]:
        """Rows per match method (exact / alternate name / loose / district folded)."""
        return {k: int(v) for k, v in self.matched["method"].value_counts().items()}

    def to_confirm(self) -> list[dict]:
        """Loose and district matches, to show the user for confirmation."""
        rows = self.matched[self.matched["method"].isin([LOOSE, DISTRICT])]
        return rows[["row", "as_written", "matched_city", "method"]].to_dict("records")


class MatchError(InputError):
    """Too few rows matched; carries the report so the unmatched rows can be shown."""

    def __init__(self, message: str, report: MatchReport) -> None:
        super().__init__(message, field="sales")
        self.report = report


@dataclass(frozen=True)
class _Index:
    """Lookups from (country, folded name) to positions in the city arrays, with the match method."""

    exact: dict[tuple[str, str], list[int]]
    district: dict[tuple[str, str], list[int]]
    alternate: dict[tuple[str, str], list[tuple[int, str]]]
    loose: dict[tuple[str, str], list[tuple[int, str]]]


def _index(ca: CityArrays) -> _Index:
    pos_of = pd.Series(np.arange(ca.city_id.size), index=ca.city_id)
    exact: dict[tuple[str, str], list[int]] = {}
    loose: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for i, (name, iso) in enumerate(zip(ca.frame["ascii_name"], ca.iso2, strict=True)):
        exact.setdefault((iso, name), []).append(i)
        loose.setdefault((iso, loose_key(name)), []).append((i, LOOSE))
    district: dict[tuple[str, str], list[int]] = {}
    sec = ca.sections
    parent_pos = pos_of.reindex(sec["parent_city_id"].to_numpy()).to_numpy() if len(sec) else np.array([])
    for name, iso, p in zip(sec["ascii_name"], sec["country_iso2"], parent_pos, strict=True):
        if np.isfinite(p):
            district.setdefault((iso, name), []).append(int(p))
            loose.setdefault((iso, loose_key(name)), []).append((int(p), DISTRICT))
    # Alternate names of cities, and of districts (which lead to their city).
    section_parent = dict(zip(sec["city_id"], parent_pos, strict=True))
    alternate: dict[tuple[str, str], list[tuple[int, str]]] = {}
    alt = alternate_names()
    for cid, name in zip(alt["city_id"].to_numpy(), alt["alt_name"].to_numpy(), strict=True):
        if cid in pos_of.index:
            p, method = int(pos_of[cid]), ALTERNATE
        elif cid in section_parent and np.isfinite(section_parent[cid]):
            p, method = int(section_parent[cid]), DISTRICT
        else:
            continue
        alternate.setdefault((str(ca.iso2[p]), name), []).append((p, method))
    return _Index(exact, district, alternate, loose)


_INDEX_CACHE: dict[int, tuple[CityArrays, _Index]] = {}


def match_index(ca: CityArrays) -> _Index:
    """The lookups for a city table, built once per table (~0.5 s) and reused."""
    hit = _INDEX_CACHE.get(id(ca))
    if hit is None or hit[0] is not ca:
        _INDEX_CACHE.clear()
        hit = _INDEX_CACHE[id(ca)] = (ca, _index(ca))
    return hit[1]


def _region_filter(region: str, iso: str) -> tuple[set[str], str]:
    """Region keys and the bare code for a region as written: a name, a GeoNames code, an ISO 3166-2
    code ("BR-SP", "US-IL") or its bare suffix ("SP", "DF", "34")."""
    raw = str(region).strip()
    keys = {_region_key(raw)}
    m = re.fullmatch(r"([A-Za-z]{2})-([A-Za-z0-9]{1,3})", raw)
    code = (m.group(2) if m else raw).lower()
    if m or re.fullmatch(r"[A-Za-z0-9]{1,3}", raw):
        full = raw.upper() if m else f"{iso}-{raw.upper()}"
        keys |= {_region_key(n) for n in iso_subdivision_names(full)}
    keys.discard("")
    return keys, code


def match_cities(rows: pd.DataFrame, measure: str, ca: CityArrays) -> MatchReport:
    """Match each row to a city: accents and case folded, GeoNames alternate names, districts to the
    city that contains them, abbreviations spelled out (loose), and a region (name, GeoNames code, ISO
    3166-2 code or its bare suffix) to tell same-named cities apart. Every row gets its method, and
    unmatched and ambiguous rows are reported with the reason, never dropped silently."""
    idx = match_index(ca)
    countries = country_names()
    known_iso = set(np.unique(ca.iso2))
    admin_fold = ca.frame["admin1"].map(fold).to_numpy()
    admin_key = ca.frame["admin1"].map(_region_key).to_numpy()
    admin_code = ca.frame["admin1_code"].astype(str).str.lower().to_numpy()
    pop = ca.population
    matched, unmatched = [], []
    for r in rows.itertuples():
        iso = countries.get(fold(r.country))
        if iso is None or iso not in known_iso:
            unmatched.append(
                {
                    "row": r.row,
                    "city": r.city,
                    "country": r.country,
                    "reason": f"unknown country {r.country!r}",
                }
            )
            continue
        name = fold(r.city)
        sources = [
            [(i, EXACT) for i in idx.exact.get((iso, name), [])],
            [(i, DISTRICT) for i in idx.district.get((iso, name), [])],
            idx.alternate.get((iso, name), []),
            idx.loose.get((iso, loose_key(name)), []),
        ]
        region = str(r.region).strip()
        keys, code = _region_filter(region, iso) if region else (set(), "")
        cand: list[tuple[int, str]] = []
        seen_any = False
        for source in sources:
            pool = list(dict.fromkeys(source))  # distinct, in order
            if not pool:
                continue
            seen_any = True
            if region:
                pool = [
                    (i, m)
                    for i, m in pool
                    if admin_fold[i] == fold(region) or admin_code[i] == code or admin_key[i] in keys
                ]
            if pool:
                cand = pool
                break
        if not cand:
            reason = (
                f"no {r.city!r} in region {region!r}"
                if seen_any and region
                else f"no city {r.city!r} in {iso} among cities of 15,000+ people"
            )
            unmatched.append({"row": r.row, "city": r.city, "country": r.country, "reason": reason})
            continue
        positions = list(dict.fromkeys(i for i, _ in cand))
        if len(positions) > 1:
            ordered = sorted(positions, key=lambda i: -pop[i])
            if pop[ordered[0]] < AMBIGUITY_RATIO * pop[ordered[1]]:
                options = "; ".join(f"{ca.regions[i]}" for i in ordered[:4])
                unmatched.append(
                    {
                        "row": r.row,
                        "city": r.city,
                        "country": r.country,
                        "reason": f"ambiguous: {len(positions)} cities named {r.city!r} in {iso}; add a region ({options})",
                    }
                )
                continue
            positions = ordered[:1]
        pick = positions[0]
        method = next(m for i, m in cand if i == pick)
        matched.append(
            {
                "row": r.row,
                "city_id": int(ca.city_id[pick]),
                "period": r.period,
                "value": float(getattr(r, measure)),
                "method": method,
                "as_written": str(r.city),
                "matched_city": f"{ca.names[pick]}, {ca.regions[pick]}, {ca.iso2[pick]}",
            }
        )
    cols = ["row", "city_id", "period", "value", "method", "as_written", "matched_city"]
    return MatchReport(pd.DataFrame(matched, columns=cols), unmatched)


def aggregate(matched: pd.DataFrame) -> pd.Series:
    """Sales per city: the mean over the periods given (a total when there is no period). Rows that
    name districts of one city add up in that city."""
    if matched.empty:
        return pd.Series(dtype=float)
    n_periods = max(1, matched["period"].replace("", np.nan).nunique())
    return matched.groupby("city_id")["value"].sum() / n_periods


# --- features and model ---------------------------------------------------------------------
def feature_frame(ev: Evaluation) -> pd.DataFrame:
    """City features, indexed by city_id, with the prior forecast as a feature and the admin-1 region
    as an integer code (the model's group column)."""
    ca = ev.prepared.ca
    f = ca.frame
    region = pd.factorize(f["country_iso2"].astype(str) + "-" + f["admin1_code"].astype(str))[0]
    return pd.DataFrame(
        {
            "log_prior": np.log(np.maximum(ev.columns["expected_units_month"], 1e-9)),
            "log_population": np.log(f["population"].to_numpy()),
            "log_income": np.log(f["gdp_per_capita_ppp"].to_numpy()),
            **{c: f[c].to_numpy(float) for c in FEATURES if c in f.columns},
            REGION_COLUMN: region.astype(float),
            "lat": f["lat"].to_numpy(float),
            "lon": f["lon"].to_numpy(float),
        },
        index=pd.Index(ca.city_id, name="city_id"),
    )[[*FEATURES, REGION_COLUMN, *COORD_COLUMNS_NAMES]]


GROUP_COLUMN = len(FEATURES)  # position of REGION_COLUMN in feature_frame
COORD_COLUMNS = (GROUP_COLUMN + 1, GROUP_COLUMN + 2)  # positions of lat, lon in feature_frame
POPULATION_COLUMN = FEATURES.index("log_population")
PRIOR_COLUMN = FEATURES.index("log_prior")


class SalesModel(RegressorMixin, BaseEstimator):
    """Penalised regression of sales on standardised numeric features (least squares on log(1 + sales), or
    a Poisson GLM), with optional group effects and optional smoothing of residuals between neighbouring
    cities.

    ``X`` is numeric. With ``group_column`` set, that column holds integer group codes (the city's
    region): one-hot encoded, groups with fewer than ``min_group_size`` training rows pooled, and shrunk
    by the same ridge penalty, so a region's effect grows with the evidence for it (like a random
    effect). With ``coord_columns`` set (latitude, longitude in degrees; not features), a prediction adds
    the kernel-weighted mean of the training residuals of its ``NEIGHBOURS`` nearest training cities,
    shrunk towards 0 by ``SMOOTHING_PRIOR_WEIGHT``; the kernel width is chosen from ``bandwidths_km`` by
    leave-one-out error on the training residuals, and none is used (``bandwidth_km_`` = 0) when no
    width lowers that error. ``loss``: "log1p" fits least squares on log(1 + sales); "poisson" a Poisson
    GLM (log link) on the sales themselves, with the same penalty per row (alpha / n), the likelihood of
    counts, which copes better with many cities of 0, 1 or 2 orders. Sales cannot be negative: negative
    targets count as zero. Predictions are sales; ``predict_log`` gives log(1 + sales) for either loss.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        group_column: int | None = None,
        min_group_size: int = MIN_REGION_CITIES,
        coord_columns: tuple[int, int] | None = None,
        bandwidths_km: tuple[float, ...] = BANDWIDTHS_KM,
        loss: str = "log1p",
        columns: tuple[int, ...] | None = None,
    ) -> None:
        self.alpha = alpha
        self.group_column = group_column
        self.min_group_size = min_group_size
        self.coord_columns = coord_columns
        self.bandwidths_km = bandwidths_km
        self.loss = loss
        self.columns = columns

    def _select(self, X: np.ndarray) -> np.ndarray:
        """The columns this model uses (``columns``; all when None); group and coordinate indices refer to them."""
        return X if self.columns is None else X[:, list(self.columns)]

    def fit(self, X: object, y: object) -> SalesModel:
        X, y = validate_data(self, X, y, y_numeric=True)
        X = self._select(X)
        coords = list(self.coord_columns or ())
        if coords and max(coords) >= X.shape[1]:
            raise ValueError(
                f"coord_columns {tuple(coords)} are not columns of X: X has {X.shape[1]} feature(s)"
            )
        numeric = [j for j in range(X.shape[1]) if j != self.group_column and j not in coords]
        parts: list[tuple] = [("num", StandardScaler(), numeric)] if numeric else []
        if self.group_column is not None:
            parts.append(
                (
                    "group",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=self.min_group_size,
                        sparse_output=False,
                    ),
                    [self.group_column],
                )
            )
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        sales = np.maximum(y, 0.0)
        poisson = self.loss == "poisson"
        # Only coordinates (or no sales at all): the base is the mean, and the neighbour smoothing does the rest.
        if parts and not (poisson and sales.sum() <= 0):
            base = (
                PoissonRegressor(alpha=self.alpha / len(y), solver="newton-cholesky", max_iter=100)
                if poisson
                else Ridge(alpha=self.alpha)
            )
        else:
            base = DummyRegressor(strategy="mean")
        self.pipeline_ = Pipeline(
            [("features", ColumnTransformer(parts or [("none", "drop", coords)])), ("model", base)]
        )
        target = np.log1p(sales)
        self.pipeline_.fit(X, sales if poisson else target)
        self.bandwidth_km_ = 0.0
        if coords:
            self.residuals_ = target - self._base_log(X)
            self.tree_ = cKDTree(unit_vectors(X[:, coords[0]], X[:, coords[1]]))
            self.bandwidth_km_ = self._choose_bandwidth(X[:, coords])
        return self

    def _base_log(self, X: np.ndarray) -> np.ndarray:
        """log(1 + sales) of the fitted model before neighbour smoothing."""
        pred = self.pipeline_.predict(X)
        return np.log1p(np.maximum(pred, 0.0)) if self.loss == "poisson" else pred

    def _neighbours(self, latlon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = min(NEIGHBOURS + 1, len(self.residuals_))
        chord, idx = self.tree_.query(unit_vectors(latlon[:, 0], latlon[:, 1]), k=k)
        chord, idx = chord.reshape(len(latlon), k), idx.reshape(len(latlon), k)  # k = 1 drops an axis
        return chord_to_km(chord), idx

    def _smoothed(
        self, dist: np.ndarray, idx: np.ndarray, bandwidth_km: float, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        w = np.exp(-0.5 * (dist / bandwidth_km) ** 2)
        if exclude is not None:
            w = np.where(idx == exclude[:, None], 0.0, w)
        else:
            w = w[:, :NEIGHBOURS]  # the extra neighbour is only fetched to leave a city itself out
            idx = idx[:, :NEIGHBOURS]
        return (w * self.residuals_[idx]).sum(axis=1) / (w.sum(axis=1) + SMOOTHING_PRIOR_WEIGHT)

    def _choose_bandwidth(self, latlon: np.ndarray) -> float:
        """The width whose leave-one-out smoothed residual best predicts each training city's own
        residual; 0 (no smoothing) when none beats predicting 0."""
        dist, idx = self._neighbours(latlon)
        own = np.arange(len(self.residuals_))
        best, best_err = 0.0, float(np.mean(self.residuals_**2))
        for h in self.bandwidths_km:
            err = float(np.mean((self.residuals_ - self._smoothed(dist, idx, h, exclude=own)) ** 2))
            if err < best_err:
                best, best_err = float(h), err
        return best

    def predict_log(self, X: object) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        X = self._select(validate_data(self, X, reset=False))
        out = self._base_log(X)
        if self.bandwidth_km_ > 0:
            dist, idx = self._neighbours(X[:, list(self.coord_columns)])
            out = out + self._smoothed(dist, idx, self.bandwidth_km_)
        return out

    def predict(self, X: object) -> np.ndarray:
        return np.maximum(np.expm1(self.predict_log(X)), 0.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # fits log(1 + max(y, 0)): arbitrary real targets fit poorly
        return tags


def full_model(alpha: float = 1.0, loss: str = "log1p") -> SalesModel:
    """The calibration model: every feature, the prior, region effects and neighbour smoothing."""
    return SalesModel(alpha, group_column=GROUP_COLUMN, coord_columns=COORD_COLUMNS, loss=loss)


def population_region_model(alpha: float = 1.0, loss: str = "poisson") -> SalesModel:
    """A plain region GLM: log population with region effects, nothing else (no prior, no smoothing). On a
    sparse file it can rank cities better than the full model, whose many features the few sales cannot
    pin down; cross-validation chooses (``select_model``)."""
    return SalesModel(alpha, group_column=1, columns=(POPULATION_COLUMN, GROUP_COLUMN), loss=loss)


MODELS = {"full": full_model, "population_region": population_region_model}
# The models cross-validation chooses between, as (model, loss): the full model with either loss, and the
# plain region GLM (methodology section 17).
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("full", "log1p"),
    ("full", "poisson"),
    ("population_region", "poisson"),
)


def baseline_columns(X: np.ndarray) -> np.ndarray:
    return X[:, [POPULATION_COLUMN]]


@dataclass
class CVReport:
    spearman: float
    baseline_spearman: float
    rmsle: float  # root mean squared error of log(1 + sales): the error on the scale of sales
    baseline_rmsle: float
    residual_quantiles: tuple[float, float]  # 10th and 90th percentile of out-of-fold log residuals
    n_folds: int
    fold_spearman: list[float] = field(default_factory=list)
    fold_baseline_spearman: list[float] = field(default_factory=list)
    n_cities: int = 0
    prior_spearman: float = 0.0  # the uncalibrated forecast's own rank correlation with the sales (no fit)
    fold_prior_spearman: list[float] = field(default_factory=list)
    loss: str = "log1p"  # the model's loss (LOSSES), the same for the population-only baseline
    model: str = "full"  # which model (MODELS) these figures are of

    @property
    def folds_better_than_prior(self) -> int:
        return sum(a > b for a, b in zip(self.fold_spearman, self.fold_prior_spearman, strict=True))

    @property
    def folds_better(self) -> int:
        return sum(a > b for a, b in zip(self.fold_spearman, self.fold_baseline_spearman, strict=True))

    @property
    def beats_population(self) -> bool:
        """The claim "better than population alone" holds only when every fold says so, on enough cities."""
        n = len(self.fold_spearman)
        return n >= 3 and self.folds_better == n and self.n_cities >= MIN_CITIES_FOR_CLAIM


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; 0 where it is undefined (fewer than 2 values, or one side constant,
    as with a fold of cities that all sold nothing)."""
    if len(a) < 2:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        r = spearmanr(a, b).statistic
    return float(r) if np.isfinite(r) else 0.0


def cross_validate(
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    alpha: float = 1.0,
    seed: int = 0,
    loss: str = "log1p",
    model: str = "full",
) -> CVReport:
    """K-fold (up to 5) out-of-fold accuracy of the model (``MODELS[model]``) and of the population-only
    baseline (both with ``loss``), and of the uncalibrated forecast, overall and fold by fold."""
    make = MODELS[model]
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n = len(y)
    if n < 5:
        raise InputError("cross-validation needs sales in at least 5 matched cities")
    folds = KFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    ly = np.log1p(y)
    full, base = np.empty(n), np.empty(n)
    fold_full, fold_base, fold_prior = [], [], []
    for tr, te in folds.split(X):
        full[te] = make(alpha, loss).fit(X[tr], y[tr]).predict_log(X[te])
        base[te] = (
            SalesModel(alpha, loss=loss)
            .fit(baseline_columns(X[tr]), y[tr])
            .predict_log(baseline_columns(X[te]))
        )
        fold_full.append(rank_correlation(full[te], ly[te]))
        fold_base.append(rank_correlation(base[te], ly[te]))
        fold_prior.append(rank_correlation(X[te, PRIOR_COLUMN], ly[te]))
    resid = ly - full
    return CVReport(
        rank_correlation(full, ly),
        rank_correlation(base, ly),
        float(np.sqrt(np.mean(resid**2))),
        float(np.sqrt(np.mean((ly - base) ** 2))),
        (float(np.quantile(resid, 0.1)), float(np.quantile(resid, 0.9))),
        folds.get_n_splits(),
        fold_full,
        fold_base,
        n,
        rank_correlation(X[:, PRIOR_COLUMN], ly),
        fold_prior,
        loss,
        model,
    )


def select_model(
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    alpha: float = 1.0,
    seed: int = 0,
    losses: tuple[str, ...] = LOSSES,
    region_glm: bool = True,
) -> CVReport:
    """Cross-validate each candidate (the full model with each of ``losses``; the plain region GLM unless
    ``region_glm`` is False) on the same folds and keep the one whose out-of-fold rank correlation is
    higher, averaged over the folds (a tie keeps the earlier: the full model, log1p first)."""
    cands = [
        (m, loss)
        for m, loss in CANDIDATES
        if (m == "full" and loss in losses) or (m != "full" and region_glm)
    ]
    with single_threaded_blas():
        reports = [cross_validate(X, y, alpha, seed, loss, model) for model, loss in cands]
    return max(reports, key=lambda r: float(np.mean(r.fold_spearman)))


def fit_model(
    X: np.ndarray,
    y: np.ndarray,
    alpha: float = 1.0,
    losses: tuple[str, ...] = LOSSES,
    region_glm: bool = True,
) -> tuple[SalesModel, CVReport]:
    """The calibration model for these cities: the candidate chosen by ``select_model``, fitted on all of
    them, with its cross-validation report. calibrate() and the validation's held-out halves both use it."""
    cv = select_model(X, y, alpha, losses=losses, region_glm=region_glm)
    with single_threaded_blas():
        return MODELS[cv.model](alpha, cv.loss).fit(X, y), cv


def single_threaded_blas() -> threadpool_limits:
    """BLAS on one thread for the model fits: their matrices are a few thousand rows by a few dozen
    columns, where OpenBLAS's threads only spin (a Poisson fit on 966 cities: 0.19 s threaded, 0.015 s
    on one thread, measured in session 5)."""
    return threadpool_limits(limits=1, user_api="blas")


def accuracy_claim(metrics: dict) -> tuple[bool, str]:
    """What the page may say about accuracy, from stored metrics: (is it a success, the sentence)."""
    folds = metrics.get("fold_spearman") or []
    better = metrics.get("folds_better", 0)
    n = metrics.get("n_train", 0)
    if metrics.get("beats_population"):
        return (
            True,
            f"Calibration ranks your cities better than population alone in every one of {len(folds)} cross-validation folds.",
        )
    if n < MIN_CITIES_FOR_CLAIM:
        return False, (
            f"Only {n} cities in your file: too few to say whether calibration beats population alone "
            f"(that needs {MIN_CITIES_FOR_CLAIM}+ cities and every fold to agree)."
        )
    return False, (
        f"Calibration beats population alone in {better} of {len(folds)} folds: not consistently, "
        "so treat its predictions with care."
    )


def prior_sentence(metrics: dict) -> tuple[bool, str]:
    """How the calibration compares with the uncalibrated forecast on the same folds: (does it add
    something, the sentence). As for "better than population" (``accuracy_claim``), the claim needs every
    fold: when the sales carry no more than the forecast, each fold is a coin flip, and "most folds" would
    be claimed half the time. Sparse sales (a few orders per city) often cannot beat it."""
    folds = metrics.get("fold_prior_spearman") or []
    better = metrics.get("folds_better_than_prior", 0)
    prior = metrics.get("prior_cv_spearman", 0.0)
    if folds and better == len(folds):
        return True, (
            f"The uncalibrated forecast alone ranks these cities at {prior:.2f}; calibration is better in "
            f"every one of {len(folds)} folds."
        )
    return False, (
        f"The uncalibrated forecast alone ranks these cities at {prior:.2f}, and calibration is better in only "
        f"{better} of {len(folds)} folds: your sales do not consistently say more than the forecast (common "
        "with few sales per city), so prefer the forecast's own ranking."
    )


LOSS_LABELS = {
    "log1p": "least squares on log(1 + sales)",
    "poisson": "a Poisson regression on the sales counts",
}


def model_sentence(loss: str, model: str = "full") -> str:
    """Which of the candidate models cross-validation chose for this file (methodology section 17)."""
    if model == "population_region":
        return (
            "Model: population with region effects (a Poisson regression, no other features), which ranked your "
            "cities better in cross-validation than the full model with its city features: your file is too "
            "sparse for them, so the predictions rest on population and your regions' sales."
        )
    other = next(v for k, v in LOSS_LABELS.items() if k != loss)
    return (
        f"Model: {LOSS_LABELS[loss]} on the city features, the forecast and region effects, which ranked your "
        f"cities at least as well in cross-validation as {other} and as population with region effects alone."
    )


def smoothing_sentence(smoothing_km: float) -> str:
    """What the page says about the neighbour smoothing the model chose (methodology section 17)."""
    if smoothing_km > 0:
        return (
            f"Nearby cities: what your sales say beyond the city features and regions is smoothed over about "
            f"{smoothing_km:,.0f} km (the width your own cities support best, chosen by leave-one-out)."
        )
    return (
        "Nearby cities: your sales show no local pattern beyond the city features and regions, so predictions "
        "do not borrow from neighbouring cities."
    )


@dataclass
class Calibration:
    measure: str
    report: MatchReport
    cv: CVReport
    predictions: pd.DataFrame  # one row per city in scope
    twins: pd.DataFrame
    smoothing_km: float = 0.0  # the neighbour-smoothing width the final model chose (0: none)

    def metrics(self) -> dict:
        """Accuracy next to the population-only baseline (what the page, CLI and database keep)."""
        return {
            "cv_spearman": self.cv.spearman,
            "baseline_cv_spearman": self.cv.baseline_spearman,
            "cv_rmsle": self.cv.rmsle,
            "baseline_cv_rmsle": self.cv.baseline_rmsle,
            "n_train": int(self.predictions["in_training"].sum()),
            "n_folds": self.cv.n_folds,
            "fold_spearman": self.cv.fold_spearman,
            "fold_baseline_spearman": self.cv.fold_baseline_spearman,
            "folds_better": self.cv.folds_better,
            "beats_population": self.cv.beats_population,
            "smoothing_km": self.smoothing_km,
            "prior_cv_spearman": self.cv.prior_spearman,
            "fold_prior_spearman": self.cv.fold_prior_spearman,
            "folds_better_than_prior": self.cv.folds_better_than_prior,
            "loss": self.cv.loss,
            "model": self.cv.model,
        }

    def report_dict(self) -> dict:
        return {
            "matched_rows": self.report.matched_rows,
            "unmatched_rows": self.report.unmatched,
            "match_methods": self.report.methods(),
            "to_confirm": self.report.to_confirm(),
            "twins": self.twins.to_dict("records"),
        }


def matched_sales(
    sales: pd.DataFrame, measure: str, ca: CityArrays, minimum: int = 5
) -> tuple[MatchReport, pd.Series]:
    """Match the rows and sum them per city; too few cities raises MatchError carrying the report."""
    report = match_cities(sales, measure, ca)
    y_by_city = aggregate(report.matched)
    if len(y_by_city) < minimum:
        first = "; ".join(f"row {u['row']}: {u['reason']}" for u in report.unmatched[:3])
        raise MatchError(
            f"only {len(y_by_city)} cities matched ({report.matched_rows} of {len(sales)} rows); "
            f"at least {minimum} are needed. {first}",
            report,
        )
    return report, y_by_city


def calibrate(
    sales: pd.DataFrame,
    measure: str,
    ev: Evaluation,
    countries: list[str] | None = None,
    alpha: float = 1.0,
    extra: pd.DataFrame | None = None,
) -> Calibration:
    """Match, fit, cross-validate, predict every city in scope, and find twins of the best cities.
    ``extra``: more numeric features by city_id (e.g. search interest, core.trends.feature_columns),
    appended after the standard ones; cities it lacks get 0."""
    from core.forecast import scope_mask

    ca = ev.prepared.ca
    report, y_by_city = matched_sales(sales, measure, ca)
    X_all = feature_frame(ev)
    if extra is not None and not extra.empty:
        X_all = X_all.join(extra.reindex(X_all.index).fillna(0.0))
    X = X_all.loc[y_by_city.index].to_numpy(float)
    y = y_by_city.to_numpy()
    model, cv = fit_model(X, y, alpha)
    covered = sorted(city_info(ca, y_by_city.index)["country_iso2"].unique())
    mask = scope_mask(ca, countries or covered)
    ids = ca.city_id[mask]
    log_pred = model.predict_log(X_all.loc[ids].to_numpy(float))
    lo, hi = cv.residual_quantiles
    predictions = (
        pd.concat([pd.DataFrame({"city_id": ids}), city_info(ca, ids)], axis=1)
        .assign(
            predicted=np.maximum(np.expm1(log_pred), 0),
            predicted_low=np.maximum(np.expm1(log_pred + lo), 0),
            predicted_high=np.maximum(np.expm1(log_pred + hi), 0),
            in_training=np.isin(ids, y_by_city.index),
        )
        .sort_values(["predicted", "city_id"], ascending=[False, True])
        .reset_index(drop=True)
    )
    twins = twin_cities(X_all, y_by_city, mask, ca)
    return Calibration(measure, report, cv, predictions, twins, model.bandwidth_km_)


def twin_cities(
    X_all: pd.DataFrame,
    y_by_city: pd.Series,
    mask: np.ndarray,
    ca: CityArrays,
    best: int = 5,
    per_city: int = 3,
) -> pd.DataFrame:
    """For the user's best cities, the most similar cities they do not sell in yet (CARTO-style twin
    areas): standardised features without the prior, PCA to 5 components, Euclidean nearest neighbours.
    Similarity = 100 / (1 + distance)."""
    feats = [c for c in FEATURES if c != "log_prior"]
    Z = StandardScaler().fit_transform(X_all[feats].to_numpy(float))
    P = PCA(n_components=5, random_state=0).fit_transform(Z)
    pos = pd.Series(np.arange(len(X_all)), index=X_all.index)
    sold = set(y_by_city.index)
    pool = np.flatnonzero(mask & ~np.isin(ca.city_id, list(sold)))
    rows = []
    for cid in y_by_city.sort_values(ascending=False).index[:best]:
        d = np.linalg.norm(P[pool] - P[pos[cid]], axis=1)
        for j in np.argsort(d, kind="stable")[:per_city]:
            twin = pool[j]
            rows.append(
                {
                    "city_id": int(cid),
                    "city": ca.names[pos[cid]],
                    "twin_id": int(ca.city_id[twin]),
                    "twin": ca.names[twin],
                    "twin_country": ca.iso2[twin],
                    "similarity": 100 / (1 + float(d[j])),
                }
            )
    return pd.DataFrame(rows)


def apply_calibration(table: pd.DataFrame, predictions: pd.DataFrame, covered: list[str]) -> pd.DataFrame:
    """A ranking re-ordered by a calibration, inside the countries the calibration covers only.

    The calibration knows the countries of the user's sales (its predictions cover them): there its
    cities are re-ordered by the calibrated prediction, in the places those countries' cities already held
    in the ranking, so London keeps its place in a world ranking calibrated on Brazil. Elsewhere the
    prior's order stands. ``calibrated_units_month`` puts the predictions on the ranking's scale and period:
    the calibrated pattern (any measure, any period of the user's file) scaled so that the covered cities
    of the table add up to the prior's expected units a month there. ``prior_rank`` keeps the open-data rank.
    ``covered``: the calibration's countries (``calibration_scope``).
    """
    pred = predictions.set_index("city_id")["predicted"]
    inside = table["country_iso2"].isin(covered).to_numpy()
    raw = table["city_id"].map(pred)
    known = inside & raw.notna().to_numpy()
    total = float(raw[known].sum())
    scale = float(table.loc[known, "expected_units_month"].sum()) / total if total > 0 else np.nan
    calibrated = raw * scale
    slots = np.flatnonzero(inside)
    within = table.iloc[slots].assign(_c=calibrated.iloc[slots].to_numpy())
    reordered = within.sort_values(
        ["_c", "rank"], ascending=[False, True], na_position="last"
    ).index.to_numpy()
    order = table.index.to_numpy().copy()
    order[slots] = reordered
    out = table.loc[order].assign(calibrated_units_month=calibrated.loc[order].to_numpy())
    return out.assign(prior_rank=out["rank"].astype(int), rank=np.arange(1, len(out) + 1)).reset_index(
        drop=True
    )


def calibration_scope(predictions: pd.DataFrame, ca: CityArrays) -> list[str]:
    """The countries a calibration's predictions cover (where ``apply_calibration`` re-orders)."""
    ids = predictions["city_id"].to_numpy(np.int64)
    pos = np.searchsorted(ca.city_id, ids)
    ok = pos < ca.city_id.size
    ok[ok] = ca.city_id[pos[ok]] == ids[ok]  # a city no longer in the table is skipped, not an error
    return sorted(set(ca.iso2[pos[ok]].tolist()))
