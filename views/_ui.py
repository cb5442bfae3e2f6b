"""Streamlit helpers shared by the pages: cached resources, maps, formatting. No domain math."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from core import formatting, paths
from core.forecast import CityArrays, city_arrays
from core.places.citydata import check_ready, load_city_frame
from core.places.names import country_display_name
from core.render import reports
from core.services import records
from core.settings import Settings, load_settings

log = logging.getLogger(__name__)


@st.cache_resource
def get_settings() -> Settings:
    return load_settings()


@st.cache_resource
def get_db(url: str) -> records.Database:
    return records.connect(url)


def db() -> records.Database:
    return get_db(get_settings().database_url)


@st.cache_resource(show_spinner="Loading 34,000 cities ...")
def get_city_arrays(url: str) -> CityArrays:
    return city_arrays(load_city_frame(get_db(url)))


def cities() -> CityArrays:
    return get_city_arrays(get_settings().database_url)


@st.cache_resource
def get_countries(url: str) -> pd.DataFrame:
    return records.load_countries(get_db(url)).set_index("iso3")


def countries() -> pd.DataFrame:
    return get_countries(get_settings().database_url)


def basemap_layer() -> pdk.Layer:
    """Country shapes from the bundled Natural Earth file, which the browser loads from this
    app's own static route (not re-sent with every rerun): the offline basemap."""
    return pdk.Layer(
        "GeoJsonLayer",
        data=paths.BASEMAP_URL,
        id="basemap",
        stroked=True,
        filled=True,
        get_fill_color=[228, 233, 240],
        get_line_color=[160, 170, 185],
        line_width_min_pixels=0.5,
        pickable=False,
    )


def ramp(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> list[list[int]]:
    """Map values onto a light-yellow to dark-blue colour ramp (RGBA lists)."""
    v = np.asarray(values, float)
    lo = float(np.nanmin(v)) if lo is None else lo
    hi = float(np.nanmax(v)) if hi is None else hi
    t = np.clip((v - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(v)
    start, end = np.array([255, 214, 102]), np.array([15, 76, 129])
    rgb = (start + (end - start) * t[:, None]).round().astype(int)
    return [[*row, 210] for row in rgb.tolist()]


def legend(label: str, lo: str, hi: str) -> None:
    st.markdown(
        f"<div style='display:flex;align-items:center;gap:8px;font-size:0.85em'>"
        f"<span>{label}: {lo}</span>"
        f"<span style='width:140px;height:10px;background:linear-gradient(90deg,#FFD666,#0F4C81)'></span>"
        f"<span>{hi}</span></div>",
        unsafe_allow_html=True,
    )


class CompactDeck(pdk.Deck):
    """pydeck's Deck serialised compactly: pydeck writes its JSON indented (Python's pure-Python encoder) and
    sorted; the same content without indentation goes through the C encoder, 3-4x faster and half the bytes
    for a map of 1,000 cities (measured: 46 -> 13 ms, 621 -> 298 kB), on every rerun that redraws a map."""

    def to_json(self) -> str:
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, default=default_serialize, separators=(",", ":"))


def deck(layers: list[pdk.Layer], view: pdk.ViewState, tooltip: dict | None) -> pdk.Deck:
    """A deck with the offline basemap (or Carto's, when ONLINE_BASEMAP is set)."""
    if get_settings().online_basemap:
        return CompactDeck(layers=layers, initial_view_state=view, tooltip=tooltip, map_style="light")
    return CompactDeck(
        layers=[basemap_layer(), *layers], initial_view_state=view, tooltip=tooltip, map_provider=None
    )


def view_for(lat: np.ndarray, lon: np.ndarray) -> pdk.ViewState:
    """A view that frames the given points."""
    if len(lat) == 0:
        return pdk.ViewState(latitude=20, longitude=10, zoom=0.6)
    lat_span = float(np.ptp(lat)) if len(lat) > 1 else 5.0
    lon_span = float(np.ptp(lon)) if len(lon) > 1 else 5.0
    span = max(lat_span * 1.3, lon_span / 2 * 1.3, 2.0)  # a margin so edge cities are not cut
    zoom = float(np.clip(np.log2(180 / span), 0.3, 9))
    # The middle of the bounding box, not the mean: every shown city is inside the first view.
    mid_lat = (float(np.min(lat)) + float(np.max(lat))) / 2
    mid_lon = (float(np.min(lon)) + float(np.max(lon))) / 2
    return pdk.ViewState(latitude=mid_lat, longitude=mid_lon, zoom=zoom)


def money(x: float) -> str:
    return formatting.money(x)


def selected_object_id(event: object, layer_id: str, key: str = "city_id") -> int | None:
    """The id of the object clicked on a pydeck chart, if any."""
    try:
        objects = event.selection["objects"].get(layer_id, [])  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError):
        return None
    return int(objects[0][key]) if objects else None


def city_detail(city_id: int) -> None:
    """The full profile of one city: every feature with unit, year, flag and source."""
    from core.forecast.features import city_profile
    from core.places.climate import climate_line

    frame = cities().frame
    match = frame[frame["city_id"] == city_id]
    if match.empty:
        st.warning(f"City {city_id} is not in the database.")
        return
    city = match.iloc[0]
    ctry = countries()
    country = ctry.loc[city["country_iso3"]] if city["country_iso3"] in ctry.index else None
    st.subheader(f"{city['name']}, {city['admin1'] or '-'}, {city['country_name']}")
    st.caption(
        f"GeoNames id {city_id} · {city['lat']:.3f}, {city['lon']:.3f} · "
        f"regional income match: {city['region_match_method']} ({city['region_income_source'] or 'none'})"
    )
    folded = cities().sections
    parts = folded.loc[folded["parent_city_id"] == city_id, "name"].tolist()
    if parts:
        st.caption(
            f"Includes {len(parts)} district(s) GeoNames lists separately, counted here once: "
            + ", ".join(parts[:8])
            + (" ..." if len(parts) > 8 else "")
        )
    if str(city.get("koppen_zone") or ""):
        st.caption(climate_line(city))
    profile = city_profile(city, country)
    profile["year"] = profile["year"].astype("Float64")  # a missing year shows blank, not "None"
    # precision people read: whole numbers from 1,000 up (111,816 people, not 111,815.514), else 2 decimals
    profile["value"] = [round(v, 0 if abs(v) >= 1000 else 2) for v in profile["value"]]
    st.dataframe(
        profile,
        hide_index=True,
        column_config={
            "feature": "Feature",
            "unit": "Unit",
            "flag": "Flag",
            "source": "Source",
            "value": st.column_config.NumberColumn("Value", format="localized"),
            "year": st.column_config.NumberColumn("Year", format="%d"),
        },
    )


ORIGIN_MIN_POPULATION = 100_000  # ships-from choices: every country and cities of 100k+ people


@st.cache_resource
def _origin_options(url: str) -> dict[str, str]:
    frame = get_city_arrays(url).frame
    options = {f"{label} - country": iso for iso, label in _country_labels(url).items()}
    big = frame[frame["population"] >= ORIGIN_MIN_POPULATION].sort_values("population", ascending=False)
    key = big["ascii_name"] + "|" + big["admin1"] + "|" + big["country_iso2"]
    big = big[~key.duplicated(keep=False)]
    for r in big.itertuples():
        label = f"{r.name}, {r.admin1} ({r.country_iso2})" if r.admin1 else f"{r.name} ({r.country_iso2})"
        options[label] = (
            f"{r.name}, {r.admin1}, {r.country_iso2}" if r.admin1 else f"{r.name}, {r.country_iso2}"
        )
    return options


def origin_options() -> dict[str, str]:
    """Ships-from choices: label shown -> the text the engine resolves."""
    return _origin_options(get_settings().database_url)


@st.cache_resource
def _country_labels(url: str) -> dict[str, str]:
    frame = get_city_arrays(url).frame
    raw = frame.drop_duplicates("country_iso2").set_index("country_iso2")["country_name"]
    names = {iso: country_display_name(iso, raw[iso]) for iso in raw.index}
    return {iso: f"{names[iso]} ({iso})" for iso in sorted(names, key=names.get)}


def country_labels() -> dict[str, str]:
    """ISO2 -> "Country name (ISO2)", sorted by name (computed once per process)."""
    return _country_labels(get_settings().database_url)


def current_user_id() -> str | None:
    """The logged-in user's id (set by app.py's login gate)."""
    return st.session_state.get("user_id")


def current_user():
    """The logged-in user, read from the database on every run (tier and role are never taken
    from session state, so tampering with it changes nothing)."""
    from core import accounts

    uid = current_user_id()
    return accounts.get_user(db(), user_id=uid) if uid else None


def authenticator():
    """The run's streamlit-authenticator (built once per run by app.py: it renders a cookie widget)."""
    return st.session_state["_auth"]


def _password_validator():
    """The library's validator with our password rule (core.accounts.password_problem) instead of its
    8-20 characters with forced symbols, which refused passphrases and the demo password."""
    from streamlit_authenticator.utilities.validator import Validator

    from core import accounts

    class PasswordRule(Validator):
        def validate_password(self, password: str) -> bool:
            return accounts.password_problem(password) is None

        def diagnose_password(self, password: str) -> str:
            return accounts.password_problem(password) or ""

    return PasswordRule()


COOKIE_DAYS = 30.0  # the login cookie's lifetime; a session that began before end_sessions ends anyway


def build_authenticator():
    """streamlit-authenticator over the users in the database (built per run: users change)."""
    import streamlit_authenticator as stauth

    from core import accounts

    settings = get_settings()
    key = accounts.cookie_key(
        db(), settings.cookie_key.get_secret_value() if settings.cookie_key else None, settings.is_demo
    )
    creds = accounts.credentials(db())
    st.session_state["_credentials"] = creds
    auth = stauth.Authenticate(
        creds,
        "aicommerce_auth",
        key,
        COOKIE_DAYS,
        auto_hash=False,
        login_sleep_time=settings.login_sleep_s,
        validator=_password_validator(),
    )
    st.session_state["_auth"] = auth
    return auth


WHATIF_KEYS = (
    "rs_price",
    "rs_cost",
    "rs_w_demand",
    "rs_w_profit",
    "rs_w_comp",
    "rs_city",
    "rs_countries",
    "rs_view",
    "_rs_last_click",
    "rs_budget",
    "rs_regions",
    "rs_minpop",
)


def open_forecast(forecast_id: str) -> None:
    """Make this forecast the current one on Results, with fresh what-if controls (and in the URL, so a
    refresh or a shared link reopens it)."""
    st.session_state["forecast_id"] = forecast_id
    st.query_params["forecast"] = forecast_id
    for key in WHATIF_KEYS:
        st.session_state.pop(key, None)


def forecast_record(forecast_id: str):
    """The stored forecast (read once per session and forecast)."""
    cache = st.session_state.setdefault("_records", {})
    if forecast_id not in cache:
        cache.clear()
        cache[forecast_id] = records.load_forecast(db(), forecast_id, current_user_id())
    return cache[forecast_id]


@st.cache_resource(max_entries=64, show_spinner=False)
def _prepared_shared(url: str, product_json: str):
    from core.forecast import ProductInput, prepare

    return prepare(get_city_arrays(url), ProductInput.model_validate_json(product_json))


def prepared(_forecast_id: str, product):
    """The engine's price-independent stage for the open forecast (kept for the what-if sliders).

    Shared process-wide by product (a frozen, read-only object): analysts with the same forecast open
    hold one copy, not one per session (docs/performance.md, memory per session)."""
    return _prepared_shared(get_settings().database_url, product.model_dump_json())


AGENT_LABELS = reports.AGENT_LABELS


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


@st.cache_resource
def sync_jobs():
    """Marketplace syncs running in this process (core.accounts.syncs.SyncJobs), shared by all sessions."""
    from core.accounts.syncs import SyncJobs

    return SyncJobs()


def user_branding():
    """The signed-in user's white-label settings for exports (None: ours)."""
    from core.accounts import branding

    return branding.for_reports(db(), current_user())


def build_deep_report(report_id: str):
    """Run the agents at full depth and store the deep report's PDF (agents.deep_report.build)."""
    from agents.deep_report import build
    from agents.writers import make_writer

    return build(db(), cities(), make_writer(get_settings()), report_id, current_user_id())


def run_agents_for(forecast_id: str, product, countries, ad_budget, user, write) -> dict:
    """Run the agents in this script thread, one progress line per agent as it finishes."""
    from agents.context import AgentContext
    from agents.runner import run_agents
    from agents.writers import make_writer

    depth = user.plan.report_depth if user else "full"
    request = {
        "product": product.model_dump(mode="json"),
        "countries": countries or None,
        "budget": ad_budget,
        "depth": depth,
        "cities": user.plan.max_cities if user else None,
    }

    def report(agent: str, out: dict) -> None:
        extra = "; ".join(out.get("notices", []))
        write(
            f"{AGENT_LABELS[agent]}: {out.get('duration_ms', 0):.0f} ms ({out.get('writer')})"
            + (f" - {extra}" if extra else "")
        )

    return run_agents(
        AgentContext(cities(), make_writer(get_settings())),
        request,
        db=db(),
        forecast_id=forecast_id,
        on_update=report,
    )


def agent_results(forecast_id: str) -> dict[str, dict]:
    cache = st.session_state.setdefault("_agent_results", {})
    if forecast_id not in cache:
        cache.clear()
        cache[forecast_id] = records.load_agent_results(db(), forecast_id)
    return cache[forecast_id]


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
    """What the first pages would otherwise pay for on the user's clock: the city arrays (the login page
    does not wait for them; the first page after login waits for this load through the cache's lock
    instead of starting its own), the agent stack's imports (LangGraph, scikit-learn), the category
    classifier's index and a compiled graph (~1.7 s measured)."""
    import logging
    import time

    log = logging.getLogger(__name__)
    t0 = time.perf_counter()
    try:
        get_city_arrays(url)
        t1 = time.perf_counter()
        from agents.graph import build_graph
        from agents.runner import run_agents  # noqa: F401
        from core.advisors import product_analysis

        product_analysis.classify("warm-up")
        build_graph()
    except Exception:  # the pages that need these raise the same error to the user, with its message
        log.warning("first-run warm-up stopped", exc_info=True)
        return
    log.info("first-run warm-up done in %.2f s (city arrays %.2f s)", time.perf_counter() - t0, t1 - t0)


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


def agent_table(rows: list[dict], columns: dict[str, tuple[str, str]], key: str | None = None) -> None:
    """An agent's table with readable headers and units: ``columns`` maps a field to (label, kind), kind
    one of text, int, num, num2 (two decimals), money, pct (a share shown x100 with %), days, bool. Fields not listed are
    left out; empty numbers show as blank, never "None"."""
    frame = pd.DataFrame(rows)
    keep = [c for c in columns if c in frame.columns]
    frame = frame[keep].copy()
    config: dict = {}
    formats = {
        "int": "%d",
        "num": "%.1f",
        "num2": "%.2f",
        "money": "dollar",
        "pct": "%.1f %%",
        "days": "%.1f",
    }  # dollar: -$38.27
    for col in keep:
        label, kind = columns[col]
        if kind == "pct":
            frame[col] = 100 * pd.to_numeric(frame[col], errors="coerce")
        if kind == "bool":
            config[col] = st.column_config.CheckboxColumn(label)
        elif kind in formats:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
            config[col] = st.column_config.NumberColumn(label, format=formats[kind])
        else:
            frame[col] = frame[col].fillna("").astype(str)
            config[col] = st.column_config.TextColumn(label)
    st.dataframe(frame, hide_index=True, column_config=config, key=key)


# Session keys that belong to the app's frame and the login library, not to the signed-in user's work.
FRAME_KEYS = frozenset(
    {
        "_auth",
        "_credentials",
        "authentication_status",
        "username",
        "name",
        "email",
        "roles",
        "logout",
        "init",
        "failed_login_attempts",
        "_owner",
        "_auth_at",
        "_session_ended",
        "_login_waits",
        "_requested_page",
        "_requested_page_attempts",
    }
)


def forget_previous_user(_event: object = None) -> None:
    """Drop everything a signed-in user left in this browser tab (open forecast, cached records, agent
    results, form values, uploads): called on logout and whenever a different user signs in here."""
    for key in [k for k in st.session_state if k not in FRAME_KEYS]:
        del st.session_state[key]
    log.info("session: the previous user's state was cleared")


def read_product(name: str, description: str, category: str | None):
    """What the product is (agents.understanding.read_product with this server's writer)."""
    from agents.understanding import read_product as read
    from agents.writers import make_writer

    return read(make_writer(get_settings()), name, description, category)
