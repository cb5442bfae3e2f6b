"""`make load`: N analysts at once against one app process on PostgreSQL.

Each analyst signs in, runs a forecast, moves the price slider, opens the map and downloads the CSV.
Two kinds of client: ``--client protocol`` (default) speaks Streamlit's websocket protocol without a
browser (bench/stclient.py), so the numbers are the server's, not N Chromiums' rendering on the same
cores; ``--client browser`` drives real headless Chromium (each analyst its own browser). Sessions start together (concurrency is real: one thread per browser, the
app's script threads serve them at once). Printed per N: p50 / p95 seconds per action, errors, the
server's CPU seconds and resident memory (RSS growth per session), and the first N at which the p95
of a slider move passes 2 s. Bounded: --levels (default 1,5,10,20,40), one round per level, a time
limit per action; localhost only (a throwaway PostgreSQL from pgserver unless DATABASE_URL is one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACTIONS = ("login", "forecast", "slider", "map", "csv")


def analyst(browser_path: str, args: list[str], url: str, i: int, out: dict, timeout_ms: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_browser import choose, move_price_slider, view, wait_idle

    times: dict[str, float] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=browser_path, headless=True, args=args)
            page = browser.new_context(
                viewport={"width": 1440, "height": 900}, accept_downloads=True
            ).new_page()
            page.set_default_timeout(timeout_ms)
            t = time.perf_counter()
            page.goto(url)
            page.get_by_label("E-mail").first.fill("master@demo.local")
            page.get_by_label("Password", exact=True).first.fill("demo-password")
            page.get_by_role("button", name="Log in").click()
            page.get_by_label("Product name *").wait_for()
            times["login"] = time.perf_counter() - t
            page.get_by_label("Product name *").fill(f"Load tee {i}")
            choose(page, "Category *", "Apparel & Accessories")
            page.get_by_role("spinbutton", name="Price (US$) *").fill("30")
            page.get_by_role("spinbutton", name="Unit cost (US$) *").fill("8")
            wait_idle(page)
            t = time.perf_counter()
            page.get_by_role("button", name="Run forecast").click()
            page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for()
            times["forecast"] = time.perf_counter() - t
            wait_idle(page)
            t = time.perf_counter()
            move_price_slider(page)
            times["slider"] = time.perf_counter() - t
            wait_idle(page)
            t = time.perf_counter()
            view(page, "Ranking")
            view(page, "Map")
            page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for()
            times["map"] = time.perf_counter() - t
            view(page, "Export")
            t = time.perf_counter()
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download CSV").click()
            dl.value.path()
            times["csv"] = time.perf_counter() - t
            browser.close()
        out[i] = times
    except Exception as exc:  # recorded as an error of this session; the others go on
        step = next((a for a in ACTIONS if a not in times), "after csv")
        out[i] = times | {"error": f"during {step}: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}"}


def protocol_analyst(url: str, i: int, out: dict, timeout_s: float, proc=None) -> None:
    """The same five actions over the websocket protocol (bench/stclient.py); an action ends when the
    server has finished the script run it caused (what the browser then draws is not counted). With the
    server's process (``proc``, psutil; given when this analyst is alone on it) each action's server CPU
    seconds are recorded too, as ``cpu_<action>``."""
    from bench.stclient import Session

    times: dict[str, float] = {}
    cpu_at = [_cpu(proc)]

    def cpu_of(action: str) -> None:  # the server CPU since the previous action ended
        if proc is not None:
            cpu_at.append(_cpu(proc))
            times[f"cpu_{action}"] = cpu_at[-1] - cpu_at[-2]

    s = Session(url, timeout_s=timeout_s)
    try:
        t = time.perf_counter()
        s.open()
        s.run(
            {s.find(label="E-mail"): "master@demo.local", s.find(label="Password"): "demo-password"},
            click=s.find(label="Log in", kind="button"),
        )
        s.run()  # what the login-cookie component's answer does in a browser: a rerun into the app
        s.find("nf_name")
        times["login"] = time.perf_counter() - t
        cpu_of("login")
        cat = s.find("nf_category")
        form = {
            s.find("nf_name"): f"Load tee {i}",
            cat: next(o for o in cat.proto.options if o.startswith("Apparel")),
            s.find("nf_price"): 30.0,
            s.find("nf_unit_cost"): 8.0,
        }
        cpu_at[-1] = _cpu(proc)
        times["forecast"] = s.run(form, click=s.find(label="Run forecast", kind="button"))
        cpu_of("forecast")
        before = s.metrics.get("Units / month")
        if before is None:
            raise RuntimeError(f"no results after the forecast: {s.exceptions[:1] or s.headings[:3]}")
        cpu_at[-1] = _cpu(proc)
        times["slider"] = s.run({s.find("rs_price"): 31.0}, fragment=True)
        cpu_of("slider")
        if s.metrics.get("Units / month") == before:
            raise RuntimeError("the slider move did not change the totals")
        view = s.find("rs_view")
        cpu_at[-1] = _cpu(proc)
        times["map"] = s.run({view: "Ranking"}, fragment=True) + s.run({view: "Map"}, fragment=True)
        cpu_of("map")
        s.run({view: "Export"}, fragment=True)
        cpu_at[-1] = _cpu(proc)
        t = time.perf_counter()
        if not s.download(s.find(label="Download CSV", kind="download_button")).startswith(
            b"\xef\xbb\xbfrank,"
        ):
            raise RuntimeError("the CSV is not a ranking")
        times["csv"] = time.perf_counter() - t
        cpu_of("csv")
        if s.exceptions:
            raise RuntimeError(s.exceptions[0])
        out[i] = times
    except Exception as exc:  # recorded as an error of this session; the others go on
        step = next((a for a in ACTIONS if a not in times), "after csv")
        out[i] = times | {
            "error": f"during {step}: {type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"
        }
    finally:
        with contextlib.suppress(Exception):  # a session that never opened has nothing to close
            s.close()


def _cpu(proc) -> float:
    return sum(proc.cpu_times()[:2]) if proc is not None else 0.0


def p(values: list[float], q: float) -> float:
    return (
        float(statistics.quantiles(values, n=100, method="inclusive")[q - 1])
        if len(values) > 1
        else values[0]
    )


def level_summary(n: int, out: dict[int, dict], server_cpu_s: float | None, rss_mb: float | None) -> dict:
    """One level as the JSON scripts read (``--json``; keep this shape): n, errors, p50_s / p95_s / p99_s per
    action (null where no analyst got that far), server_cpu_s and rss_mb (null for a remote server)."""

    def q(action: str, pct: int) -> float | None:
        vals = [o[action] for o in out.values() if action in o]
        return round(p(vals, pct), 3) if vals else None

    return {
        "n": n,
        "errors": sum("error" in o for o in out.values()),
        **{f"p{pct}_s": {a: q(a, pct) for a in ACTIONS} for pct in (50, 95, 99)},
        "server_cpu_s": None if server_cpu_s is None else round(server_cpu_s, 1),
        "rss_mb": None if rss_mb is None else round(rss_mb, 0),
    }


def main() -> int:
    import psutil

    from deploy.cluster import wait_for
    from tests.test_browser import CHROMIUM, free_port

    parser = argparse.ArgumentParser(description="load test: N analysts at once")
    parser.add_argument("--levels", default="1,5,10,20,40")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one action may take")
    parser.add_argument(
        "--client",
        choices=["protocol", "browser"],
        default="protocol",
        help="websocket protocol without a browser (default) or headless Chromium",
    )
    parser.add_argument(
        "--shape",
        choices=["burst", "arrivals"],
        default="burst",
        help="burst: N analysts at once, one pass (default); arrivals: Locust users arriving over "
        "time with think time (bench/locustfile.py)",
    )
    parser.add_argument("--users", type=int, default=100, help="arrivals: analysts in all")
    parser.add_argument("--minutes", type=float, default=10.0, help="arrivals: length of the run")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=None,
        help="arrivals: analysts arriving per second (default: all within the first half)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON list (one object per level) on stdout; the table goes to stderr",
    )
    parser.add_argument(
        "--url",
        default=None,
        help="load a server started elsewhere (demo accounts seeded) instead of starting one here",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="sample the app process with py-spy (pip install py-spy) for the whole run and write its "
        "collapsed stacks (one line per stack with its sample count) to FILE",
    )
    args = parser.parse_args()
    if args.client == "browser" and not CHROMIUM:
        print("load: needs Debian's chromium (apt-get install chromium)")
        return 2
    runner = run_arrivals if args.shape == "arrivals" else run_levels
    if args.url:  # a server started elsewhere (e.g. another host): only the clients run here
        return runner(args, args.url.rstrip("/"), None)
    env = dict(os.environ)
    server = None
    if not env.get("DATABASE_URL", "").startswith("postgresql"):
        import pgserver

        server = pgserver.get_server(ROOT / "var" / "load_pg", cleanup_mode="stop")
        env["DATABASE_URL"] = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    env["DEMO_MODE"] = "true"
    subprocess.run(
        [sys.executable, "-m", "core", "seed"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    port = free_port()
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
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The job worker that writes the agents of each forecast (as `make run` starts it): the machine does
    # all the work a deployment does; its CPU is reported apart (stderr), not in server_cpu_s.
    worker = subprocess.Popen(
        [sys.executable, "-m", "agents.worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/_stcore/health")
    profiler = None
    if args.profile:  # py-spy samples the server's Python stacks from outside (no change to the app)
        profiler = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(app.pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--gil",  # only the thread holding the GIL: the samples are the process's Python CPU
                "--nonblocking",  # never pause the server to read its stacks
                "-o",
                args.profile,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        return runner(args, url, psutil.Process(app.pid))
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        worker_cpu = sum(psutil.Process(worker.pid).cpu_times()[:2]) if worker.poll() is None else None
        print(f"job worker CPU over the whole run: {worker_cpu} s", file=sys.stderr)
        for proc in (app, worker):
            proc.terminate()
            proc.wait(timeout=30)
        if server is not None:
            server.cleanup()


def run_arrivals(args: argparse.Namespace, url: str, proc) -> int:
    """Analysts arriving over time with think time: Locust (bench/locustfile.py) drives the protocol
    client headless; its per-action percentiles are printed in the burst's shape (one level, n = users)."""
    import csv

    out_dir = ROOT / "var" / "locust"
    out_dir.mkdir(parents=True, exist_ok=True)
    rate = args.spawn_rate or max(args.users / (args.minutes * 30), 0.01)  # everyone in by half-time
    cpu0 = sum(proc.cpu_times()[:2]) if proc else 0.0
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            f"{rate:.4f}",
            "-t",
            f"{int(args.minutes * 60)}s",
            "--host",
            url,
            "--csv",
            str(out_dir / "arrivals"),
            "--only-summary",
            "--stop-timeout",
            "30",
        ],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with (out_dir / "arrivals_stats.csv").open() as f:
        stats = {r["Name"]: r for r in csv.DictReader(f) if r["Type"] == "streamlit"}
    cpu = sum(proc.cpu_times()[:2]) - cpu0 if proc else None
    rss = proc.memory_info().rss / 1e6 if proc else None

    def pct(action: str, key: str) -> float | None:
        r = stats.get(action)
        return round(float(r[key]) / 1000, 3) if r and r[key] not in ("", "N/A") else None

    summary = {
        "n": args.users,
        "errors": sum(int(r["Failure Count"]) for r in stats.values()),
        **{f"p{q}_s": {a: pct(a, f"{q}%") for a in ACTIONS} for q in (50, 95, 99)},
        "server_cpu_s": None if cpu is None else round(cpu, 1),
        "rss_mb": None if rss is None else round(rss, 0),
        "shape": "arrivals",
        "minutes": args.minutes,
        "spawn_rate_per_s": round(rate, 4),
    }
    if args.json:
        print(json.dumps([summary]))
    else:
        print(
            f"{args.users} analysts over {args.minutes:g} min (arriving {rate:.3f}/s, think time 3-15 s), errors "
            f"{summary['errors']}, server CPU {summary['server_cpu_s']} s"
        )
        for a in ACTIONS:
            print(
                f"  {a:>8}: p50 {summary['p50_s'][a]} s, p95 {summary['p95_s'][a]} s, p99 {summary['p99_s'][a]} s"
            )
    return 0


def run_levels(args: argparse.Namespace, url: str, proc) -> int:
    """Each level's N analysts at once; the server's CPU and memory when it is a local process."""
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    crossed = None
    table = sys.stderr if getattr(args, "json", False) else sys.stdout
    summaries = []
    print(
        f"{'N':>4} {'errors':>6} "
        + " ".join(f"{a + ' p50/p95 s':>20}" for a in ACTIONS)
        + f" {'CPU s':>7} {'RSS MB':>7} {'MB/session':>10}",
        file=table,
    )
    for n in [int(x) for x in args.levels.split(",")]:
        rss0, cpu0 = (proc.memory_info().rss, sum(proc.cpu_times()[:2])) if proc else (0, 0.0)
        out: dict[int, dict] = {}
        if args.client == "browser":
            threads = [
                threading.Thread(
                    target=analyst, args=(CHROMIUM, CHROMIUM_ARGS, url, i, out, int(args.timeout * 1000))
                )
                for i in range(n)
            ]
        else:
            threads = [
                threading.Thread(
                    target=protocol_analyst, args=(url, i, out, args.timeout, proc if n == 1 else None)
                )
                for i in range(n)
            ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [o["error"] for o in out.values() if "error" in o]
        cells = []
        for a in ACTIONS:
            vals = [o[a] for o in out.values() if a in o]
            cells.append(f"{p(vals, 50):>9.2f}/{p(vals, 95):<9.2f}" if vals else f"{'-':>20}")
            if a == "slider" and vals and crossed is None and p(vals, 95) > 2.0:
                crossed = n
        if proc:
            rss1, cpu1 = proc.memory_info().rss, sum(proc.cpu_times()[:2])
            server = f" {cpu1 - cpu0:>7.1f} {rss1 / 1e6:>7.0f} {(rss1 - rss0) / 1e6 / n:>10.1f}"
            summaries.append(level_summary(n, out, cpu1 - cpu0, rss1 / 1e6))
        else:
            server = f" {'-':>7} {'-':>7} {'-':>10}"  # a remote server: measure it there
            summaries.append(level_summary(n, out, None, None))
        print(
            f"{n:>4} {len(errors):>6} " + " ".join(f"{c:>20}" for c in cells) + server, flush=True, file=table
        )
        for e in sorted(set(errors))[:3]:
            print(f"      error: {e}", file=table)
        if n == 1 and proc and "error" not in out[0]:
            per_action = {a: round(out[0][f"cpu_{a}"], 3) for a in ACTIONS if f"cpu_{a}" in out[0]}
            summaries[-1]["server_cpu_s_per_action"] = per_action
            print(
                "      server CPU s per action: " + ", ".join(f"{a} {v}" for a, v in per_action.items()),
                file=table,
            )
    print(
        f"slider p95 passes 2 s at N = {crossed}"
        if crossed
        else "slider p95 stayed under 2 s at every N tried",
        file=table,
    )
    if getattr(args, "json", False):
        print(json.dumps(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
