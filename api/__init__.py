"""The HTTP API (FastAPI): forecasts, agents, deep reports, subscriptions and the Stripe webhook.

It calls the same core services as the pages (core.service, core.reports, core.deep_reports), so an
API client and the app see the same numbers and the same plan rules.
"""
