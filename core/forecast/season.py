"""Climate fit and the month-by-month demand profile (docs/methodology.md section 2b).

A cold-weather product is needed in a month in proportion to how far that month's mean temperature falls
below ``COLD_NEED_BELOW_C`` (full need at ``COLD_NEED_BELOW_C - COLD_NEED_SPAN_C``); a warm-weather
product in proportion to how far it rises above ``WARM_NEED_ABOVE_C`` (full need at
``WARM_NEED_ABOVE_C + WARM_NEED_SPAN_C``). Some demand remains where the need is nil (gifts, travel, indoor
pools): the month's relative demand is ``floor + (1 - floor) x need``. The city's **climate fit** is its
mean over the twelve months; the **seasonal profile** is each month's relative demand divided by that
mean (it averages 1 over the year, so yearly totals do not change). A calendar season (Christmas) adds
the same month weights in every city. Products with neither have fit 1 and a flat profile.
"""

from __future__ import annotations

import numpy as np

from core.places.climate import MONTHS, month_range

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

COLD_NEED_BELOW_C = 15.0  # a month colder than this on average calls for cold-weather products ...
COLD_NEED_SPAN_C = 20.0  # ... fully at -5 °C
WARM_NEED_ABOVE_C = 15.0  # a month warmer than this calls for warm-weather products ...
WARM_NEED_SPAN_C = 13.0  # ... fully at 28 °C
CLIMATE_FLOOR = {"cold": 0.05, "warm": 0.2}  # relative demand in a month without any need
CALENDAR_FLOOR = 0.2  # outside a calendar season, a month sells a fifth of a season month
BEST_MONTH_SHARE = 0.8  # a city's best months sell at least 80 % of its peak month


def monthly_need(temps: np.ndarray, climate: str) -> np.ndarray:
    """Need for the product in each month (0-1), from the month's mean temperature (°C)."""
    if climate == "cold":
        return np.clip((COLD_NEED_BELOW_C - temps) / COLD_NEED_SPAN_C, 0.0, 1.0)
    if climate == "warm":
        return np.clip((temps - WARM_NEED_ABOVE_C) / WARM_NEED_SPAN_C, 0.0, 1.0)
    return np.ones_like(temps)


def monthly_demand(
    temps: np.ndarray, climate: str, season_months: tuple[int, ...] | list[int] = ()
) -> np.ndarray:
    """Relative demand in each calendar month, shape (n, 12): climate part x calendar part."""
    rel = np.ones_like(temps)
    if climate in CLIMATE_FLOOR:
        floor = CLIMATE_FLOOR[climate]
        rel = floor + (1 - floor) * monthly_need(temps, climate)
    if season_months:
        cal = np.where(np.isin(MONTHS, list(season_months)), 1.0, CALENDAR_FLOOR)
        rel = rel * cal[None, :]
    return rel


def climate_fit(monthly: np.ndarray, climate: str) -> np.ndarray:
    """The year's mean relative demand from climate alone (1 for products without a climate affinity)."""
    if climate not in CLIMATE_FLOOR:
        return np.ones(monthly.shape[0])
    return monthly.mean(axis=1)


def seasonal_profile(monthly: np.ndarray) -> np.ndarray:
    """Each month's demand relative to the city's average month (rows average 1)."""
    return monthly / monthly.mean(axis=1, keepdims=True)


def best_months(profile_row: np.ndarray) -> str:
    """The months that sell at least ``BEST_MONTH_SHARE`` of the peak month, as ``"Nov–Feb"``; ``"all year"``
    for a flat profile."""
    row = np.asarray(profile_row, float)
    if np.ptp(row) < 1e-9:
        return "all year"
    return month_range(MONTHS[row >= BEST_MONTH_SHARE * row.max()])


def best_months_of(profiles: np.ndarray) -> np.ndarray:
    """``best_months`` of each row of an (n, 12) profile, formatted once per distinct pattern."""
    profiles = np.asarray(profiles, float)
    if profiles.size == 0 or np.ptp(profiles) < 1e-9:  # none, or one flat profile for all: no per-row work
        return np.full(profiles.shape[0], "all year", dtype=object)
    flat = np.ptp(profiles, axis=1) < 1e-9
    best = profiles >= BEST_MONTH_SHARE * profiles.max(axis=1, keepdims=True)
    code = np.where(flat, -1, best @ (1 << np.arange(12)))
    uniques, inverse = np.unique(code, return_inverse=True)
    labels = np.array(
        ["all year" if c < 0 else month_range(MONTHS[(c >> np.arange(12)) & 1 == 1]) for c in uniques],
        dtype=object,
    )
    return labels[inverse]


def describe(
    climate: str, season_months: tuple[int, ...] | list[int] | None, launch_month: int | None
) -> str:
    """One line on what the forecast assumed about climate and season (Results, PDF, agents)."""
    parts = {
        "cold": "cold-weather product: demand follows each city's cold months (its best months in the ranking)",
        "warm": "warm-weather product: demand follows each city's hot months (its best months in the ranking)",
    }
    text = parts.get(climate, "no climate affinity: demand does not depend on the weather")
    if season_months:
        text += f"; calendar season {month_range(list(season_months))} in every country"
    if launch_month:
        text += f"; ranked by {MONTH_NAMES[launch_month - 1]} sales"
    else:
        text += "; ranked by the average month"
    return text[0].upper() + text[1:]


AD_LEAD_MONTHS = 1  # start paid acquisition a month before a city's season (an assumption, methodology 13)


def ad_windows(profiles: np.ndarray) -> list[tuple[str, str | None]]:
    """For each city (rows of (n, 12) profiles): its best months and the month to start ads, ``AD_LEAD_MONTHS``
    before the first month of its longest run of best months; (``"all year"``, None) for a flat profile."""
    out: list[tuple[str, str | None]] = []
    labels = best_months_of(profiles)
    for row, label in zip(np.asarray(profiles, float), labels, strict=True):
        if label == "all year":
            out.append((label, None))
            continue
        best = row >= BEST_MONTH_SHARE * row.max()
        # the first month of the longest circular run of best months
        start, run, best_start, best_run = 0, 0, 0, 0
        for k in range(24):
            m = k % 12
            if best[m]:
                start = m if run == 0 else start
                run += 1
                if run > best_run:
                    best_start, best_run = start, run
            else:
                run = 0
        out.append((str(label), MONTH_NAMES[(best_start - AD_LEAD_MONTHS) % 12]))
    return out
