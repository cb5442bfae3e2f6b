"""The API's endpoints, one APIRouter module per resource: meta (health, metrics), forecasts, agents,
jobs (background work), reports (deep reports), custom_cities (your own city data), account (subscription) and billing (the Stripe webhook)."""
