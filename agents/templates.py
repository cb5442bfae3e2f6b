"""The template writer: deterministic narrative from the analytic facts (offline, no invented numbers)."""

from __future__ import annotations

from agents.schemas import (
    AdCopy,
    AdNarrative,
    CityNote,
    EmailStep,
    MarketNarrative,
    ProductNarrative,
    SalesNarrative,
    SupplyNarrative,
)
from core.formatting import money

N_COPIES = {"summary": 5, "detailed": 8, "full": 10}


def _money(x: float) -> str:
    return money(x)


def product(f: dict, depth: str) -> ProductNarrative:
    if not f["described"]:
        check = "No description was given, so the category is taken as chosen."
    elif f["category_matches_text"]:
        check = "The description matches the category."
    else:
        check = f"The description reads more like {f['suggested']}: check the category."
    summary = (
        f"{f['name']} is in {f['category']}. {f.get('understood', '')} {check} {f.get('season', '')}. "
        f"In the top {f['city_set']} cities of the ranking (every agent works on these) the forecast expects "
        f"{f['units']:,.0f} units and {_money(f['revenue'])} a month at {_money(f['price'])}. "
        f"Price fit: {f['market_fit']:.0f}/100 ({'; '.join(f['fit_reasons'])})."
    )
    if depth != "summary":
        summary += (
            f" At {f['price_ratio']:.2f}x the category's typical price it takes a {f['position']} position; "
            f"the category's production complexity is {f['complexity_1to5']:.0f}/5 (a category table value)."
        )
    return ProductNarrative(
        summary=summary,
        positioning=f"A {f['position']} {f['category'].lower()} product "
        f"for {f['audience']}, priced at {_money(f['price'])}.",
    )


EARLY_ONLINE_PCT = 35  # below this share of adults buying online, payment trust is the first hurdle


def _city_note(c: dict) -> str:
    pct = c["online_buyers_pct"]
    bits = [f"{pct:.0f} % of adults buy online (Global Findex, adjusted to the region)"]
    if pct < EARLY_ONLINE_PCT:
        bits.append("with few online buyers, cash-on-delivery and marketplace trust matter")
    bits.append(f"purchasing-power index {c['purchasing_power_index']:.0f} (100 = the median city dweller)")
    return "; ".join(bits) + "."


def market(f: dict, depth: str) -> MarketNarrative:
    cities = f["cities"]
    top = ", ".join(f"{c['city']} ({c['country_iso2']})" for c in cities[:3])
    summary = (
        f"The strongest opportunities are {top}. Across the top {len(cities)} cities of the ranking, the opportunity "
        f"score runs from {cities[-1]['opportunity_score']:.1f} to {cities[0]['opportunity_score']:.1f}. "
        "Competition is a proxy from e-commerce maturity, merchant density and market depth."
    )
    return MarketNarrative(
        summary=summary, cultural_notes=[CityNote(city=c["city"], note=_city_note(c)) for c in cities]
    )


def ads(f: dict, depth: str) -> AdNarrative:
    name, cat, price, city = f["name"], f["category"], f["price"], f["top_city"]
    best = max(f["optimised"], key=lambda r: r["spend_usd"])
    summary = (
        f"With {_money(f['budget'])} a month, the optimised split puts most spend on {best['platform']} and is "
        f"expected to buy {f['conversions']:,.0f} orders at a CAC of {_money(f['cac'])} and a ROAS of "
        f"{f['roas']:.2f} (break-even ROAS {f['break_even_roas']:.2f}). These are paid orders from the budget; the "
        f"forecast's {f['forecast_units']:,.0f} units a month in the top {f['city_set']} cities, the targets below, "
        "assume no paid acquisition. "
        + (
            f"Paid orders are assumed to level off at {f['paid_ceiling']:,.0f} a month (as many as the forecast's own), "
            f"so each extra dollar buys less: at twice the budget the CAC would be {_money(f['cac_at_double'])}. "
            if depth != "summary"
            else ""
        )
        + (
            "Paid acquisition is below break-even at this price: improve the margin, the order value or repeat "
            "purchases before scaling."
            if f["roas"] < f["break_even_roas"]
            else "Paid acquisition clears break-even at this price."
        )
        + _cap_sentence(f)
        + " "
        + _timing_sentence(f.get("timing") or [])
    )
    days = f"{f['delivery_days']:.0f}-day delivery"
    # who pays the parcel decides which shipping claim is true (methodology section 4)
    bundle = (
        ("Meta", "Free shipping", f"{name}, {_money(price)}, shipped free to {city}.", "Shop now")
        if f.get("shipping_paid_by") == "seller"
        else ("Meta", "Two is better", f"Order two {name} in one parcel: one shipping cost.", "See offer")
    )
    angles = [  # every claim is a fact of this forecast: category, price, destination, delivery time, shipping
        ("Google Search", f"{name} - {cat}", f"{cat} at {_money(price)}. {days} to {city}.", "Shop now"),
        ("Meta", f"Meet {name}", f"{cat} made for {f['audience']}, {_money(price)}.", "Learn more"),
        (
            "TikTok",
            f"{name} in 15 seconds",
            f"What {name} is and what it costs: {_money(price)}.",
            "Shop now",
        ),
        ("Google Search", f"Buy {name} online", f"{name}: {cat.lower()}, {days} to {city}.", "Order now"),
        ("Meta", f"{name} at {_money(price)}", f"{cat} for {f['audience']}, shipped to {city}.", "Shop now"),
        ("TikTok", f"Unboxing {name}", f"Unboxing {name}: what arrives after a {days}.", "Watch"),
        bundle,
        ("Google Search", f"{name} {_money(price)}", f"{name} in {cat.lower()}. Secure checkout.", "Buy now"),
        ("TikTok", "3 ways to use it", f"Three ways to use {name}.", "Watch more"),
        ("Meta", f"{name} for {city}", f"{cat} delivered in {days} to {city}.", "Shop now"),
    ]
    copies = [
        AdCopy(platform=p, headline=h, body=b, call_to_action=c) for p, h, b, c in angles[: N_COPIES[depth]]
    ]
    briefs = [
        f"Search: bid on '{cat.lower()}' terms in {city} and the other top cities; state price and delivery time.",
        f"Meta: carousel of {name} in use by {f['audience']}; test 3 opening hooks.",
        "TikTok: a 15-second demonstration of the product; end on price and delivery time.",
    ]
    if depth == "full":  # alternatives and sensitivities
        briefs.append(
            f"Sensitivity: at break-even ROAS {f['break_even_roas']:.2f}, each order may cost at most "
            f"{_money(price / f['break_even_roas'])} in ads."
        )
    return AdNarrative(
        summary=summary, ad_copies=copies, creative_briefs=briefs if depth != "summary" else briefs[:1]
    )


def _cap_sentence(f: dict) -> str:
    """Disclose the per-platform cap where it keeps money on a platform below break-even."""
    cap = f.get("max_platform_share")
    weak = [
        r
        for r in f["optimised"]
        if r["spend_usd"] > 0 and r.get("roas") is not None and r["roas"] < f["break_even_roas"]
    ]
    strong = [
        r
        for r in f["optimised"]
        if r["spend_usd"] > 0 and r.get("roas") is not None and r["roas"] >= f["break_even_roas"]
    ]
    if cap is None or not weak or not strong:  # with no platform above break-even, the cap is not the cause
        return ""
    parts = ", ".join(f"{_money(r['spend_usd'])} on {r['platform']} (ROAS {r['roas']:.2f})" for r in weak)
    return (
        f" The split keeps {parts} below break-even because no platform may take more than {cap:.0%} of the "
        "budget (a diversification rule, an assumption: one channel's benchmark curve is uncertain); lower "
        "the budget rather than the rule to avoid it."
    )


def _timing_sentence(timing: list[dict]) -> str:
    """When to spend: the season of the top cities (core.forecast.season.ad_windows)."""
    seasonal = [w for w in timing if w.get("start_ads")]
    if not seasonal:
        return "Demand is steady through the year in these cities: spend evenly, no seasonal timing."
    parts = [f"{w['city']} from {w['start_ads']} (best {w['best_months']})" for w in seasonal[:4]]
    return (
        "Seasonal product: start spending about a month before each city's season: " + "; ".join(parts) + "."
    )


FASON = (
    "FASON is the Turkish trade term for cut-make-trim contract manufacturing: you supply the design and "
    "usually the fabric or materials, the factory cuts, sews or assembles and finishes to your spec."
)


def supply(f: dict, depth: str) -> SupplyNarrative:
    lc = f["landed_costs"]
    txt = (
        f"For the top {f['city_set']} cities of the ranking ({f['units']:,.0f} units a month): recommended "
        f"method {f['method']} ({'; '.join(f['method_reasons'])}). Fulfilment: {f['origin']}, as in the ranking. "
    )
    if "FASON" in f["method"]:
        txt += FASON + " "
    if lc:
        first = lc[0]
        parts = (
            ["unit cost"]
            + [f"{_money(first['freight_usd'])} parcel shipping"] * bool(first["freight_usd"])
            + [f"{_money(first['duty_usd'])} duty"] * bool(first["duty_usd"])
        )
        txt += (
            f"Landed cost to {first['market']} is {_money(first['landed_cost_usd'])} per unit ({' + '.join(parts)}"
            + (
                f"; the buyer pays the {_money(first['buyer_freight_usd'])} parcel on top of the price"
                if first.get("buyer_freight_usd")
                else ""
            )
            + f"), delivered in {first['transit_days']:.1f} days; {first['total_lead_days']:.0f} days from order "
            "to customer including production. "
        )
    if depth == "summary":  # the decisions only
        return SupplyNarrative(summary=txt.strip())
    txt += (
        f"Inspect each lot of {f['aql']['lot_size']:,} units with code letter {f['aql']['code_letter']} "
        f"(sample {f['aql']['sample_size']}), AQL 2.5: accept at {f['aql']['accept']} defects, reject at "
        f"{f['aql']['reject']}. Warehouse in {f['warehouse']} minimises demand-weighted distance."
    )
    if depth == "full" and len(lc) > 1:  # the alternatives: every top market's landed cost and delivery
        txt += (
            " By market: "
            + "; ".join(
                f"{x['market']} ({x['country_iso2']}) {_money(x['landed_cost_usd'])} in {x['transit_days']:.1f} days"
                for x in lc
            )
            + "."
        )
    return SupplyNarrative(summary=txt)


def _channel_sentence(country: str, lines: list[dict]) -> str:
    rec = next((c for c in lines if c["recommended"]), None)
    if rec is not None:
        return (
            f"{country}: {rec['channel']}, {_money(rec['unit_margin_usd'])} per unit "
            f"({100 * rec['margin_rate']:.0f} % of the price) after all costs"
        )
    best = max(lines, key=lambda c: c["unit_margin_usd"])
    return (
        f"{country}: no channel makes money at this price ({best['channel']} loses "
        f"{_money(-best['unit_margin_usd'])} per unit); it would break even at a price of "
        f"{_money(best['break_even_price_usd'])} or a unit cost of {_money(best['max_unit_cost_usd'])}"
    )


def _days_range(lo: float, hi: float) -> str:
    a, b = round(lo), round(hi)
    return f"{a} day{'s' if a != 1 else ''}" if a == b else f"{a}-{b} days"


def _sales_summary(f: dict) -> str:
    """Channels per country of the run's cities, and what the own shop can afford to acquire a buyer."""
    by_country: dict[str, list[dict]] = {}
    for c in f["channels"]:
        by_country.setdefault(c["country_iso2"], []).append(c)
    summary = (
        f"Countries of the top {f['city_set']} cities of the ranking: "
        + "; ".join(_channel_sentence(k, v) for k, v in by_country.items())
        + "."
    )
    own = [c for c in f["channels"] if c["channel"].startswith("Own web shop")]
    if own and f["cac"] > 0:
        worst = min(own, key=lambda c: c["max_cac_usd"])
        summary += (
            f" The own shop can afford at most {_money(worst['max_cac_usd'])} of acquisition per order in "
            f"{worst['country_iso2']}; the plan's CAC is {_money(f['cac'])}."
        )
    return summary


def sales(f: dict, depth: str) -> SalesNarrative:
    name, cat, price = f["name"], f["category"].lower(), f["price"]
    buying = f["buying"]  # core.advisors.sales.buying_facts
    summary = _sales_summary(f)
    days = f.get("delivery_days", {})
    fastest = min(days.values()) if days else None
    landing = [
        f"Hero: {name}, the price ({_money(price)}) and one primary call to action",
        f"What it is: what a buyer of {cat} compares ({buying['compares']})",
        (
            f"Delivery promise: {_days_range(fastest, max(days.values()))} in the top markets"
            if days
            else "Delivery promise and returns policy"
        ),
        "Reviews, once there are some (none are claimed before they exist)",
        f"FAQ: {buying['faq']}",
        "Final call to action",
    ]
    emails = [
        EmailStep(day=0, subject=f"Your {name} order / guide", goal="confirm, set the delivery date"),
        EmailStep(
            day=3, subject=f"Getting started with your {name}", goal=f"use it well: {buying['compares']}"
        ),
        EmailStep(day=14, subject="How is it going?", goal="ask for a review"),
        EmailStep(day=30, subject=f"More {cat}", goal="cross-sell within the category"),
    ]
    upsell = (
        [f"Bundle: two units at a lower unit price (keeps the {_money(price)} anchor)"]
        if buying["bundle"]
        else []
    ) + [f"Cross-sell: a complementary {cat} item at checkout"]
    tactics = [
        f"Show the delivery date ({fastest:.0f}+ days) on the product page"
        if fastest is not None
        else "Show the delivery date on the product page",
        "State the returns policy above the fold",
        "Offer the payment methods of each market",
    ]
    journey = [
        "Discover: ads or marketplace search",
        "Consider: product page, delivery date, reviews when they exist",
        "Buy: checkout",
        "Receive: tracking",
        "Repeat: email at day 30",
    ]
    if depth == "summary":
        return SalesNarrative(
            summary=summary,
            landing_page=landing[:3],
            email_sequence=emails[:2],
            upsell_downsell=upsell[:1],
            conversion_tactics=tactics[:2],
            customer_journey=journey,
        )
    return SalesNarrative(
        summary=summary,
        landing_page=landing,
        email_sequence=emails,
        upsell_downsell=upsell,
        conversion_tactics=tactics,
        customer_journey=journey,
    )


RENDERERS = {
    "product_analyst": product,
    "market_profiler": market,
    "advertising_planner": ads,
    "supply_chain_advisor": supply,
    "sales_strategy": sales,
}


def render(agent: str, facts: dict, depth: str):
    return RENDERERS[agent](facts, depth)
