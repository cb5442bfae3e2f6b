"""Streamlit helpers shared by the pages, one module per concern: resources (cached settings, database, cities),
maps, session (the signed-in user and the open forecast), agents (running them, their results, deep reports) and
warmup (the first run after a start). No domain math. Pages use them as ``_ui.name``."""

from views._ui.agents import (  # noqa: F401
    AGENT_LABELS,
    agent_results,
    agent_table,
    read_product,
    run_agents_for,
    start_agents_for,
    user_branding,
)
from views._ui.maps import (  # noqa: F401
    CompactDeck,
    SerialisedDeck,
    basemap_layer,
    city_detail,
    deck,
    legend,
    ramp,
    selected_object_id,
    view_for,
)
from views._ui.oauth import oauth_buttons, oauth_callback  # noqa: F401
from views._ui.resources import (  # noqa: F401
    ORIGIN_MIN_POPULATION,
    cities,
    countries,
    country_labels,
    db,
    get_city_arrays,
    get_countries,
    get_db,
    get_settings,
    money,
    origin_options,
    prepared,
    shared_cities,
)
from views._ui.session import (  # noqa: F401
    COOKIE_DAYS,
    FRAME_KEYS,
    WHATIF_KEYS,
    authenticator,
    build_authenticator,
    current_user,
    current_user_id,
    forecast_record,
    forget_previous_user,
    open_forecast,
)
from views._ui.warmup import (  # noqa: F401
    WARM_UP_THREAD,
    _warm_first_run,
    preload_deck,
    preload_plotly,
    require_ready,
    warm_chart_renderer,
    warm_first_run,
)
