"""The few error types the app raises. Each carries a message a user can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from connectors.errors import ConnectorError


class AppError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class InputError(AppError):
    """The user's input is invalid (bad category, price, file ...)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DatabaseError(AppError):
    """The database is unreachable, locked, corrupt or at an unknown schema version. The message is safe to
    show anyone; ``detail`` (when set) says where, for the log only."""

    detail: str = ""


class LimitError(AppError):
    """The user's tier does not allow this (quota, depth, number of cities)."""


class AccessError(AppError):
    """The current user may not do this (admin-only work, someone else's forecast)."""


class ExternalError(AppError):
    """A marketplace or search-trends service refused, failed or answered something unreadable (the
    connector's message, translated where core calls a connector: core.errors.external)."""


@contextmanager
def external() -> Iterator[None]:
    """Translate a connector's error into ExternalError (same message) where core calls a connector."""
    try:
        yield
    except ConnectorError as exc:
        raise ExternalError(str(exc)) from exc
