"""`make cluster`: several app and API replicas on one PostgreSQL behind nginx, on this machine.

DATABASE_URL must be PostgreSQL (SQLite is one file on one machine); without one, a throwaway
server from the pgserver wheel is started under var/cluster/pg. Prints the front URL; Ctrl-C stops
everything. Needs Debian's nginx (`apt-get install nginx-light`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "var" / "cluster"


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    import pgserver

    server = pgserver.get_server(RUN / "pg", cleanup_mode="stop")  # stopped when this process exits
    return server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)


def start(app_ports: list[int], api_ports: list[int], port: int) -> tuple[str, list[subprocess.Popen]]:
    """Start app replicas on ``app_ports``, API replicas on ``api_ports`` and nginx on ``port``;
    returns the front URL and the processes (app replicas first, then API replicas, the job worker, nginx last)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is not installed: apt-get install nginx-light")
    RUN.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"DATABASE_URL": postgres_url()}
    subprocess.run([sys.executable, "-m", "core", "seed"], cwd=ROOT, env=env, check=True)
    procs: list[subprocess.Popen] = []
    url = f"http://127.0.0.1:{port}"
    try:
        _launch(procs, app_ports, api_ports, port, env, nginx)
        wait_for(f"{url}/_stcore/health")
        # One job worker for the replicas (agents, deep reports), on the same PostgreSQL; started once the
        # replicas answer, so its start (imports, city arrays) does not compete with theirs.
        procs.insert(
            len(procs) - 1,  # app replicas first (the cluster test kills procs[0]), nginx last
            subprocess.Popen(
                [sys.executable, "-m", "agents.worker"],
                cwd=ROOT,
                env=env,
                stdout=(RUN / "worker.log").open("w"),
                stderr=subprocess.STDOUT,
            ),
        )
    except BaseException:
        stop(procs)
        raise
    return url, procs


def _launch(
    procs: list[subprocess.Popen],
    app_ports: list[int],
    api_ports: list[int],
    port: int,
    env: dict,
    nginx: str,
) -> None:
    # App replicas run without APP_METRICS_PORT: with it, tests/test_cluster.py's first login on a replica did
    # not complete (cause not found); their metrics are scraped only where an operator sets the port.
    for p in app_ports:
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    "app.py",
                    "--server.port",
                    str(p),
                    "--server.headless",
                    "true",
                    "--server.address",
                    "127.0.0.1",
                ],
                cwd=ROOT,
                env=env,
                stdout=(RUN / f"app_{p}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
    for p in api_ports:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "api", "--port", str(p)],
                cwd=ROOT,
                env=env,
                stdout=(RUN / f"api_{p}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
    conf = (
        (ROOT / "deploy" / "nginx.conf.template")
        .read_text()
        .format(
            run=RUN,
            port=port,
            app_servers="\n".join(
                f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in app_ports
            ),
            api_servers="\n".join(
                f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in api_ports
            ),
        )
    )
    (RUN / "nginx.conf").write_text(conf)
    (RUN / "prometheus.yml").write_text(prometheus_config(app_ports, api_ports))
    for p in app_ports:
        wait_for(f"http://127.0.0.1:{p}/_stcore/health")
    for p in api_ports:
        wait_for(f"http://127.0.0.1:{p}/health")
    procs.append(
        subprocess.Popen(
            [nginx, "-c", str(RUN / "nginx.conf"), "-p", str(RUN)],
            cwd=RUN,
            stdout=(RUN / "nginx.log").open("w"),
            stderr=subprocess.STDOUT,
        )
    )


METRICS_OFFSET = 1000


def prometheus_config(app_ports: list[int], api_ports: list[int]) -> str:
    """A Prometheus scrape configuration of this cluster: every API replica's /metrics, and the app replicas'
    ports + METRICS_OFFSET for an operator who starts them with APP_METRICS_PORT (deploy/prometheus.yml)."""
    apps = ", ".join(f"'127.0.0.1:{p + METRICS_OFFSET}'" for p in app_ports)
    apis = ", ".join(f"'127.0.0.1:{p}'" for p in api_ports)
    return (
        "global:\n  scrape_interval: 15s\nscrape_configs:\n"
        f"  - job_name: aicommerce-app\n    static_configs:\n      - targets: [{apps}]\n"
        f"  - job_name: aicommerce-api\n    metrics_path: /metrics\n    static_configs:\n      - targets: [{apis}]\n"
    )


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--api-replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--base-port", type=int, default=8601)
    args = parser.parse_args()
    url, procs = start(
        [args.base_port + i for i in range(args.replicas)],
        [args.base_port + 100 + i for i in range(args.api_replicas)],
        args.port,
    )
    print(
        f"cluster up: app {url} ({args.replicas} replicas), API {url}/api/v1 ({args.api_replicas} replicas); Ctrl-C stops",
        flush=True,
    )
    print(f"metrics: Prometheus scrape configuration in {RUN / 'prometheus.yml'}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a process of the cluster stopped; see var/cluster/*.log", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
