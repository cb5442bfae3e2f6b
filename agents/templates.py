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
    fit = "fits" if f["category_matches_text"] else "may not fit"
    summary = (
        f"{f['name']} is classified as {f['category']}; the description {fit} that category. "
        f"Demand potential is {f['demand_potential']:.0f}/100 (mean demand score of the top cities), "
        f"market fit {f['market_fit']:.0f}/100, production complexity {f['complexity']:.0f}/100. "
        f"At {_money(f['price'])} it sits in the {f['position']} segment of the category."
    )
    return ProductNarrative(summary=summary, positioning=f"A {f['position']} {f['category'].lower()} product "
                            f"for {f['audience']}, priced at {_money(f['price'])}.")  # fmt: skip


def _city_note(c: dict) -> str:
    bits = []
    if c["online_buyers_pct"] >= 70:
        bits.append("a mature online-shopping market: expect fast-delivery and free-returns expectations")
    elif c["online_buyers_pct"] >= 35:
        bits.append("a growing online market: marketplaces and social commerce drive discovery")
    else:
        bits.append("an early online market: cash-on-delivery and marketplace trust matter")
    if c["purchasing_power_index"] >= 200:
        bits.append("high purchasing power supports premium positioning")
    elif c["purchasing_power_index"] < 80:
        bits.append("price sensitivity is likely high")
    return "; ".join(bits) + "."


def market(f: dict, depth: str) -> MarketNarrative:
    cities = f["cities"]
    top = ", ".join(f"{c['city']} ({c['country_iso2']})" for c in cities[:3])
    summary = (
        f"The strongest opportunities are {top}. Across the {len(cities)} cities profiled, the opportunity "
        f"score runs from {cities[-1]['opportunity_score']:.1f} to {cities[0]['opportunity_score']:.1f}. "
        "Competition is a proxy from e-commerce maturity, merchant density and market depth."
    )
    return MarketNarrative(summary=summary, cultural_notes=[CityNote(city=c["city"], note=_city_note(c)) for c in cities])


def ads(f: dict, depth: str) -> AdNarrative:
    name, cat = f["name"], f["category"]
    best = max(f["optimised"], key=lambda r: r["spend_usd"])
    summary = (
        f"With {_money(f['budget'])} a month, the optimised split puts most spend on {best['platform']} and is "
        f"expected to bring {f['conversions']:,.0f} orders at a CAC of {_money(f['cac'])} and a ROAS of "
        f"{f['roas']:.2f} (break-even ROAS {f['break_even_roas']:.2f}). "
        + ("Paid acquisition is below break-even at this price: improve margin, AOV or repeat rate before scaling."
           if f["roas"] < f["break_even_roas"] else "Paid acquisition clears break-even at this price.")
    )  # fmt: skip
    angles = [
        ("Google Search", f"{name} - {cat}", f"Looking for {cat.lower()}? {name}, delivered fast.", "Shop now"),
        ("Meta", f"Meet {name}", f"Made for {f['audience']}. See why customers choose {name}.", "Learn more"),
        ("TikTok", f"POV: you found {name}", f"The {cat.lower()} everyone in {f['top_city']} is talking about.", "Shop the look"),
        ("Google Search", f"{name} | Free returns", f"{name}: quality {cat.lower()} with easy returns.", "Order today"),
        ("Meta", "Your new favourite", f"{name} for {f['audience']}. Limited launch stock.", "Get yours"),
        ("TikTok", "Unboxing day", f"Watch us unbox {name} - then get your own.", "Try it"),
        ("Meta", "Bundle and save", f"Pair {name} with a second item and save on shipping.", "See bundles"),
        ("Google Search", f"Buy {name} online", f"{name} in stock. Secure checkout.", "Buy now"),
        ("TikTok", "3 ways to use it", f"Three quick ways to use {name}.", "Watch more"),
        ("Meta", "Loved by early buyers", f"Early buyers in {f['top_city']} rate {name} highly - join them.", "Shop now"),
    ]  # fmt: skip
    copies = [AdCopy(platform=p, headline=h, body=b, call_to_action=c) for p, h, b, c in angles[: N_COPIES[depth]]]
    briefs = [
        f"Search: capture intent on '{cat.lower()}' terms in {f['top_city']} and the other top cities; lead with delivery speed.",
        f"Meta: carousel showing {name} in use by {f['audience']}; test 3 hooks in the first 3 seconds.",
        "TikTok: creator-led 15-second demo; native, unpolished; end on the offer.",
    ]  # fmt: skip
    return AdNarrative(summary=summary, ad_copies=copies, creative_briefs=briefs)


def supply(f: dict, depth: str) -> SupplyNarrative:
    lc = f["landed_costs"]
    first = lc[0] if lc else None
    txt = (
        f"Recommended method: {f['method']} ({'; '.join(f['method_reasons'])}). Sourcing regions: "
        f"{', '.join(f['sourcing_regions'])}; shipping from {f['origin']}. "
    )
    if first:
        txt += (f"Landed cost to {first['market']} is {_money(first['landed_cost_usd'])} per unit by {first['mode']} "
                f"({first['total_lead_days']:.0f} days door to door). ")  # fmt: skip
    txt += (f"Inspect each lot of {f['aql']['lot_size']:,} units with code letter {f['aql']['code_letter']} "
            f"(sample {f['aql']['sample_size']}), AQL 2.5: accept at {f['aql']['accept']} defects, reject at "
            f"{f['aql']['reject']}. Warehouse in {f['warehouse']} minimises demand-weighted distance.")  # fmt: skip
    return SupplyNarrative(summary=txt)


def sales(f: dict, depth: str) -> SalesNarrative:
    name = f["name"]
    recs = [c for c in f["channels"] if c["recommended"]]
    summary = "Recommended channel by country: " + "; ".join(
        f"{c['country_iso2']}: {c['channel']} ({100 * c['margin_rate']:.0f} % margin)" for c in recs
    ) + ". Margins are after marketplace or card fees and, for the own shop, acquisition cost."
    return SalesNarrative(
        summary=summary,
        landing_page=["Hero: product photo, one-line promise, price, primary CTA",
                      "Social proof: reviews and early-buyer quotes", "Benefits in three bullets",
                      "Details: materials, sizes or specs; delivery and returns", "FAQ", "Final CTA with guarantee"],
        email_sequence=[EmailStep(day=0, subject=f"Welcome - your {name} guide", goal="deliver value, set expectations"),
                        EmailStep(day=2, subject=f"Why people choose {name}", goal="social proof"),
                        EmailStep(day=5, subject="Still thinking it over?", goal="handle objections, returns policy"),
                        EmailStep(day=9, subject="A small thank-you", goal="time-limited incentive"),
                        EmailStep(day=30, subject="How is it going?", goal="review request and cross-sell")],
        upsell_downsell=["Upsell: bundle of two at a lower unit price", "Cross-sell: a complementary accessory",
                         "Downsell: a smaller or basic variant at checkout exit"],
        conversion_tactics=["Free shipping threshold above the average order", "Clear delivery date on the product page",
                            "Easy returns stated above the fold", "Reviews with photos"],
        customer_journey=["Discover (ads, marketplace search)", "Consider (landing page, reviews)",
                          "Buy (checkout, payment options)", "Receive (tracking, unboxing)",
                          "Repeat (email, loyalty)"],
    )  # fmt: skip


RENDERERS = {
    "product_analyst": product, "market_profiler": market, "advertising_planner": ads,
    "supply_chain_advisor": supply, "sales_strategy": sales,
}  # fmt: skip


def render(agent: str, facts: dict, depth: str):
    return RENDERERS[agent](facts, depth)
