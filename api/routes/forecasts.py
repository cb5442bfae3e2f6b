"""Forecasts: run one, list yours, read one, export its ranking as CSV or PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import Services, Svc, User
from api.schemas import ForecastIn, cities
from core.accounts import UserInfo
from core.forecast import prepare, validate_product
from core.render import reports
from core.services import exports as export_service
from core.services import records
from core.services.forecasts import product_from_params, result_limit, result_table, run_forecast

router = APIRouter(prefix="/api/v1/forecasts", tags=["forecasts"])


def stored_table(services: Services, user: UserInfo, forecast_id: str):
    """A stored ranking as the app shows it to this user: at most the plan's cities (a forecast saved on
    a bigger plan is cut to the current one, as on the Results page)."""
    record = records.load_forecast(services.db, forecast_id, user.id)
    return record, result_table(record, services.ca_for(user)).head(result_limit(user))


@router.post("", status_code=201)
def create_forecast(body: ForecastIn, user: User, services: Svc) -> dict:
    """Rank every city for the product; returns the id and the ranking within the plan's top-N."""
    product = validate_product(**body.model_dump(exclude={"countries", "top"}))
    forecast_id = run_forecast(
        services.db,
        services.ca_for(user),
        product,
        body.countries or None,
        user=user,
        store_top=body.top,
        interface="api",
    )
    _record, table = stored_table(services, user, forecast_id)
    return {
        "id": forecast_id,
        "status": "completed",
        "plan": user.tier,
        "warnings": [w for w in [product.cost_warning] if w],
        "cities": cities(table),
    }


@router.get("")
def list_forecasts(
    user: User,
    services: Svc,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict:
    """Your forecasts, newest first, paged."""
    items = records.list_forecasts(services.db, user.id)
    chunk = items[(page - 1) * per_page : page * per_page]
    return {
        "page": page,
        "per_page": per_page,
        "total": len(items),
        "items": [
            {
                "id": f.id,
                "product_name": f.product_name,
                "category": f.category,
                "price": f.price,
                "unit_cost": f.unit_cost,
                "countries": f.countries,
                "created_at": f.created_at.isoformat(),
                "status": f.status,
                "cities": f.n_results,
            }
            for f in chunk
        ],
    }


@router.get("/{forecast_id}")
def get_forecast(forecast_id: str, user: User, services: Svc) -> dict:
    record, table = stored_table(services, user, forecast_id)
    return {
        "id": record.id,
        "status": "completed",
        "product": record.product,
        "countries": list(record.params.get("countries") or []),
        "created_at": record.created_at.isoformat(),
        "cities": cities(table),
    }


@router.get(
    "/{forecast_id}/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def export_csv(forecast_id: str, user: User, services: Svc) -> Response:
    _record, table = stored_table(services, user, forecast_id)
    return Response(
        export_service.csv_for(user.plan, table),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="forecast_{forecast_id[:8]}.csv"'},
    )


@router.get(
    "/{forecast_id}/export.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def export_pdf(forecast_id: str, user: User, services: Svc) -> Response:
    from core.accounts import branding

    record, table = stored_table(services, user, forecast_id)
    product = product_from_params(record.params)
    report = reports.ranking_report(
        prepare(services.ca_for(user), product),
        table,
        records.load_agent_results(services.db, forecast_id),
        price=product.price,
        cost=product.unit_cost,
        weights=product.weights,
        depth=user.plan.report_depth,
        scope=list(record.params.get("countries") or []),
        branding=branding.for_reports(services.db, user),
    )
    return Response(
        export_service.pdf_for(user.plan, report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="forecast_{forecast_id[:8]}.pdf"'},
    )
