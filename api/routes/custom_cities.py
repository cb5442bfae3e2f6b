"""Your own city data (the $99-per-city add-on): add or change a city's figures, list them, remove one. Used in
your forecasts only (core.services.cities)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Svc, User
from api.schemas import CustomCityIn
from core.services import cities

router = APIRouter(prefix="/api/v1/custom-cities", tags=["custom cities"])


@router.get("")
def list_custom_cities(user: User, services: Svc) -> dict:
    """Your cities with your own figures (active, or awaiting payment), newest first."""
    return {"items": [c.as_dict() for c in cities.list_cities(services.db, user.id, services.ca)]}


@router.post("", status_code=201)
def save_custom_city(body: CustomCityIn, user: User, services: Svc) -> dict:
    """Add your figures for a city (each with its source note). A city not bought yet answers with a Stripe
    ``checkout_url`` to pay at (demo mode: ``status`` active at once); changing a city already bought is free."""
    new = body.new_city
    req = cities.CityRequest(
        figures=body.figures.model_dump(),
        sources=body.sources.model_dump(),
        city=body.city,
        name=new.name if new else None,
        country_iso2=new.country_iso2 if new else None,
        lat=new.lat if new else None,
        lon=new.lon if new else None,
    )
    return cities.save_city(services.db, services.settings, user, services.ca, req).as_dict()


@router.delete("/{custom_city_id}", status_code=204, response_class=Response)
def remove_custom_city(custom_city_id: str, user: User, services: Svc) -> Response:
    """Stop using your figures for that city in new forecasts."""
    cities.remove_city(services.db, user.id, custom_city_id)
    return Response(status_code=204)
