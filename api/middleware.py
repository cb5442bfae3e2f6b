"""Request metrics middleware (issue 27): every HTTP request counted and timed for Prometheus."""

from __future__ import annotations

import time

from core import telemetry


class RequestMetrics:
    """Pure ASGI middleware: every HTTP request counted by method, route template (never the raw path, which
    holds ids) and status, and timed (core.telemetry)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            telemetry.API_REQUESTS.labels(method=method, route=template, status=str(status["code"])).inc()
            telemetry.API_LATENCY.labels(method=method, route=template).observe(time.perf_counter() - start)
