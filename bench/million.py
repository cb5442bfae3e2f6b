"""`make bench-million`: the app end to end on a 1,000,000-city table (issue 15, docs/performance.md).

Builds a synthetic table of 1M cities from the real ones (bench/scale.py's method), loads it into its
own SQLite database (var/million/app.db, kept between runs; nothing else is touched), starts the app on
it and drives one analyst in headless Chromium: sign in, run a world forecast, move the price slider,
open the ranking, the map by country, City Explorer with a search, and download the CSV and the PDF.
Prints seconds per step and the server's resident memory. The database says it holds the shipped data
(so the app starts), which is true only of its schema: use it for this measurement only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_CITIES = 1_000_000


def build(db_path: Path, n: int) -> float:
    """Load ``n`` synthetic cities into a fresh SQLite database (skipped when it already holds them)."""
    import pandas as pd

    from bench.scale import synthetic
    from core import accounts, paths
    from core.db import repo
    from core.db.database import Database
    from core.db.seed import DATA_HASH_KEY, data_hash

    db = Database(f"sqlite:///{db_path}")
    db.migrate()
    if repo.count_cities(db) == n:
        return 0.0
    t = time.perf_counter()
    real = pd.read_parquet(paths.CITIES_FILE)
    real = real[real["parent_city_id"].isna()] if "parent_city_id" in real else real
    repo.replace_cities(db, synthetic(real, n), pd.read_parquet(paths.COUNTRIES_FILE))
    repo.set_meta(db, DATA_HASH_KEY, data_hash())
    accounts.ensure_demo_accounts(db)
    return time.perf_counter() - t


def drive(url: str, out_dir: Path, timeout_ms: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from tests.test_browser import (
        CHROMIUM,
        CHROMIUM_ARGS,
        choose,
        move_price_slider,
        sign_in,
        view,
        wait_idle,
    )

    times: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True).new_page()
        page.set_default_timeout(timeout_ms)

        def step(name: str, fn) -> None:
            t = time.perf_counter()
            fn()
            times[name] = time.perf_counter() - t
            print(f"  {name:<32} {times[name]:6.2f} s", flush=True)

        step("open + sign in", lambda: (page.goto(url), sign_in(page)))
        page.get_by_label("Product name *").fill("Million tee")
        choose(page, "Category *", "Apparel & Accessories")
        page.get_by_role("spinbutton", name="Price (US$) *").fill("30")
        page.get_by_role("spinbutton", name="Unit cost (US$) *").fill("8")
        wait_idle(page)

        def forecast() -> None:
            page.get_by_role("button", name="Run forecast").click()
            page.get_by_role("heading", name="Results").wait_for()
            page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for()

        step("world forecast -> map", forecast)
        wait_idle(page)

        step("price slider -> new totals", lambda: move_price_slider(page))
        wait_idle(page)
        step(
            "ranking view",
            lambda: (
                view(page, "Ranking"),
                page.locator("[data-testid='stDataFrame']").first.wait_for(),
                wait_idle(page),
            ),
        )

        def by_country() -> None:
            view(page, "Map")
            wait_idle(page)
            page.get_by_role("radio", name="Countries", exact=True).click()
            wait_idle(page)
            page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for()

        step("map of countries", by_country)

        def export(label: str, name: str) -> None:
            with page.expect_download() as dl:
                page.get_by_role("button", name=label).click()
            Path(dl.value.path()).replace(out_dir / name)

        view(page, "Export")
        wait_idle(page)
        step("CSV download", lambda: export("Download CSV", "million.csv"))
        step("PDF download", lambda: export("Download PDF report", "million.pdf"))

        def explorer() -> None:
            page.get_by_role("link", name="City Explorer").click()
            box = page.get_by_label("Search city or country")
            box.wait_for()
            box.fill("Sao Paulo")
            box.press("Enter")
            wait_idle(page)
            page.locator("[data-testid='stDataFrame']").first.wait_for()

        step("City Explorer search", explorer)
        page.screenshot(path=str(out_dir / "million_explorer.png"))
        browser.close()
    return times


def main() -> int:
    import psutil

    from deploy.cluster import wait_for
    from tests.test_browser import CHROMIUM, free_port

    parser = argparse.ArgumentParser(description="the app end to end on a 1M-city table")
    parser.add_argument("--cities", type=int, default=N_CITIES)
    parser.add_argument("--timeout", type=float, default=180, help="seconds one step may take")
    args = parser.parse_args()
    if not CHROMIUM:
        print("bench-million: needs Debian's chromium (apt-get install chromium)")
        return 2
    work = ROOT / "var" / "million"
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / f"app_{args.cities}.db"
    print(f"building {args.cities:,} cities into {db_path.relative_to(ROOT)} ...", flush=True)
    built = build(db_path, args.cities)
    print(f"  load into SQLite: {built:.0f} s" if built else "  (already built)", flush=True)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db_path}", DEMO_MODE="true")
    env.pop("LOGIN_SLEEP_S", None)
    port = free_port()
    t0 = time.perf_counter()
    app = subprocess.Popen(
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
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health", seconds=120)
        print(f"  server up                        {time.perf_counter() - t0:6.2f} s", flush=True)
        times = drive(url, work, int(args.timeout * 1000))
        proc = psutil.Process(app.pid)
        rss = proc.memory_info().rss / 1e6
        print(
            f"server RSS after the run: {rss:,.0f} MB; total {sum(times.values()):.1f} s for {len(times)} steps"
        )
    finally:
        app.terminate()
        app.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
