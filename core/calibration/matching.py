"""Matching a sales file's city names to the city table: exact, alternate names, loose spellings and
districts folded into their city, inside the row's country and (when given) region."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from core.errors import InputError
from core.forecast import AMBIGUITY_RATIO, CityArrays
from core.places.names import alternate_names, country_names
from core.text import fold

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


@dataclass(frozen=True)
class _Admin:
    """Each city's admin-1 region as a sales file may write it: folded name, name key, GeoNames code."""

    fold: np.ndarray
    key: np.ndarray
    code: np.ndarray

    @classmethod
    def of(cls, ca: CityArrays) -> _Admin:
        admin1 = ca.frame["admin1"]
        return cls(
            admin1.map(fold).to_numpy(),
            admin1.map(_region_key).to_numpy(),
            ca.frame["admin1_code"].astype(str).str.lower().to_numpy(),
        )


def _candidates(idx: _Index, admin: _Admin, iso: str, city: str, region: str) -> tuple[list, bool]:
    """(candidates, any name matched): the first non-empty source of exact, district, alternate and loose
    matches, kept to the region when one is given."""
    name = fold(city)
    sources = [
        [(i, EXACT) for i in idx.exact.get((iso, name), [])],
        [(i, DISTRICT) for i in idx.district.get((iso, name), [])],
        idx.alternate.get((iso, name), []),
        idx.loose.get((iso, loose_key(name)), []),
    ]
    keys, code = _region_filter(region, iso) if region else (set(), "")
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
                if admin.fold[i] == fold(region) or admin.code[i] == code or admin.key[i] in keys
            ]
        if pool:
            return pool, seen_any
    return [], seen_any


def _pick(cand: list, ca: CityArrays, city: str, iso: str) -> tuple[int | None, str]:
    """The matched position, or None and why: same-named cities are told apart by size only when the
    largest is AMBIGUITY_RATIO times the next."""
    positions = list(dict.fromkeys(i for i, _ in cand))
    if len(positions) > 1:
        ordered = sorted(positions, key=lambda i: -ca.population[i])
        if ca.population[ordered[0]] < AMBIGUITY_RATIO * ca.population[ordered[1]]:
            options = "; ".join(f"{ca.regions[i]}" for i in ordered[:4])
            return (
                None,
                f"ambiguous: {len(positions)} cities named {city!r} in {iso}; add a region ({options})",
            )
        positions = ordered[:1]
    return positions[0], ""


def match_cities(rows: pd.DataFrame, measure: str, ca: CityArrays) -> MatchReport:
    """Match each row to a city: accents and case folded, GeoNames alternate names, districts to the
    city that contains them, abbreviations spelled out (loose), and a region (name, GeoNames code, ISO
    3166-2 code or its bare suffix) to tell same-named cities apart. Every row gets its method, and
    unmatched and ambiguous rows are reported with the reason, never dropped silently."""
    idx, admin = match_index(ca), _Admin.of(ca)
    countries = country_names()
    known_iso = set(np.unique(ca.iso2))
    matched, unmatched = [], []
    for r in rows.itertuples():
        iso = countries.get(fold(r.country))
        if iso is None or iso not in known_iso:
            reason = f"unknown country {r.country!r}"
            unmatched.append({"row": r.row, "city": r.city, "country": r.country, "reason": reason})
            continue
        region = str(r.region).strip()
        cand, seen_any = _candidates(idx, admin, iso, r.city, region)
        if not cand:
            reason = (
                f"no {r.city!r} in region {region!r}"
                if seen_any and region
                else f"no city {r.city!r} in {iso} among cities of 15,000+ people"
            )
            unmatched.append({"row": r.row, "city": r.city, "country": r.country, "reason": reason})
            continue
        pick, reason = _pick(cand, ca, r.city, iso)
        if pick is None:
            unmatched.append({"row": r.row, "city": r.city, "country": r.country, "reason": reason})
            continue
        matched.append(
            {
                "row": r.row,
                "city_id": int(ca.city_id[pick]),
                "period": r.period,
                "value": float(getattr(r, measure)),
                "method": next(m for i, m in cand if i == pick),
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
