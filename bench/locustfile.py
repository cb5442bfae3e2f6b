"""Locust users that are analysts: each speaks Streamlit's websocket protocol (bench/stclient.py, no
browser) and works through sign in -> forecast -> slider -> map -> CSV, as `make load` does.

Two shapes (docs/performance.md):
- burst: every analyst starts at once and goes through the flow once (`bench/load.py`, the default);
- arrivals: analysts arrive over time (Locust's spawn rate) and pause between actions (think time,
  `THINK_S`), repeating slider and map moves for their session length.

    .venv/bin/locust -f bench/locustfile.py --headless -u 100 -r 0.17 -t 10m --host http://127.0.0.1:8501
    .venv/bin/python bench/load.py --shape arrivals --users 100 --minutes 10 [--json]   # starts the app too

Each action is reported to Locust as a request of type "streamlit" named after the action, so Locust's
statistics (percentiles, failures, CSV) are per action.
"""

from __future__ import annotations

import contextlib
import random
import time

from locust import User, between, events, task

THINK_S = (3.0, 15.0)  # seconds an analyst pauses between actions (reading the page)
ACTIONS_PER_SESSION = (5, 40)  # slider / view moves before signing out


class Analyst(User):
    """One analyst: signs in, runs a forecast, then moves sliders and views with think time."""

    wait_time = between(*THINK_S)
    abstract = False

    def on_start(self) -> None:
        from bench.stclient import Session

        self.session = Session(self.host, timeout_s=120)
        self.price = 30.0
        self.moves = random.randint(*ACTIONS_PER_SESSION)
        self._timed("login", self._login)
        self._timed("forecast", self._forecast)

    def on_stop(self) -> None:
        with contextlib.suppress(Exception):  # a session that never opened has nothing to close
            self.session.close()

    def _timed(self, name: str, action) -> None:
        start = time.perf_counter()
        error = None
        try:
            action()
        except Exception as exc:  # reported as this action's failure; the analyst goes on
            error = exc
        events.request.fire(
            request_type="streamlit",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _login(self) -> None:
        s = self.session
        s.open()
        s.run(
            {s.find(label="E-mail"): "master@demo.local", s.find(label="Password"): "demo-password"},
            click=s.find(label="Log in", kind="button"),
        )
        s.run()

    def _forecast(self) -> None:
        s = self.session
        cat = s.find("nf_category")
        form = {
            s.find("nf_name"): f"Locust tee {id(self) % 10_000}",
            cat: next(o for o in cat.proto.options if o.startswith("Apparel")),
            s.find("nf_price"): 30.0,
            s.find("nf_unit_cost"): 8.0,
        }
        s.run(form, click=s.find(label="Run forecast", kind="button"))
        if s.metrics.get("Units / month") is None:
            raise RuntimeError("no results after the forecast")

    @task(3)
    def slider(self) -> None:
        self.price = 31.0 if self.price != 31.0 else 32.0
        self._timed(
            "slider", lambda: self.session.run({self.session.find("rs_price"): self.price}, fragment=True)
        )
        self._count_move()

    @task(1)
    def map_view(self) -> None:
        def switch() -> None:
            view = self.session.find("rs_view")
            self.session.run({view: "Ranking"}, fragment=True)
            self.session.run({view: "Map"}, fragment=True)

        self._timed("map", switch)
        self._count_move()

    def _count_move(self) -> None:
        self.moves -= 1
        if self.moves <= 0:
            self.stop()
