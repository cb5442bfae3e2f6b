"""Supply math: ISO 2859-1 AQL plans, landed cost, method choice, warehouse, channel margins."""

from __future__ import annotations

import pandas as pd
import pytest

from core import sales, supply
from core.errors import InputError


@pytest.mark.parametrize(
    ("lot", "letter", "n", "ac", "re"),
    [(2, "A", 2, 0, 1), (8, "A", 2, 0, 1), (9, "B", 3, 0, 1), (50, "D", 8, 0, 1), (51, "E", 13, 1, 2),
     (150, "F", 20, 1, 2), (280, "G", 32, 2, 3), (500, "H", 50, 3, 4), (1200, "J", 80, 5, 6),
     (3200, "K", 125, 7, 8), (10000, "L", 200, 10, 11), (35000, "M", 315, 14, 15),
     (150000, "N", 500, 21, 22), (500000, "P", 800, 21, 22), (600000, "Q", 1250, 21, 22)],
)  # fmt: skip
def test_aql_level_ii(lot: int, letter: str, n: int, ac: int, re: int) -> None:
    plan = supply.aql_plan(lot)
    assert (plan["code_letter"], plan["sample_size"], plan["accept"], plan["reject"]) == (letter, n, ac, re)


def test_aql_needs_a_lot() -> None:
    with pytest.raises(InputError):
        supply.aql_plan(1)


ISTANBUL = (41.01, 28.95, "TR")


def test_landed_cost_domestic_has_no_duty_or_vat() -> None:
    lc = supply.landed_cost(166, 10.0, 30.0, "small", 12.0, ISTANBUL, (39.93, 32.86, "TR"))
    assert lc["duty_usd"] == 0 and lc["import_vat_usd"] == 0
    assert lc["mode"] == "road"
    assert lc["materials_usd"] + lc["labour_usd"] + lc["overhead_usd"] == pytest.approx(10.0)
    assert lc["landed_cost_usd"] == pytest.approx(10.0 + lc["freight_usd"])


def test_landed_cost_cross_border() -> None:
    lc = supply.landed_cost(166, 10.0, 30.0, "small", 12.0, ISTANBUL, (52.52, 13.41, "DE"))
    customs = 10.0 + lc["freight_usd"]
    assert lc["duty_usd"] == pytest.approx(customs * 0.12)
    assert lc["import_vat_usd"] == pytest.approx((customs + lc["duty_usd"]) * 0.19)  # German VAT
    assert lc["mode"] == "road"  # ~1,700 km over land


@pytest.mark.parametrize(("weight", "mode"), [("small", "air"), ("bulky", "sea")])
def test_far_modes(weight: str, mode: str) -> None:
    lc = supply.landed_cost(436, 100.0, 300.0, weight, 5.0, ISTANBUL, (40.71, -74.0, "US"))
    assert lc["mode"] == mode
    assert lc["import_vat_usd"] == 0  # US: no VAT (sales tax is the buyer's)
    assert lc["transit_days"] > 3


def test_sea_is_slower_and_cheaper_than_air() -> None:
    sea = supply.landed_cost(436, 100.0, 300.0, "bulky", 5.0, ISTANBUL, (40.71, -74.0, "US"))
    air_like = supply.FREIGHT["air"]
    assert sea["transit_days"] > air_like["fixed_days"] + 8000 / air_like["km_per_day"]
    assert sea["freight_usd"] < 30 * (air_like["base_usd_per_kg"] + air_like["usd_per_kg_per_1000km"] * 8)


@pytest.mark.parametrize(
    ("category", "units", "method"),
    [(166, 20, "print-on-demand"), (222, 20, "dropship"), (166, 800, "FASON (cut-make-trim)"),
     (222, 800, "full-package OEM"), (2092, 500, "in-house"), (922, 20000, "in-house")],
)  # fmt: skip
def test_method_choice(category: int, units: float, method: str) -> None:
    choice = supply.choose_method(category, units, 5.0)
    assert choice.method == method and choice.reasons


def test_warehouse_minimises_weighted_distance() -> None:
    cand = pd.DataFrame({"city": ["Berlin", "Madrid"], "country_iso2": ["DE", "ES"], "lat": [52.5, 40.4], "lon": [13.4, -3.7]})
    demand = pd.DataFrame({"lat": [52.5, 48.1, 40.4], "lon": [13.4, 11.6, -3.7], "weight": [10.0, 10.0, 1.0]})
    assert supply.best_warehouse(cand, demand).iloc[0]["city"] == "Berlin"
    demand["weight"] = [1.0, 1.0, 50.0]
    assert supply.best_warehouse(cand, demand).iloc[0]["city"] == "Madrid"


def test_channel_margins() -> None:
    t = sales.channel_margins("DE", 30.0, 12.0, cac_per_unit=20.0)
    own = t.set_index("channel").loc["Own web shop (D2C)"]
    assert own["unit_margin_usd"] == pytest.approx(30 - 12 - (30 * 0.029 + 0.30) - 20)
    amazon = t.set_index("channel").loc["Amazon.de"]
    assert amazon["unit_margin_usd"] == pytest.approx(30 - 12 - 4.5)
    assert sales.recommend_channel(t) == t.iloc[0]["channel"]
    assert t["unit_margin_usd"].is_monotonic_decreasing
