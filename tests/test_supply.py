"""Supply math: ISO 2859-1 AQL plans, landed cost, method choice, warehouse, channel margins."""

from __future__ import annotations

import pandas as pd
import pytest

from core.advisors import sales, supply
from core.errors import InputError


@pytest.mark.parametrize(
    ("lot", "letter", "n", "ac", "re"),
    [
        (2, "A", 2, 0, 1),
        (8, "A", 2, 0, 1),
        (9, "B", 3, 0, 1),
        (50, "D", 8, 0, 1),
        (51, "E", 13, 1, 2),
        (150, "F", 20, 1, 2),
        (280, "G", 32, 2, 3),
        (500, "H", 50, 3, 4),
        (1200, "J", 80, 5, 6),
        (3200, "K", 125, 7, 8),
        (10000, "L", 200, 10, 11),
        (35000, "M", 315, 14, 15),
        (150000, "N", 500, 21, 22),
        (500000, "P", 800, 21, 22),
        (600000, "Q", 1250, 21, 22),
    ],
)
def test_aql_level_ii(lot: int, letter: str, n: int, ac: int, re: int) -> None:
    plan = supply.aql_plan(lot)
    assert (plan["code_letter"], plan["sample_size"], plan["accept"], plan["reject"]) == (letter, n, ac, re)


def test_aql_needs_a_lot() -> None:
    with pytest.raises(InputError):
        supply.aql_plan(1)


def _rows(ca, ships_from: str | None, countries: list[str], payer: str = "seller"):
    from core.forecast import evaluate, prepare, rank, validate_product

    p = validate_product(
        name="Tee", category="166", price=30, unit_cost=10, ships_from=ships_from, shipping_paid_by=payer
    )
    return p, rank(evaluate(prepare(ca, p)), countries=countries, top=20)


@pytest.mark.parametrize("payer", ["seller", "buyer"])
def test_landed_cost_is_the_rankings_cost(ca, payer) -> None:
    """Landed cost = unit cost + the shipping the ranking charged the seller (none when the buyer pays it)
    + the ranking's duty; transit = its delivery days."""
    from core.forecast import PAYMENT_FEE_PCT

    p, rows = _rows(ca, "Istanbul, TR", ["TR", "DE", "US"], payer)
    for _, r in rows.iterrows():
        lc = supply.landed_cost(166, p.unit_cost, p.price, r)
        duty = p.price * (r["fee_rate"] - PAYMENT_FEE_PCT / 100)
        seller_pays = r["shipping_cost_usd"] if payer == "seller" else 0.0
        assert lc["freight_usd"] == pytest.approx(seller_pays)
        assert lc["freight_usd"] + lc["buyer_freight_usd"] == pytest.approx(r["shipping_cost_usd"])
        assert lc["duty_usd"] == pytest.approx(duty, abs=1e-9)
        assert lc["landed_cost_usd"] == pytest.approx(p.unit_cost + seller_pays + duty)
        assert lc["transit_days"] == pytest.approx(r["delivery_days"])
        assert lc["materials_usd"] + lc["labour_usd"] + lc["overhead_usd"] == pytest.approx(p.unit_cost)
        if r["country_iso2"] == "TR":
            assert lc["duty_usd"] == 0 and lc["import_vat_usd"] == 0
        elif r["country_iso2"] == "DE":
            assert lc["import_vat_usd"] == pytest.approx((p.unit_cost + lc["freight_usd"] + duty) * 0.19)
        else:
            assert lc["import_vat_usd"] == 0  # US: no VAT


def test_istanbul_to_istanbul_is_the_rankings_one_day(ca) -> None:
    p, rows = _rows(ca, "Istanbul, TR", ["TR"])
    ist = rows[rows["city"] == "Istanbul"].iloc[0]
    lc = supply.landed_cost(166, p.unit_cost, p.price, ist)
    assert (
        lc["distance_km"] == 0
        and lc["transit_days"] == pytest.approx(ist["delivery_days"])
        and lc["transit_days"] < 2
    )
    assert lc["landed_cost_usd"] == pytest.approx(p.unit_cost + ist["shipping_cost_usd"])


@pytest.mark.parametrize(
    ("category", "units", "method"),
    [
        (166, 20, "print-on-demand"),
        (222, 20, "dropship"),
        (166, 800, "FASON (cut-make-trim)"),
        (222, 800, "full-package OEM"),
        (2092, 500, "in-house"),
        (922, 20000, "in-house"),
    ],
)
def test_method_choice(category: int, units: float, method: str) -> None:
    choice = supply.choose_method(category, units, 5.0)
    assert choice.method == method and choice.reasons


def test_warehouse_minimises_weighted_distance() -> None:
    cand = pd.DataFrame(
        {"city": ["Berlin", "Madrid"], "country_iso2": ["DE", "ES"], "lat": [52.5, 40.4], "lon": [13.4, -3.7]}
    )
    demand = pd.DataFrame({"lat": [52.5, 48.1, 40.4], "lon": [13.4, 11.6, -3.7], "weight": [10.0, 10.0, 1.0]})
    assert supply.best_warehouse(cand, demand).iloc[0]["city"] == "Berlin"
    demand["weight"] = [1.0, 1.0, 50.0]
    assert supply.best_warehouse(cand, demand).iloc[0]["city"] == "Madrid"


def test_channel_margins() -> None:
    t = sales.channel_margins("DE", 30.0, 12.0, freight_usd=4.0, duty_rate=0.12, cac_per_unit=20.0)
    own = t.set_index("channel").loc["Own web shop (D2C)"]
    assert own["unit_margin_usd"] == pytest.approx(30 - 12 - 4 - 30 * 0.12 - (30 * 0.029 + 0.30) - 20)
    amazon = t.set_index("channel").loc["Amazon.de"]
    assert amazon["unit_margin_usd"] == pytest.approx(30 - 12 - 4 - 30 * 0.12 - 4.5)
    assert t["unit_margin_usd"].is_monotonic_decreasing
    assert sales.recommend_channel(t) == t.iloc[0]["channel"] and t.iloc[0]["unit_margin_usd"] > 0


@pytest.mark.parametrize("price", [8.0, 20.0, 30.0, 90.0])
def test_break_even_figures_are_exact(price) -> None:
    t = sales.channel_margins("DE", price, 12.0, freight_usd=4.0, duty_rate=0.12, cac_per_unit=6.0)
    for r in t.itertuples():
        at_be = sales.channel_margins("DE", r.break_even_price_usd, 12.0, 4.0, 0.12, 6.0).set_index("channel")
        assert at_be.loc[r.channel, "unit_margin_usd"] == pytest.approx(0, abs=1e-9)
        at_cost = sales.channel_margins("DE", price, r.max_unit_cost_usd, 4.0, 0.12, 6.0).set_index("channel")
        assert at_cost.loc[r.channel, "unit_margin_usd"] == pytest.approx(0, abs=1e-9)


def test_no_losing_channel_is_recommended() -> None:
    t = sales.channel_margins("DE", 10.0, 12.0, freight_usd=4.0, duty_rate=0.0)
    assert not t["profitable"].any() and sales.recommend_channel(t) is None


@pytest.mark.parametrize(
    ("name", "category", "etsy", "zalando"),
    [
        ("Wireless noise-cancelling headphones", 222, False, False),
        ("Handmade ceramic mug", 536, True, False),
        ("Vintage leather jacket", 166, True, True),
        ("Organic cotton tee", 166, False, True),
    ],
)
def test_restricted_marketplaces_list_only_what_their_policy_allows(name, category, etsy, zalando) -> None:
    """Issue 25.13: Etsy (handmade, vintage, craft supplies) is not offered for mass-produced headphones;
    Zalando's partner programme only for fashion."""
    us = set(sales.channel_margins("US", 300.0, 120.0, 0.0, 0.0, category_id=category, text=name)["channel"])
    de = set(sales.channel_margins("DE", 300.0, 120.0, 0.0, 0.0, category_id=category, text=name)["channel"])
    assert ("Etsy" in us) == etsy and ("Zalando Partner" in de) == zalando
    assert ("Etsy: handmade" in " ".join(sales.excluded_channels("US", category, name))) == (not etsy)
    assert "Amazon.com" in us and "Own web shop (D2C)" in us  # general marketplaces list anything
