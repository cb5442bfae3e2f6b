"""Report builders: the PDF of a ranking (Results page and API) and the paid deep report.

The page and the API build the same ReportInput through these functions, so a PDF downloaded from
either holds the same charts, tables and agent text for the same forecast and what-if values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from core import paths
from core.advisors import budget as bm
from core.errors import InputError
from core.forecast import Prepared, ScoreWeights, custom, evaluate, positions, whatif
from core.render import charts
from core.render import pdf as pdf_report

AGENT_LABELS = {
    "product_analyst": "Product Analyst",
    "market_profiler": "Market & City Profiler",
    "advertising_planner": "Advertising Planner",
    "supply_chain_advisor": "Supply Chain & FASON Advisor",
    "sales_strategy": "Sales Strategy",
}


@dataclass(frozen=True)
class ReportType:
    name: str
    price_usd: float
    cities_listed: int  # rows of the ranking in the PDF (at most the plan's cities)
    sensitivity_cities: int  # top cities in the price-sensitivity table
    description: str


@cache
def report_types() -> dict[str, ReportType]:
    t = pd.read_csv(paths.DATA_DIR / "report_types.csv")
    return {
        r.report_type: ReportType(
            r.report_type,
            float(r.price_usd),
            int(r.cities_listed),
            int(r.sensitivity_cities),
            str(r.description),
        )
        for r in t.itertuples(index=False)
    }


def promise(kind: ReportType, plan_cities: int) -> str:
    """What this deep report delivers to a user whose plan shows ``plan_cities`` cities: the cities it lists
    and the price-sensitivity rows are capped by the plan, and the text says the numbers it will hold (a
    Basic user's "premium" lists 10 cities, not 300)."""
    listed, sens = min(kind.cities_listed, plan_cities), min(kind.sensitivity_cities, plan_cities)
    capped = " (your plan's limit)" if plan_cities < kind.cities_listed else ""
    return (
        f"every agent at full depth, the top {listed:,} cities{capped}, price sensitivity of the top {sens:,}, "
        "ad budget sensitivity, method and sources"
    )


def report_type(name: str) -> ReportType:
    types = report_types()
    if name not in types:
        raise InputError(f"unknown report type {name!r}; use one of {', '.join(types)}", field="report_type")
    return types[name]


def ranking_charts(
    prep: Prepared, shown: pd.DataFrame, price: float, cost: float, weights: ScoreWeights
) -> list[charts.Chart]:
    """The four charts of the ranking report: top cities, demand vs competition, price curve, countries."""
    n = min(20, len(shown))
    idx = positions(prep.ca, shown.head(n)["city_id"])
    ev = evaluate(prep, price=price, unit_cost=cost, weights=weights)
    curve = whatif.price_curve(
        ev, idx, whatif.price_grid(price, float(shown.iloc[0]["local_reference_price_usd"]))
    )
    return [
        charts.top_cities_bar(shown, 15),
        charts.demand_vs_competition(shown, 200),
        charts.price_curve_chart(curve, price, whatif.best_price(curve), f"Price curve: top {n} cities"),
        charts.country_bar(whatif.country_summary(shown)),
    ]


def agent_sections(agents: dict[str, dict]) -> list[tuple[str, str]]:
    """(title, text) per agent that has a narrative, in the graph's order."""
    return [
        (AGENT_LABELS[a], agents[a]["narrative"]["summary"])
        for a in AGENT_LABELS
        if a in agents and "narrative" in agents[a]
    ]


def report_notes(prep: Prepared, shown: pd.DataFrame) -> list[str]:
    """What a reader must see before the numbers: losses, cost floors above the market, the price anchor
    (the same flags and sentence as the Results page), and the user's own city data behind any city listed."""
    notes = []
    m = whatif.headline_metrics(shown)  # the Results headline's own counts, over the cities listed here
    if m["loss_cities"]:
        notes.append(
            f"LOSS: {m['loss_cities']:,.0f} of the {m['cities']:,.0f} cities listed lose money at this price "
            f"and unit cost (${-m['loss']:,.0f} a month together, not netted into any profit figure)."
        )
    if m["above_market_cities"]:
        notes.append(
            f"In {m['above_market_cities']:,.0f} of the {m['cities']:,.0f} cities costs alone force a price "
            "above the market range: the recommended price there is the cost floor."
        )
    notes.append(whatif.price_anchor_note(prep))
    notes += custom.report_lines(prep.ca, shown["city_id"])
    return notes


def ranking_report(
    prep: Prepared,
    shown: pd.DataFrame,
    agents: dict[str, dict],
    *,
    price: float,
    cost: float,
    weights: ScoreWeights,
    depth: str,
    scope: list[str],
    branding: pdf_report.Branding | None = None,
) -> pdf_report.ReportInput:
    """The ranking PDF's content: exactly the rows shown, at the what-if values used."""
    return pdf_report.ReportInput(
        notes=report_notes(prep, shown),
        product=prep.product.model_dump(mode="json") | {"countries": scope},
        table=shown,
        charts=ranking_charts(prep, shown, price, cost, weights),
        depth=depth,
        agent_sections=agent_sections(agents),
        what_if={"price": price, "unit_cost": cost, "weights": weights.model_dump()},
        branding=branding,
    )


def price_sensitivity(
    prep: Prepared, shown: pd.DataFrame, n: int, steps: tuple[float, ...] = (0.9, 1.0, 1.1)
) -> pd.DataFrame:
    """Monthly profit of each of the top ``n`` cities at the product's price x each step (same price
    response as the ranking: core.whatif.price_curve), and the most profitable of those prices."""
    ev = evaluate(prep)
    rows = []
    for rec in shown.head(n).itertuples(index=False):
        idx = positions(prep.ca, [rec.city_id])
        curve = whatif.price_curve(ev, idx, np.array([prep.product.price * s for s in steps]))
        row: dict[str, object] = {"City": rec.city, "Country": rec.country_iso2}
        for s, profit in zip(steps, curve["profit"], strict=True):
            row[f"Profit at {s:.0%} of price"] = round(float(profit), 2)
        row["Best of these prices"] = round(float(curve.loc[curve["profit"].idxmax(), "price"]), 2)
        rows.append(row)
    return pd.DataFrame(rows)


def budget_sensitivity(
    ads: dict, price: float, steps: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
) -> pd.DataFrame:
    """Orders, CAC and ROAS of the Advertising Planner's optimised split at multiples of its budget."""
    curves = bm.curves_from_params(ads["curves"])
    rows = []
    for s in steps:
        budget = float(ads["budget_usd_month"]) * s
        t = (
            bm.plan(curves, budget, price, float(ads["unit_margin_usd"]))
            .totals.set_index("split")
            .loc["optimised"]
        )
        rows.append(
            {
                "Budget $/month": round(budget, 0),
                "Orders/month": round(float(t["conversions"]), 1),
                "CAC $": round(float(t["cac_usd"]), 2),
                "ROAS": round(float(t["roas"]), 2),
            }
        )
    return pd.DataFrame(rows)


def deep_report(
    prep: Prepared,
    shown: pd.DataFrame,
    agents: dict[str, dict],
    kind: ReportType,
    scope: list[str],
    branding: pdf_report.Branding | None = None,
) -> pdf_report.ReportInput:
    """The deep report: every agent at full depth, up to ``kind.cities_listed`` cities of the plan,
    price sensitivity of the top cities, budget sensitivity, method and sources."""
    p = prep.product
    extra = [
        (
            "Price sensitivity of the top cities",
            "Monthly profit per city at 90 %, 100 % and 110 % of the price, with the ranking's price response "
            "(constant elasticity around the local reference price) and costs.",
            price_sensitivity(prep, shown, kind.sensitivity_cities),
        )
    ]
    if "advertising_planner" in agents and "curves" in agents["advertising_planner"]:
        extra.append(
            (
                "Ad budget sensitivity",
                "The Advertising Planner's optimised split at half, the same, twice and four times its budget; "
                "the response curves are benchmark-seeded assumptions (methodology section 13).",
                budget_sensitivity(agents["advertising_planner"], p.price),
            )
        )
    return pdf_report.ReportInput(
        product=p.model_dump(mode="json") | {"countries": scope},
        table=shown,
        charts=ranking_charts(prep, shown, p.price, p.unit_cost, p.weights),
        depth="full",
        agent_sections=agent_sections(agents),
        title=f"Deep report ({kind.name})",
        row_limit=kind.cities_listed,
        extra_tables=extra,
        branding=branding,
        notes=report_notes(prep, shown),
    )
