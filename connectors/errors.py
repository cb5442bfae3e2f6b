"""The errors connectors raise: the contract between connectors and their callers in core.

Connectors depend on nothing of core (DESIGN §2); core translates these into its own AppError family
where it calls a connector (core.errors.ExternalError), so a page shows the message as any other.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """The marketplace refused, is unreachable, or answered something we cannot read."""


class AuthExpiredError(ConnectorError):
    """The access token is no longer valid (401); a connector with a refresh token renews it."""
