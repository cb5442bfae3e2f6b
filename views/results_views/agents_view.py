"""Results -> Agents: one tab per agent, its numbers from the cores and its text from the writer."""

from __future__ import annotations

import streamlit as st

from core.errors import AppError
from core.render import charts
from core.services import jobs
from core.text import md_escape, sentence
from views import _ui
from views.results_views.context import ResultsContext


def render(ctx: ResultsContext, price: float) -> None:
    results = _ui.agent_results(ctx.forecast_id)
    if ctx.user is not None:
        _rerun(ctx, results)
    if not results:
        if ctx.forecast_id not in st.session_state.get("_agent_jobs", {}):
            st.info("No agent results were stored for this forecast. Run the agents with the button above.")
        return
    tabs = st.tabs([_ui.AGENT_LABELS[a] for a in _ui.AGENT_LABELS if a in results])
    for tab, agent in zip(tabs, [a for a in _ui.AGENT_LABELS if a in results], strict=True):
        out = results[agent]
        with tab:
            if "error" in out:
                st.error(out["error"])
                continue
            st.caption(f"written by the {out.get('writer')} writer · {out.get('duration_ms', 0):.0f} ms")
            for notice in out.get("notices", []):
                st.warning(notice)
            st.markdown(md_escape(out["narrative"]["summary"]))
            _AGENT_VIEWS[agent](out, price)


def _rerun(ctx: ResultsContext, results: dict) -> None:
    """Run the five agents again as a background job (counts one forecast against the quota), e.g. after
    the LLM writer was configured; the tabs show the new results when the job is done."""
    running = st.session_state.setdefault("_agent_jobs", {})
    job_id = running.get(ctx.forecast_id)
    if job_id is None:
        if st.button(
            "Run the agents again",
            key="rs_agents_rerun",
            icon=":material/refresh:",
            help="A background job at your plan's depth, with this forecast's ad budget; counts as one "
            "forecast against the monthly quota. You can keep working meanwhile.",
        ):
            budget = (results.get("advertising_planner") or {}).get("budget_usd_month")
            try:
                job = jobs.rerun_agents(_ui.db(), _ui.get_settings(), ctx.user, ctx.forecast_id, budget)
            except AppError as exc:
                st.error(sentence(exc))
                return
            running[ctx.forecast_id] = job.id
            st.rerun()
        return
    _watch_rerun(ctx.forecast_id, ctx.user.id, job_id)


@st.fragment(run_every=2.0)
def _watch_rerun(forecast_id: str, user_id: str, job_id: str) -> None:
    """The rerun job's state, looked at every two seconds; when it is done the page shows the new results."""
    try:
        job = jobs.job(_ui.db(), _ui.get_settings(), user_id, job_id)
    except AppError as exc:
        st.error(sentence(exc))
        return
    if job.status == "failed":
        st.error(f"The agents could not run: {job.error}")
    elif not job.finished:
        st.caption(f"The five agents are writing their analysis in the background (job {job.status}) ...")
        return
    st.session_state["_agent_jobs"].pop(forecast_id, None)
    st.session_state.get("_agent_results", {}).pop(forecast_id, None)
    if job.status == "done":
        st.rerun()


def _view_product(out: dict, _price: float) -> None:
    st.markdown(f"*{md_escape(out['narrative']['positioning'])}*")
    c1, c2, c3, c4 = st.columns(4)
    n = out.get("city_set") or 10  # runs saved before the one-city-set rule used the top 10 here
    c1.metric(
        f"Units / month, top {n} cities",
        f"{out['demand_potential']:,.0f}",
        help=f"Revenue {_ui.money(out.get('demand_revenue_usd_month', 0.0))} a month (the forecast's ranking); "
        "every agent of this run works on these cities",
    )
    c2.metric(
        "Price fit",
        f"{out['market_fit']['score']:.0f}/100",
        help=f"Share of the top {n} cities where the price earns at least 95 % of the best profit",
    )
    c3.metric(
        "Category complexity",
        f"{out['production_complexity']['score'] / 20:.0f}/5",
        help="A category table value (assumption), not a rating of this product",
    )
    c4.metric(
        "Price position",
        f"{out['quality_expected']['score']:.0f}/100",
        help="50 = the category's typical price",
    )
    for key, label in (
        ("market_fit", "price fit"),
        ("production_complexity", "complexity"),
        ("quality_expected", "price position"),
    ):
        st.caption(f"{label}: " + md_escape("; ".join(out[key]["reasons"])))
    st.caption(
        "Closest categories for the text: "
        + ", ".join(f"{n} ({s:.2f})" for n, s in out["suggested_categories"])
    )


def _view_market(out: dict, _price: float) -> None:
    _ui.agent_table(
        out["cities"],
        {
            "rank": ("#", "int"),
            "city": ("City", "text"),
            "country_iso2": ("Country", "text"),
            "opportunity_score": ("Opportunity", "num"),
            "demand_score": ("Demand", "num"),
            "competition_index": ("Competition", "num"),
            "demographic_match": ("Age fit (100 = world mix)", "num"),
            "purchasing_power_index": ("Purchasing power (100 = median)", "num"),
            "online_buyers_pct": ("Online buyers %", "num"),
            "expected_units_month": ("Units/mo", "num"),
        },
    )
    for note in out["narrative"]["cultural_notes"]:
        st.markdown(f"- **{md_escape(note['city'])}**: {md_escape(note['note'])}")


def _view_ads(out: dict, price: float) -> None:
    from core.advisors import budget as bm

    curves = bm.curves_from_params(out["curves"])
    b0 = float(out["budget_usd_month"])
    ad_budget = st.slider(
        "Monthly ad budget (US$)",
        0.0,
        round(max(5 * b0, 1000.0), -1),
        b0,
        step=max(10.0, round(b0 / 50, -1)),
        key="rs_budget",
    )
    if ad_budget <= 0:
        st.info("Set a budget above zero to see the split.")
        return
    plan = bm.plan(curves, ad_budget, price, float(out["unit_margin_usd"]))
    opt = plan.totals.set_index("split").loc["optimised"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Orders / month (optimised)", f"{opt['conversions']:,.0f}")
    c2.metric("CAC", _ui.money(float(opt["cac_usd"])))
    c3.metric("ROAS", f"{opt['roas']:.2f}")
    c4.metric("Break-even ROAS", f"{plan.break_even_roas:.2f}")
    _ui.agent_table(
        plan.table.to_dict("records"),
        {
            "split": ("Split", "text"),
            "platform": ("Platform", "text"),
            "spend_usd": ("Spend", "money"),
            "conversions": ("Orders", "num"),
            "cac_usd": ("CAC", "money"),
            "revenue_usd": ("Revenue", "money"),
            "roas": ("ROAS", "num2"),
        },
        key="rs_ads_split",
    )
    st.plotly_chart(
        charts.budget_curves_figure(curves, plan.current, plan.optimal, 2 * ad_budget), key="rs_budget_curves"
    )
    ceiling = sum(c.c_max for c in curves)
    st.caption(
        f"Curves: benchmark CPC / conversion rates scaled to the markets' price level; paid orders level off at "
        f"{ceiling:,.0f} a month, as many as the forecast's own in these cities (an assumption, docs/methodology.md "
        f"section 13). Current = equal split. Optimised = the most orders for the budget with no platform above "
        f"{bm.DEFAULT_BOUNDS[1]:.0%} of it (a diversification rule, an assumption)."
    )
    st.markdown("**Targeting**: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in out["targeting"].items()))
    st.markdown("**Ad copy**")
    _ui.agent_table(
        out["narrative"]["ad_copies"],
        {
            "platform": ("Platform", "text"),
            "headline": ("Headline", "text"),
            "body": ("Body", "text"),
            "call_to_action": ("Call to action", "text"),
        },
    )
    st.markdown(
        "**Creative briefs**\n" + "\n".join(f"- {md_escape(b)}" for b in out["narrative"]["creative_briefs"])
    )


def _view_supply(out: dict, _price: float) -> None:
    st.markdown(f"**Method**: {md_escape(out['method'])} - " + md_escape("; ".join(out["method_reasons"])))
    st.markdown(f"**Sourcing regions**: {', '.join(out['sourcing_regions'])} · ships from {out['origin']}")
    st.caption(
        "Per unit, to each top country's best city, with the ranking's own shipping, duty and delivery time."
    )
    _ui.agent_table(
        out["landed_costs"],
        {
            "market": ("City", "text"),
            "country_iso2": ("Country", "text"),
            "distance_km": ("Distance km", "int"),
            "materials_usd": ("Materials", "money"),
            "labour_usd": ("Labour", "money"),
            "overhead_usd": ("Overhead", "money"),
            "freight_usd": ("Shipping", "money"),
            "duty_usd": ("Duty", "money"),
            "landed_cost_usd": ("Landed cost", "money"),
            "import_vat_usd": ("Import VAT (recoverable)", "money"),
            "transit_days": ("Delivery days", "days"),
            "total_lead_days": ("Order to customer, days", "days"),
        },
    )
    a = out["aql"]
    st.markdown(
        f"**AQL (ISO 2859-1, level II)**: lot {a['lot_size']:,} -> code letter {a['code_letter']}, sample "
        f"{a['sample_size']}; AQL {a['aql']}: accept {a['accept']}, reject {a['reject']}"
    )
    st.markdown("**QC checklist**\n" + "\n".join(f"- {md_escape(x)}" for x in out["qc_checklist"]))
    st.markdown(
        f"**Warehouse**: {out['warehouse']} (demand-weighted distance {out['warehouse_weighted_km']:,.0f} km)"
    )


def _view_sales(out: dict, _price: float) -> None:
    st.caption(
        "Per unit after every cost: unit cost, the ranking's shipping and duty, channel fees and (own shop) "
        "acquisition. A channel is recommended only when it makes money."
    )
    _ui.agent_table(
        out["channels"],
        {
            "country_iso2": ("Country", "text"),
            "city": ("City", "text"),
            "channel": ("Channel", "text"),
            "landed_cost_usd": ("Landed cost", "money"),
            "fees_usd": ("Fees", "money"),
            "acquisition_usd": ("Acquisition", "money"),
            "unit_margin_usd": ("Contribution / unit", "money"),
            "margin_rate": ("Margin", "pct"),
            "break_even_price_usd": ("Break-even price", "money"),
            "recommended": ("Recommended", "bool"),
        },
    )
    n = out["narrative"]
    for key in ("landing_page", "upsell_downsell", "conversion_tactics", "customer_journey"):
        st.markdown(
            f"**{key.replace('_', ' ').capitalize()}**\n" + "\n".join(f"- {md_escape(x)}" for x in n[key])
        )
    st.markdown("**Email sequence**")
    _ui.agent_table(
        n["email_sequence"], {"day": ("Day", "int"), "subject": ("Subject", "text"), "goal": ("Goal", "text")}
    )


_AGENT_VIEWS = {
    "product_analyst": _view_product,
    "market_profiler": _view_market,
    "advertising_planner": _view_ads,
    "supply_chain_advisor": _view_supply,
    "sales_strategy": _view_sales,
}
