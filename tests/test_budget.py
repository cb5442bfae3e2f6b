"""Advertising math: benchmark seeding, the optimal split (properties), the plan table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.advisors import budget as bm
from core.errors import InputError

CURVES = bm.curves(166, 0.8, 30e3)


def test_seeded_from_benchmarks() -> None:
    by = {c.platform.name: c for c in CURVES}
    assert by["google_search"].platform.cpc_usd_us == pytest.approx(2.61)  # WordStream apparel CPC
    assert by["meta"].platform.cpc_usd_us == pytest.approx(0.83)
    assert by["tiktok"].platform.cpc_usd_us == pytest.approx(9.0 / (1000 * 0.008))
    # Costs scale with the markets' price level; the initial slope is 1 / CPA0.
    cheap = {c.platform.name: c for c in bm.curves(166, 0.4, 30e3)}
    assert cheap["meta"].cpa0 == pytest.approx(by["meta"].cpa0 / 2)
    assert float(by["meta"].marginal(0.0)) == pytest.approx(1 / by["meta"].cpa0)


@settings(max_examples=60, deadline=None)
@given(units=st.floats(1.0, 1e7), spend=st.floats(1.0, 1e7))
def test_ceiling_is_the_forecast_and_cac_rises_with_spend(units: float, spend: float) -> None:
    cs = bm.curves(166, 0.8, units)
    assert sum(c.c_max for c in cs) == pytest.approx(bm.PAID_CEILING_RATIO * units, rel=1e-9)
    for c in cs:  # Hill shape 1: CAC(s) = s / C(s) = CPA0 (1 + s / K), and C never exceeds the ceiling
        assert spend / float(c.conversions(spend)) == pytest.approx(c.cpa0 * (1 + spend / c.k), rel=1e-9)
        assert float(c.conversions(spend)) < c.c_max


budgets = st.floats(min_value=1.0, max_value=5e6, allow_nan=False)
bounds = st.fixed_dictionaries(
    {name: st.tuples(st.floats(0, 0.3), st.floats(0.4, 1.0)) for name in ("google_search", "meta", "tiktok")}
)


@settings(max_examples=100, deadline=None)
@given(budget=budgets, b=bounds)
def test_split_sums_to_budget_within_bounds(budget: float, b: dict) -> None:
    split = bm.optimise(CURVES, budget, b)
    assert sum(split.values()) == pytest.approx(budget, rel=1e-6)
    for name, (lo, hi) in b.items():
        assert lo * budget - 1e-6 <= split[name] <= hi * budget + 1e-6


@settings(max_examples=100, deadline=None)
@given(budget=budgets, extra=st.floats(1.0, 1e5))
def test_more_budget_never_fewer_conversions(budget: float, extra: float) -> None:
    def total(b: float) -> float:
        split = bm.optimise(CURVES, b)
        return sum(float(c.conversions(split[c.platform.name])) for c in CURVES)

    assert total(budget + extra) >= total(budget) - 1e-9


@settings(max_examples=60, deadline=None)
@given(budget=st.floats(1e3, 5e6))
def test_marginal_returns_equal_at_the_optimum(budget: float) -> None:
    wide = {n: (0.0, 1.0) for n in ("google_search", "meta", "tiktok")}
    split = bm.optimise(CURVES, budget, wide)
    marg = [
        float(c.marginal(split[c.platform.name])) for c in CURVES if split[c.platform.name] > 1e-6 * budget
    ]
    if len(marg) > 1:
        assert max(marg) == pytest.approx(min(marg), rel=1e-4)
    # Platforms left at zero are those whose first dollar returns less than the others' last one.
    for c in CURVES:
        if split[c.platform.name] <= 1e-6 * budget:
            assert float(c.marginal(0.0)) <= max(marg) * (1 + 1e-4)


def test_optimised_beats_equal_split() -> None:
    p = bm.plan(CURVES, 20_000, 30.0, 15.0)
    t = p.totals.set_index("split")
    assert t.loc["optimised", "conversions"] >= t.loc["current", "conversions"]
    assert p.break_even_roas == pytest.approx(2.0)
    assert set(p.table["split"]) == {"current", "optimised"}
    assert np.isclose(t.loc["optimised", "spend_usd"], 20_000)


@pytest.mark.parametrize(
    ("budget", "b", "message"),
    [
        (-1.0, None, "negative"),
        (1000.0, {"google_search": (0.5, 1), "meta": (0.5, 1), "tiktok": (0.5, 1)}, "bounds"),
        (1000.0, {"google_search": (0, 0.2), "meta": (0, 0.2), "tiktok": (0, 0.2)}, "bounds"),
    ],
)
def test_bad_budget_input(budget, b, message) -> None:
    with pytest.raises(InputError, match=message):
        bm.optimise(CURVES, budget, b)
