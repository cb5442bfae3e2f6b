"""How the API answers an error: one JSON ``{"detail": ...}`` message that says what to fix, with the status
each kind of failure maps to (ERRORS in api.schemas lists them for the OpenAPI document)."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.deps import RateLimitedError
from core import billing, jobs, telemetry
from core.accounts.apikeys import AuthError
from core.errors import AccessError, AppError, DatabaseError, InputError, LimitError

log = logging.getLogger(__name__)

STATUS_OF = {
    AuthError: 401,
    InputError: 422,
    LimitError: 403,
    AccessError: 404,
    DatabaseError: 503,
    billing.BillingError: 502,
    jobs.JobError: 503,
}


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def app_error(_request: Request, exc: AppError) -> JSONResponse:
    status = STATUS_OF.get(type(exc), 400)
    if status == 401:
        return error(401, str(exc), {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, DatabaseError):
        log.error(
            "API: %s", exc.detail or exc
        )  # where and what, for the operator; the client gets the message
    return error(status, str(exc))


async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = str(first.get("msg", "invalid request"))
    return error(422, f"{where}: {message}" if where else message)


async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
    ref = uuid.uuid4().hex[:8]
    log.exception("api error ref %s", ref)
    telemetry.capture(exc)
    return error(500, f"something went wrong (ref {ref}); the log has the detail")


async def limited(_request: Request, exc: RateLimitedError) -> JSONResponse:
    telemetry.RATE_LIMITED.inc()
    d = exc.decision
    return error(
        429,
        f"over {d.limit} requests a minute on this plan; retry in {d.retry_after} s",
        {"Retry-After": str(d.retry_after), "X-RateLimit-Limit": str(d.limit), "X-RateLimit-Remaining": "0"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(RateLimitedError, limited)
