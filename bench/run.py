"""`make bench`: medians over repeated runs of the engine's hot paths (no assertions, figures only).

Prints one line per measurement: name, median, min, runs. Run on an idle machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db.database import Database
from core.forecast import evaluate, order, positions, prepare, rank, validate_product
from core.places.citydata import city_arrays_from_db
from core.settings import load_settings


def measure(name: str, fn: Callable[[], object], runs: int = 30, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    print(f"{name:<58} median {med:8.2f} ms   min {min(times):8.2f} ms   runs {runs}")
    return med


def main() -> None:
    ca = city_arrays_from_db(Database(load_settings().database_url))
    n = ca.city_id.size
    product = validate_product(name="Tee", category="166", price=30, unit_cost=8, ships_from="Istanbul, TR")
    prep = prepare(ca, product)
    print(f"cities: {n:,}")
    measure("ranking, all cities (prepare + evaluate + order)", lambda: order(evaluate(prepare(ca, product))))
    measure(
        "ranking table, all cities (+ DataFrame of all columns)", lambda: rank(evaluate(prepare(ca, product)))
    )
    measure("what-if recompute (evaluate at a new price + order)", lambda: order(evaluate(prep, price=33.0)))
    measure(
        "what-if, top-50 table (evaluate + rank top 50)", lambda: rank(evaluate(prep, price=33.0), top=50)
    )
    bench_agents(ca, product)
    bench_calibration(ca)
    bench_app(ca, prep)
    bench_browser()


def bench_agents(ca, product) -> None:
    """The whole agent graph, offline (template writer), as the app runs it (no database)."""
    from agents.context import AgentContext
    from agents.runner import run_agents

    request = {
        "product": product.model_dump(mode="json"),
        "countries": None,
        "budget": 5000.0,
        "depth": "full",
    }
    measure(
        "agents: whole graph offline (5 agents, full depth)",
        lambda: run_agents(AgentContext(ca), request),
        runs=10,
    )


def bench_calibration(ca) -> None:
    """Calibrate on a sales file of 2,000 Brazilian cities (orders drawn around the forecast): matching
    by name and state code, cross-validation of both losses, the final fit, predictions for Brazil."""
    import numpy as np
    import pandas as pd

    from core import calibration

    ev = evaluate(
        prepare(ca, validate_product(name="Towels", category="Home & Garden", price=25, unit_cost=10))
    )
    idx = np.flatnonzero(ca.iso2 == "BR")[:2000]
    lam = ev.columns["expected_units_month"][idx]
    orders = np.random.default_rng(0).poisson(20 * lam / lam.mean())
    frame = ca.frame.iloc[idx]
    data = pd.DataFrame({"city": frame["name"], "region": frame["admin1"], "country": "BR", "orders": orders})
    data = data.drop_duplicates(["city", "region"])  # a file has one row per city; namesakes in one state go
    rows, measure_name = calibration.read_sales(data.to_csv(index=False).encode())
    measure(
        f"calibration, {len(data):,} cities (match, CV of 2 losses, fit)",
        lambda: calibration.calibrate(rows, measure_name, ev, ["BR"]),
        runs=5,
        warmup=1,
    )


def bench_app(ca, prep) -> None:
    """The server-side work of one what-if slider change, and the PDF report."""
    import pydeck as pdk

    from core import paths
    from core.forecast import whatif
    from core.render import charts
    from core.render import pdf as pdf_report
    from core.services.forecasts import STORED_RESULTS

    basemap = pdk.Layer("GeoJsonLayer", data=paths.BASEMAP_URL, id="basemap")  # as the app: a URL

    def engine_and_table():
        ev = evaluate(prep, price=33.0)
        shown = whatif.filter_ranking(rank(ev, top=STORED_RESULTS))
        whatif.headline_metrics(shown)
        return ev, shown

    def slider_map_view() -> None:
        _, shown = engine_and_table()
        layer = pdk.Layer("ScatterplotLayer", data=shown[["lon", "lat", "opportunity_score"]], id="r")
        pdk.Deck(layers=[basemap, layer], map_provider=None).to_json()

    def slider_charts_view() -> None:
        ev, shown = engine_and_table()
        idx = positions(ca, shown.head(20)["city_id"])
        curve = whatif.price_curve(ev, idx, whatif.price_grid(33.0, 35.0))
        for spec in (
            charts.top_cities_bar(shown),
            charts.demand_vs_competition(shown),
            charts.price_curve_chart(curve, 33.0, whatif.best_price(curve), "t"),
            charts.country_bar(whatif.country_summary(shown)),
        ):
            charts.to_plotly(spec).to_json()

    measure("slider change, server side: engine + ranking table", lambda: engine_and_table(), runs=30)
    measure("slider change, server side: + Map view (deck JSON)", slider_map_view, runs=15)
    measure("slider change, server side: + Charts view (4 plotly JSON)", slider_charts_view, runs=15)
    ev = evaluate(prep)
    table = rank(ev, top=1000)
    specs = [
        charts.top_cities_bar(table),
        charts.demand_vs_competition(table),
        charts.country_bar(whatif.country_summary(table)),
    ]
    report = pdf_report.ReportInput(product=prep.product.model_dump(mode="json"), table=table, charts=specs)
    print(f"chart renderer: {'kaleido' if charts.kaleido_available() else 'matplotlib'}")
    measure(
        "PDF report (cover, 100-row table, map, 3 charts)",
        lambda: pdf_report.pdf_bytes(report),
        runs=5,
        warmup=1,
    )


def bench_browser() -> None:
    """Run -> rendered results in headless Chromium against a real `streamlit run` (median of 5)."""
    import os
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_browser import CHROMIUM, CHROMIUM_ARGS, free_port, run_forecast_in_browser

    from deploy.cluster import wait_for

    if not CHROMIUM:
        print("browser: skipped (no chromium)")
        return
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.set_default_timeout(60_000)
            run_forecast_in_browser(page, url)  # warm-up: caches, first map load
            times = [run_forecast_in_browser(page, url) * 1000 for _ in range(5)]
            browser.close()
        print(
            f"{'browser: Run -> results rendered (map canvas + plotly)':<58} median {statistics.median(times):8.2f} ms"
            f"   min {min(times):8.2f} ms   runs 5"
        )
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
