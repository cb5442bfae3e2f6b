"""Warm-up: the first forecast after a start should not pay for imports and caches (plotly, the chart renderer,\nthe city arrays), so a background thread does that work once per process; pages wait for the database to be ready."""

from __future__ import annotations

import logging

import streamlit as st

from core.places.citydata import check_ready
from views._ui.resources import get_city_arrays, get_db, get_settings


def preload_plotly() -> None:
    """Mount one blank 1-pixel plotly chart, so the browser loads plotly's code (a lazily loaded part of
    Streamlit's frontend, ~2 s) while the user reads the map: the first chart view (Why this score after
    a map click, Charts) then draws in ~0.8 s instead of ~2 s (measured in headless Chromium)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        layout={
            "height": 10,
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
        }
    )
    with st.container(height=1, border=False):
        st.plotly_chart(fig, key="_plotly_preload", config={"displayModeBar": False, "staticPlot": True})


def preload_deck() -> None:
    """Mount one tiny pydeck chart with the Results map's layer types (the basemap's shapes, a dot, a label),
    out of sight, on New Forecast: the browser then loads deck.gl's code (a lazily loaded part of Streamlit's
    frontend), the basemap file and the labels' font atlas while the analyst fills the form, instead of after
    the first Run (issue 25.15: the Results page was ready on the server 2.4 s after Run, its map drawn
    12-16 s after Run in headless Chromium)."""
    import pydeck as pdk

    from views._ui.maps import deck

    point = [{"lon": 0.0, "lat": 0.0, "label": "0"}]
    layers = [
        pdk.Layer("ScatterplotLayer", data=point, id="preload", get_position=["lon", "lat"], get_radius=1),
        pdk.Layer("TextLayer", data=point, id="preload_label", get_position=["lon", "lat"], get_text="label"),
    ]
    with st.container(height=1, border=False):
        st.pydeck_chart(
            deck(layers, pdk.ViewState(latitude=0, longitude=0, zoom=0), None), key="_deck_preload"
        )


@st.cache_resource
def warm_chart_renderer():
    """Start the PDF chart renderer in the background once per process, so the first PDF does not
    wait ~2-4 s for kaleido's Chromium to launch."""
    import threading

    from core.render import charts

    thread = threading.Thread(target=charts.warm_up, daemon=True, name="chart-renderer-warm-up")
    thread.start()
    return thread


def _warm_first_run(url: str) -> None:
    """What the first forecast would otherwise pay for on the user's clock, in the order it needs it: the
    city arrays (the login page does not wait for them; the first page after login waits for this load
    through the cache's lock instead of starting its own), the product reading's imports and the category
    classifier's index (New Forecast), the job queue's client (the Run queues the agents) and the Results
    page's chart and map libraries. The agents' graph (LangGraph, ~4 s of imports) is not warmed: the agents
    run in the job worker, and a warm-up thread holding the interpreter for seconds would slow the analyst's
    own first run in this process instead (issue 25.15; docs/performance.md, session 11)."""
    import logging
    import time

    log = logging.getLogger(__name__)
    t0 = time.perf_counter()
    try:
        get_city_arrays(url)
        t1 = time.perf_counter()
        from agents.understanding import read_product  # noqa: F401
        from core.advisors import product_analysis
        from core.services.jobs import queue_depth

        product_analysis.classify("warm-up")
        queue_depth(get_db(url), get_settings())  # imports DBOS and opens its client once
        import plotly.graph_objects  # noqa: F401
        import pydeck  # noqa: F401
    except Exception:  # the pages that need these raise the same error to the user, with its message
        log.warning("first-run warm-up stopped", exc_info=True)
        return
    log.info("first-run warm-up done in %.2f s (city arrays %.2f s)", time.perf_counter() - t0, t1 - t0)
    freeze_long_lived_objects()


def freeze_long_lived_objects() -> int:
    """Move every object alive now (the modules, the city arrays' frames, the classifier's index: what a
    warmed process keeps for its whole life) out of the garbage collector's reach (`gc.freeze`). Streamlit
    runs a full collection after every script run (`runner.postScriptGC`), and a full collection scanned
    these ~300,000 objects on every slider move: 52 % of the server's Python CPU under load
    (docs/performance.md, session 13). Objects made later (sessions, forecasts) are collected as before;
    the frozen ones are freed by reference counting when they go, only a frozen reference cycle would
    stay. Returns how many objects were frozen."""
    import gc

    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logging.getLogger(__name__).info("froze %d long-lived objects out of the collector's scans", frozen)
    return frozen


WARM_UP_THREAD = "first-run-warm-up"


class _NoContextNoteFromWarmUp(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        import threading

        return not (
            threading.current_thread().name == WARM_UP_THREAD and "ScriptRunContext" in record.getMessage()
        )


@st.cache_resource
def warm_first_run():
    """Start the first-run warm-up in the background once per process (app start)."""
    import threading

    # No session's script-run context on this thread (a session's context would let the cache's spinner
    # write into that session and stop with it); Streamlit's "missing ScriptRunContext" note is expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _NoContextNoteFromWarmUp()
    )
    thread = threading.Thread(
        target=_warm_first_run, args=(get_settings().database_url,), daemon=True, name=WARM_UP_THREAD
    )
    thread.start()
    return thread


@st.cache_resource
def _ready(url: str) -> bool:
    check_ready(get_db(url))
    return True


def require_ready() -> None:
    """DatabaseError unless the database answers and is seeded; checked once per process when it is."""
    _ready(get_settings().database_url)
