"""The use cases that the interfaces (Streamlit views, the HTTP API, the CLI) call: run and load forecasts
(forecasts, records), exports with plan limits (exports), plans on sale (plans), seeding (seed). The
interfaces reach the database only through here. May import every other room of core.
"""
