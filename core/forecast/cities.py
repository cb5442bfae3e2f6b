"""The city table as the engine's arrays, where a seller ships from, and positions in the arrays
(docs/methodology.md sections 1-2, 4, 9). Part of the engine (core.forecast)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import InputError
from core.forecast.categories import AGE_BANDS
from core.places.climate import monthly_temperature
from core.places.names import cities_called, display_names
from core.text import fold

# --- parameters of the city arrays (docs/methodology.md, "Parameters") ---
# Inside a country, the share of the cross-country income gradient that applies to a region's income
# ratio (adoption in the data build, spend per buyer here): docs/methodology.md section 2, "Within a country".
WITHIN_COUNTRY_INCOME_SHARE = 0.3
SIGMA_BASE = 0.8  # log-sd of the model's error for a city with measured inputs
SIGMA_IMPUTED_ADOPTION = 0.4
SIGMA_INHERITED_INCOME = 0.3
AMBIGUITY_RATIO = 10.0  # a same-named city wins when it is 10x as populous as the next
# Income per head grows with city size as population^0.12 (urban scaling, docs/methodology.md section 2):
# the data build's city_size_factor, and the rescaling of a user's own population (core.forecast.custom).
CITY_SIZE_INCOME_EXPONENT = 0.12


# --- the city table as arrays ---------------------------------------------------------------
@dataclass(frozen=True)
class Origin:
    label: str
    iso2: str
    lat: float
    lon: float


@dataclass(frozen=True, repr=False)
class CityArrays:
    """Column arrays of the city table, prepared once per process (cached by the caller)."""

    frame: pd.DataFrame
    city_id: np.ndarray
    population: np.ndarray
    adults: np.ndarray
    online_buyers: np.ndarray
    income_ppp: np.ndarray  # income that drives demand: country level x damped regional ratio (city_arrays)
    city_size: np.ndarray  # urban-scaling factor of income per head (docs/data.md)
    price_level: np.ndarray
    age_shares: np.ndarray  # (n, 6): share of adults in each band
    world_age_shares: np.ndarray  # (6,): population-weighted mean of age_shares
    lat: np.ndarray
    lon: np.ndarray
    iso2: np.ndarray
    names: np.ndarray
    regions: np.ndarray
    logistics: np.ndarray
    hub_lat: np.ndarray  # each city's domestic fulfilment hub: its country's most populous city
    hub_lon: np.ndarray
    online_pct: np.ndarray
    servers: np.ndarray
    sigma: np.ndarray
    reference_income: float
    medians: dict[str, float] = field(default_factory=dict)  # of the product-independent log terms
    sections: pd.DataFrame = field(default_factory=pd.DataFrame)  # districts folded into a city
    iso2_to_iso3: dict[str, str] = field(default_factory=dict)
    origin_cache: dict[str, Origin | None] = field(default_factory=dict)
    # Climate (core.places.climate): Köppen-Geiger zone and the month-by-month mean temperature (n, 12).
    koppen: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    # Names as shown: namesakes in one region told apart (core.places.names.display_names); ``names`` stays
    # the plain name, for matching.
    labels: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    monthly_temp: np.ndarray = field(default_factory=lambda: np.zeros((0, 12)))
    # A user's own city data laid over these arrays (core.forecast.custom): city id -> its CustomCity.
    custom: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"CityArrays({self.city_id.size} cities)"


def _split_sections(c: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cities, sections): districts folded into their city are kept aside for name matching."""
    sections = pd.DataFrame(
        columns=["city_id", "name", "ascii_name", "country_iso2", "admin1", "admin1_code", "parent_city_id"]
    )
    if "parent_city_id" in c.columns:
        folded = c["parent_city_id"].notna()
        sections = c.loc[folded, sections.columns].astype({"parent_city_id": "int64"}).reset_index(drop=True)
        c = c[~folded].reset_index(drop=True)
    return c, sections


def _sigma(c: pd.DataFrame) -> np.ndarray:
    """Each city's log-scale uncertainty: a base, wider where adoption is imputed or income inherited."""
    imputed_adoption = c["online_buyers_pct_flag"].to_numpy() == "imputed"
    weak_income = np.isin(c["income_flag"].to_numpy(), ["inherited", "imputed"])
    return np.sqrt(
        SIGMA_BASE**2 + imputed_adoption * SIGMA_IMPUTED_ADOPTION**2 + weak_income * SIGMA_INHERITED_INCOME**2
    )


def _medians(c: pd.DataFrame, adults: np.ndarray, income_ratio: np.ndarray) -> dict[str, float]:
    """Medians of the product-independent log terms (the engine's score points are relative to them)."""
    return {
        "log_online_buyers": float(
            np.median(np.log(np.maximum(adults * c["online_buyers_pct"].to_numpy(float) / 100, 1e-9)))
        ),
        "log_income_ratio": float(np.median(np.log(income_ratio))),
        "log_price_level": float(np.median(np.log(c["price_level_ratio"].to_numpy(float)))),
        "log_city_size": float(np.median(np.log(c["city_size_factor"].to_numpy(float))))
        if "city_size_factor" in c
        else 0.0,
    }


def city_arrays(
    cities: pd.DataFrame, within_country_share: float = WITHIN_COUNTRY_INCOME_SHARE
) -> CityArrays:
    """Turn the city table (core.db.repo.load_cities) into arrays for the engine.

    Districts folded into their city (rows with a ``parent_city_id``, docs/data.md "One row per city")
    are kept aside in ``sections`` for name matching; every number uses the cities only.
    ``within_country_share``: the share of a region's income ratio that drives spend (methodology section
    2); the shipped value unless a measurement asks what another would give (bench/within_country.py).
    """
    c, sections = _split_sections(cities.sort_values("city_id").reset_index(drop=True))
    pop = c["population"].to_numpy(float)
    adults = pop * c["adult_pct"].to_numpy(float) / 100
    ages = c[[f"age_{b}_pct" for b in AGE_BANDS]].to_numpy(float)
    shares = ages / ages.sum(axis=1, keepdims=True)
    world = (shares * pop[:, None]).sum(axis=0) / pop.sum()
    us = c["country_iso3"].to_numpy() == "USA"
    # Income that drives demand: the country's level, and a damped share of the region's ratio to it
    # (WITHIN_COUNTRY_INCOME_SHARE); the sourced regional income stays in the table as it is.
    ratio = c["region_income_ratio"].to_numpy(float) if "region_income_ratio" in c else np.ones(len(c))
    demand_income = c["gdp_per_capita_ppp"].to_numpy(float) / ratio * ratio**within_country_share
    # Reference income: the US (where category spend is measured), population-weighted.
    ref = float(np.average(demand_income[us], weights=pop[us])) if us.any() else 1.0
    # Domestic hub: the most populous city of each country (where a domestic seller's stock sits).
    hubs = c.sort_values(["population", "city_id"], ascending=[False, True]).drop_duplicates("country_iso2")
    hub = hubs.set_index("country_iso2")
    koppen = c["koppen_zone"].fillna("").to_numpy(str) if "koppen_zone" in c else np.full(len(c), "")
    return CityArrays(
        frame=c,
        city_id=c["city_id"].to_numpy(np.int64),
        population=pop,
        adults=adults,
        online_buyers=adults * c["online_buyers_pct"].to_numpy(float) / 100,
        income_ppp=demand_income,
        city_size=c["city_size_factor"].to_numpy(float) if "city_size_factor" in c else np.ones(len(c)),
        price_level=c["price_level_ratio"].to_numpy(float),
        age_shares=shares,
        world_age_shares=world,
        lat=c["lat"].to_numpy(float),
        lon=c["lon"].to_numpy(float),
        iso2=c["country_iso2"].to_numpy(str),
        names=c["name"].to_numpy(object),
        labels=display_names(c),
        regions=c["admin1"].to_numpy(object),
        logistics=c["logistics_index"].to_numpy(float),
        hub_lat=c["country_iso2"].map(hub["lat"]).to_numpy(float),
        hub_lon=c["country_iso2"].map(hub["lon"]).to_numpy(float),
        online_pct=c["online_buyers_pct"].to_numpy(float),
        servers=c["secure_servers_per_million"].to_numpy(float),
        sigma=_sigma(c),
        reference_income=ref,
        medians=_medians(c, adults, demand_income / ref),
        iso2_to_iso3=dict(zip(c["country_iso2"], c["country_iso3"], strict=False)),
        sections=sections,
        koppen=koppen,
        monthly_temp=monthly_temperature(koppen, c["lat"].to_numpy(float)),
    )


# --- ships-from ---------------------------------------------------------------------------
def resolve_origin(text: str | None, ca: CityArrays) -> Origin | None:
    """Resolve "Istanbul, TR", "Istanbul" or "TR" to a location; None means local fulfilment.

    A country resolves to its most populous city. Unknown or ambiguous names raise InputError
    with suggestions. Results are remembered per city table.
    """
    if text is None or not text.strip():
        return None
    key = text.strip()
    if key not in ca.origin_cache:
        ca.origin_cache[key] = _resolve_origin(key, ca)
    return ca.origin_cache[key]


def _resolve_origin(text: str, ca: CityArrays) -> Origin:
    r = ca.frame.iloc[_match_row(text, ca)]
    return Origin(f"{r['name']}, {r['country_iso2']}", r["country_iso2"], float(r["lat"]), float(r["lon"]))


def match_city(text: str, ca: CityArrays, field: str = "city") -> int:
    """The city id that "City, CC", "City, Region, CC", "City" or "CC" names (the ships-from matcher's rules:
    a country is its most populous city); InputError with suggestions when unknown or ambiguous."""
    return int(ca.frame["city_id"].iat[_match_row(text, ca, "city", field)])


def _match_row(text: str, ca: CityArrays, what: str = "ships-from city", field: str = "ships_from") -> int:
    """Position in ``ca.frame`` of the place a text names (resolve_origin, match_city)."""
    f = ca.frame
    parts = [p.strip() for p in text.split(",") if p.strip()]
    iso = {i.upper() for i in f["country_iso2"].unique()}
    iso3 = {v.upper(): k for k, v in ca.iso2_to_iso3.items()}

    def to_iso2(code: str) -> str | None:
        code = code.upper()
        return code if code in iso else iso3.get(code)

    def pick(rows: pd.DataFrame) -> int:
        best = rows.sort_values(["population", "city_id"], ascending=[False, True]).index[0]
        return int(f.index.get_loc(best))

    if len(parts) == 1 and to_iso2(parts[0]) and len(parts[0]) in (2, 3):
        code = to_iso2(parts[0])
        return pick(f[f["country_iso2"] == code])
    country = None
    if len(parts) >= 2:
        country = to_iso2(parts[-1])
        if country is None:
            raise InputError(
                f"unknown country code {parts[-1]!r} in the {what}; use ISO codes like TR or TUR",
                field=field,
            )
    name = fold(parts[0])
    rows = f[(f["ascii_name"] == name) | (f["name"].str.lower() == parts[0].lower())]
    if rows.empty or (country and not (rows["country_iso2"] == country).any()):
        rows = f[f["city_id"].isin(cities_called(name))]  # alternate names: "Cologne" -> Köln
    if country:
        rows = rows[rows["country_iso2"] == country]
    if len(parts) == 3:
        rows = rows[rows["admin1"].map(fold) == fold(parts[1])]
    if rows.empty:
        pool = f if country is None else f[f["country_iso2"] == country]
        near = pool[pool["ascii_name"].str.startswith(name[:3])].nlargest(5, "population")
        hint = "; ".join(f"{r.name}, {r.country_iso2}" for r in near.itertuples()) or "none"
        raise InputError(f"unknown {what} {text!r}; did you mean: {hint}", field=field)
    pops = np.sort(rows["population"].to_numpy())[::-1]
    # Several places share the name: accept the largest only when it dwarfs the next (Paris, FR
    # over Paris, Texas); otherwise ask for the region or country.
    if len(pops) > 1 and pops[0] < AMBIGUITY_RATIO * pops[1]:
        top = rows.nlargest(5, "population")
        hint = "; ".join(f"{r.name}, {r.admin1}, {r.country_iso2}" for r in top.itertuples())
        raise InputError(
            f"{what} {text!r} is ambiguous; write it as City, Region, CC, e.g.: {hint}",
            field=field,
        )
    return pick(rows)


def positions(ca: CityArrays, ids: object) -> np.ndarray:
    """Where cities (GeoNames ids, any order) sit in the prepared arrays: a binary search, since the
    arrays are sorted by city id. InputError for an id that is not a city of the table."""
    ids = np.asarray(ids, dtype=np.int64).ravel()
    pos = np.searchsorted(ca.city_id, ids)
    if ids.size and (pos.max() >= ca.city_id.size or not np.array_equal(ca.city_id[pos], ids)):
        raise InputError("unknown city id in the request", field="city_id")
    return pos


def city_info(ca: CityArrays, ids: object, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """City, region, ISO code, position and population (plus ``extra`` columns) for city ids, in order."""
    pos = positions(ca, ids)
    out = {
        "city": ca.labels[pos],
        "region": ca.regions[pos],
        "country_iso2": ca.iso2[pos],
        "lat": ca.lat[pos],
        "lon": ca.lon[pos],
        "population": ca.population[pos],
    }
    out.update({c: ca.frame[c].to_numpy()[pos] for c in extra})
    return pd.DataFrame(out)


def scope_mask(ca: CityArrays, countries: list[str] | None) -> np.ndarray:
    """Cities in the given countries (ISO2 or ISO3 codes); all cities when None or empty."""
    if not countries:
        return np.ones(ca.city_id.shape, dtype=bool)
    iso3_to_2 = {v: k for k, v in ca.iso2_to_iso3.items()}
    wanted = set()
    for code in countries:
        c = code.strip().upper()
        if c in ca.iso2_to_iso3:
            wanted.add(c)
        elif c in iso3_to_2:
            wanted.add(iso3_to_2[c])
        else:
            raise InputError(
                f"unknown country code {code!r}; use ISO 3166 codes such as BR or USA", field="countries"
            )
    return np.isin(ca.iso2, list(wanted))
