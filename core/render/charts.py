"""Chart definitions shared by the Results page and the PDF report.

A chart is a small spec (data + labels). ``to_plotly`` draws it for the screen; ``to_png`` renders
the same spec for the PDF with kaleido (Chromium) when available, else with matplotlib.
"""

from __future__ import annotations

import io
import logging
import shutil
import warnings
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# plotly warns on every image that kaleido's server ignores per-call options; nothing to act on.
# A module-level filter, because catch_warnings is not thread-safe (the renderer warms in a thread).
warnings.filterwarnings("ignore", message="The kopts argument is ignored", category=UserWarning)

PRIMARY = "#0F4C81"
ACCENT = "#F2A900"
MUTED = "#8A99AD"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" | "bubble" | "lines"
    title: str
    x_label: str
    y_label: str
    x: list
    series: dict[str, list]  # name -> y values (bar / lines); "y" for bubble
    size: list | None = None
    text: list | None = None
    markers: dict[str, float] = field(default_factory=dict)  # vertical lines: label -> x


def top_cities_bar(table: pd.DataFrame, n: int = 15) -> Chart:
    top = table.head(n)
    return Chart(
        "bar",
        f"Top {len(top)} cities by opportunity: expected revenue per month",
        "",
        "US$ per month",
        x=[f"{c} ({iso})" for c, iso in zip(top["city"], top["country_iso2"], strict=True)],
        series={"Expected revenue": top["expected_revenue_usd_month"].round(2).tolist()},
    )


def demand_vs_competition(table: pd.DataFrame, n: int = 200) -> Chart:
    top = table.head(n)
    size = np.sqrt(top["market_size_usd_month"].to_numpy())
    return Chart(
        "bubble",
        "Demand against competition (bubble size: market size)",
        "Competition index",
        "Demand score",
        x=top["competition_index"].round(2).tolist(),
        series={"y": top["demand_score"].round(2).tolist()},
        size=(8 + 40 * size / max(size.max(), 1e-9)).round(1).tolist(),
        text=[f"{c} ({iso})" for c, iso in zip(top["city"], top["country_iso2"], strict=True)],
    )


def price_curve_chart(curve: pd.DataFrame, current: float, optimum: float, title: str) -> Chart:
    return Chart(
        "lines",
        title,
        "Price (US$)",
        "per month",
        x=curve["price"].round(2).tolist(),
        series={
            "Units": curve["units"].round(3).tolist(),
            "Revenue (US$)": curve["revenue"].round(2).tolist(),
            "Profit (US$)": curve["profit"].round(2).tolist(),
        },
        markers={"current price": current, "optimum": optimum},
    )


def rank_change_bar(cmp: pd.DataFrame, n: int = 25) -> Chart:
    """Rank change per city between two forecasts (positive = higher in B), cities in both only."""
    both = cmp.dropna(subset=["rank_change"]).head(n)
    return Chart(
        "bar",
        f"Rank change from A to B (top {len(both)} cities in both)",
        "",
        "places up in B",
        x=both["city"].tolist(),
        series={"Rank change": both["rank_change"].astype(float).tolist()},
    )


def country_bar(summary: pd.DataFrame, n: int = 15) -> Chart:
    top = summary.head(n)
    return Chart(
        "bar",
        f"Expected revenue by country (top {len(top)})",
        "",
        "US$ per month",
        x=top["country_iso2"].tolist(),
        series={"Expected revenue": top["expected_revenue_usd_month"].round(2).tolist()},
    )


def _bar(chart: Chart) -> tuple[list[dict], dict]:
    data = [
        {"type": "bar", "x": chart.x, "y": ys, "name": name, "marker": {"color": PRIMARY}}
        for name, ys in chart.series.items()
    ]
    return data, {"yaxis": {"title": {"text": chart.y_label}}}


def _bubble(chart: Chart) -> tuple[list[dict], dict]:
    marker = {"size": chart.size, "color": PRIMARY, "opacity": 0.55, "line": {"width": 0.5, "color": "white"}}
    data = [
        {
            "type": "scatter",
            "x": chart.x,
            "y": chart.series["y"],
            "mode": "markers",
            "text": chart.text,
            "marker": marker,
            "hovertemplate": "%{text}<br>competition %{x:.1f}<br>demand %{y:.1f}<extra></extra>",
        }
    ]
    return data, {"yaxis": {"title": {"text": chart.y_label}}}


def _price_lines(chart: Chart) -> tuple[list[dict], dict]:
    """Units on the left axis, money on the right, the marked prices as vertical lines."""
    colors = [PRIMARY, ACCENT, "#2E8B57"]
    data = [
        {
            "type": "scatter",
            "x": chart.x,
            "y": ys,
            "name": name,
            "mode": "lines",
            "line": {"color": color},
            "yaxis": "y" if name == "Units" else "y2",
        }
        for (name, ys), color in zip(chart.series.items(), colors, strict=False)
    ]
    layout: dict = {"yaxis": {"title": {"text": "Units"}, "rangemode": "tozero"}}
    # Round dollar ticks chosen on their own axis (tickmode auto), not synced to the units' grid.
    layout["yaxis2"] = {
        "title": {"text": "US$"},
        "overlaying": "y",
        "side": "right",
        "tickmode": "auto",
        "nticks": 6,
        "tickformat": "$,~s",
        "showgrid": False,
        "zeroline": True,
    }
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": xv,
            "x1": xv,
            "y0": 0,
            "y1": 1,
            "line": {"color": MUTED, "dash": "dash" if label == "current price" else "dot"},
        }
        for label, xv in chart.markers.items()
    ]
    layout["annotations"] = [
        {
            "x": xv,
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "text": label,
            "showarrow": False,
            "yanchor": "bottom",
        }
        for label, xv in chart.markers.items()
    ]
    return data, layout


def to_plotly(chart: Chart) -> go.Figure:
    """The chart as a plotly figure, built from plain dicts in one go (fast enough for sliders)."""
    layout: dict = {
        "title": {"text": chart.title},
        "xaxis": {"title": {"text": chart.x_label}},
        "margin": {"l": 40, "r": 40, "t": 50, "b": 40},
        "height": 380,
        "legend": {"orientation": "h", "y": -0.2},
    }
    build = {"bar": _bar, "bubble": _bubble}.get(chart.kind, _price_lines)
    data, extra = build(chart)
    return go.Figure(data=data, layout={**layout, **extra})


@cache
def kaleido_available() -> bool:
    """True when kaleido can find a Chromium/Chrome to render with."""
    if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        log.info("charts: no Chromium found; PDF charts are drawn with matplotlib")
        return False
    try:
        import kaleido

        kaleido.start_sync_server(silence_warnings=True)
    except Exception as exc:
        log.warning(
            "charts: kaleido could not start (%s); PDF charts are drawn with matplotlib", type(exc).__name__
        )
        return False
    return True


def to_png(chart: Chart, width: int = 900, height: int = 420) -> tuple[bytes, str]:
    """PNG bytes of the chart and the renderer used ("kaleido" or "matplotlib")."""
    if kaleido_available():
        try:
            # The screen gets Streamlit's theme; the PDF a plain white template (costly, so only here).
            fig = to_plotly(chart).update_layout(template="plotly_white")
            png = fig.to_image(format="png", width=width, height=height, scale=2)
            return png, "kaleido"
        except Exception as exc:
            log.warning(
                "charts: kaleido failed on %r (%s); drawn with matplotlib instead",
                chart.title,
                type(exc).__name__,
            )
    return _matplotlib_png(chart, width, height), "matplotlib"


def _matplotlib_png(chart: Chart, width: int, height: int) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width / 100, height / 100), dpi=150)
    if chart.kind == "bar":
        for name, ys in chart.series.items():
            ax.bar(range(len(ys)), ys, color=PRIMARY, label=name)
        ax.set_xticks(range(len(chart.x)), chart.x, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel(chart.y_label)
    elif chart.kind == "bubble":
        ax.scatter(chart.x, chart.series["y"], s=np.square(chart.size) / 4, color=PRIMARY, alpha=0.5)
        ax.set_xlabel(chart.x_label)
        ax.set_ylabel(chart.y_label)
    else:
        ax2 = ax.twinx()
        for (name, ys), color in zip(chart.series.items(), [PRIMARY, ACCENT, "#2E8B57"], strict=False):
            (ax if name == "Units" else ax2).plot(chart.x, ys, color=color, label=name)
        for label, xv in chart.markers.items():
            ax.axvline(xv, color=MUTED, linestyle="--" if label == "current price" else ":")
            ax.annotate(label, (xv, ax.get_ylim()[1]), fontsize=7, rotation=90, va="top")
        ax.set_xlabel(chart.x_label)
        ax.set_ylabel("Units")
        ax2.set_ylabel("US$")
        from matplotlib.ticker import MaxNLocator, StrMethodFormatter

        ax2.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))  # round, evenly spaced dollars
        ax2.yaxis.set_major_formatter(StrMethodFormatter("${x:,.0f}"))
        fig.legend(loc="lower center", ncol=3, fontsize=7)
    ax.set_title(chart.title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def breakdown_figure(parts: pd.DataFrame) -> go.Figure:
    """Horizontal bars of each score's terms (core.whatif.score_breakdown), one group per score."""
    fig = go.Figure()
    for score, grp in parts.groupby("score", sort=False):
        fig.add_bar(
            y=[f"{score}: {t}" for t in grp["term"]],
            x=grp["points"],
            orientation="h",
            name=score,
            text=[f"{v:+.1f}" for v in grp["points"]],
            textposition="auto",
        )
    fig.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"autorange": "reversed"},
        xaxis_title="points",
        legend={"orientation": "h", "y": -0.15},
        title="Why this score",
    )
    return fig


def budget_curves_figure(
    curves: list, current: dict[str, float], optimal: dict[str, float], max_spend: float
) -> go.Figure:
    """Response curves per platform (core.budget.Curve) with the current and optimal spends marked."""
    fig = go.Figure()
    colors = [PRIMARY, ACCENT, "#2E8B57"]
    for c, color in zip(curves, colors, strict=False):
        s = np.linspace(0, max_spend, 80)
        fig.add_scatter(x=s, y=c.conversions(s), mode="lines", name=c.platform.label, line={"color": color})
        for label, alloc, symbol in (("current", current, "circle-open"), ("optimal", optimal, "star")):
            x = alloc[c.platform.name]
            fig.add_scatter(
                x=[x],
                y=[float(c.conversions(x))],
                mode="markers",
                showlegend=False,
                marker={"symbol": symbol, "size": 12, "color": color},
                hovertemplate=f"{c.platform.label} {label}: %{{x:,.0f}} US$ -> %{{y:,.1f}} orders<extra></extra>",
            )
    fig.update_layout(
        title="Response curves (circle: current split, star: optimal)",
        xaxis_title="Monthly spend (US$)",
        yaxis_title="Orders per month",
        height=380,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def warm_up() -> str:
    """Render one tiny chart so the renderer (kaleido's Chromium) is running before the first PDF."""
    return to_png(Chart("bar", "", "", "", x=["a"], series={"s": [1.0]}), 100, 100)[1]
