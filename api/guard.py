"""The API's front door (issue 24 item 3): before a request body is read, the API key is checked and the
body's size bounded; a body is then read at most ``max_bytes`` bytes, and never for an unauthenticated
caller. A pure ASGI middleware, so nothing upstream has buffered the body yet."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from core.accounts import apikeys
from core.errors import AppError

log = logging.getLogger(__name__)

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
BODY_METHODS = {"POST", "PUT", "PATCH"}
PROTECTED_PREFIX = "/api/v1/"


async def _reply(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Authenticate, then read a bounded body, for POST / PUT / PATCH under /api/v1/ (the webhook has its
    own signature check and size limit)."""

    def __init__(self, app, services, max_bytes: int) -> None:
        self.app, self.services, self.max_bytes = app, services, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in BODY_METHODS
            or not scope["path"].startswith(PROTECTED_PREFIX)
        ):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            log.info(
                "API: %s %s refused: body of %s bytes over %d",
                scope["method"],
                scope["path"],
                length,
                self.max_bytes,
            )
            return await _reply(send, 413, f"the request body is larger than {self.max_bytes:,} bytes")
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        try:
            found = await run_in_threadpool(apikeys.authenticate, self.services.db, token)
        except apikeys.AuthError as exc:
            return await _reply(send, 401, str(exc), [(b"www-authenticate", b"Bearer")])
        except AppError as exc:  # the database is down: the same answer as any route's
            return await _reply(send, 503, str(exc))
        scope.setdefault("state", {})["api_key"] = found  # the route's dependency does not look it up again
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                log.info(
                    "API: %s %s refused: streamed body over %d bytes",
                    scope["method"],
                    scope["path"],
                    self.max_bytes,
                )
                return await _reply(send, 413, f"the request body is larger than {self.max_bytes:,} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
