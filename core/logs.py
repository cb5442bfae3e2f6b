"""Standard logging, configured once per process (app, CLI, webhook), with secrets redacted.

Modules log with ``logging.getLogger(__name__)``; nothing else configures handlers. Every fallback,
refusal and external call is logged with ids, never with secrets: a filter masks API keys, bearer
tokens, webhook secrets and passwords in URLs whatever a message or exception text contains.
"""

from __future__ import annotations

import logging
import re
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1[redacted]"),
    (re.compile(r"\b(sk|rk|pk|whsec|sk-proj)[-_][A-Za-z0-9_-]{8,}"), "[redacted-key]"),
    (
        re.compile(r"(?i)((?:api[_-]?key|secret|password|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]{4,}"),
        r"\1[redacted]",
    ),
    (re.compile(r"(://[^:/@\s]+:)[^@/\s]+@"), r"\1[redacted]@"),
]


def redact(text: str) -> str:
    """The text with anything that looks like a credential masked."""
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_all(value: object, secrets: tuple[str, ...] = ()) -> object:
    """``redact`` applied to every string inside lists and dicts (a Sentry event, an LLM narrative), and
    the given ``secrets`` replaced verbatim first."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[redacted]")
        return redact(value)
    if isinstance(value, list):
        return [redact_all(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: redact_all(v, secrets) for k, v in value.items()}
    return value


class RedactingFilter(logging.Filter):
    """Masks credentials in the final message and in the formatted exception of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap and close it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


_configured = False


def configure_logging(level: str = "INFO") -> None:
    """Install one stderr handler on the root logger (idempotent: later calls only change the level)."""
    global _configured
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    if _configured:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    for noisy in (
        "httpx",
        "httpcore",
        "openai",
        "stripe",
        "urllib3",
        "matplotlib",
        "fontTools",
        "choreographer",
        "kaleido",
        "alembic.runtime.migration",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    _configured = True
