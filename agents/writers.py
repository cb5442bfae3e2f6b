"""The LLM port: an OpenAI(-compatible) writer and a deterministic template writer.

``write`` never raises: an LLM failure (timeout, rate limit after retries, malformed output) falls
back to the template writer for that agent and says so in ``notices``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

from agents import templates
from agents.prompts import PROMPTS
from core import telemetry
from core.logs import redact_all

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)


def failure_reason(exc: BaseException) -> str:
    """A classified reason for an LLM failure, never the upstream text (which may echo credentials)."""
    import openai

    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "authentication refused"
    if isinstance(exc, openai.RateLimitError):
        return "rate limit"
    if isinstance(exc, openai.APIConnectionError):
        return "server unreachable"
    if isinstance(exc, openai.APIStatusError):
        return f"server error (HTTP {exc.status_code})"
    if (
        isinstance(exc, ValueError | TypeError | KeyError | json.JSONDecodeError)
        or type(exc).__name__ == "ValidationError"
    ):
        return "bad output"
    return "unexpected error"


@dataclass
class WriteResult:
    output: BaseModel
    writer: str
    tokens: int = 0
    notices: list[str] = field(default_factory=list)


class Writer(Protocol):
    name: str

    def write(self, agent: str, facts: dict, schema: type[T], depth: str) -> WriteResult: ...


_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
SMALL_COUNTS = 10  # whole numbers up to 10 are counts and ordinals ("3 hooks", "day 2"), allowed in text


def _fact_numbers(value: object, out: set[float]) -> set[float]:
    if isinstance(value, bool):
        return out
    if isinstance(value, int | float):
        v = float(value)
        out.update({v, abs(v), 100 * v, abs(100 * v)})
    elif isinstance(value, dict):
        for x in value.values():
            _fact_numbers(x, out)
    elif isinstance(value, list | tuple):
        for x in value:
            _fact_numbers(x, out)
    elif isinstance(value, str):
        out.update(float(m.replace(",", "")) for m in _NUMBER.findall(value))
    return out


def unsupported_numbers(narrative: BaseModel, facts: dict) -> list[str]:
    """Numbers in a narrative that are not in the facts (as given, as a percentage, or rounded to the
    shown precision), except small counts: the rule an LLM narrative must pass to be shown."""
    allowed = _fact_numbers(facts, set())
    text = json.dumps(narrative.model_dump(mode="json"))
    bad = []
    for token in _NUMBER.findall(text):
        n = float(token.replace(",", ""))
        decimals = len(token.split(".")[1]) if "." in token else 0
        if abs(n) <= SMALL_COUNTS and n == int(n):
            continue
        if not any(abs(round(a, decimals) - n) <= 10**-decimals / 2 + 1e-9 for a in allowed):
            bad.append(token)
    return bad


# Claims about shipping that only hold when the seller pays the parcel (methodology section 4).
_FREE_SHIPPING = re.compile(
    r"\bfree (?:shipping|delivery)\b|\bships? (?:for )?free\b|\bshipped (?:for )?free\b", re.I
)


def unsupported_claims(narrative: BaseModel, facts: dict) -> list[str]:
    """Claims in a narrative that the facts contradict: "free shipping" unless the seller pays the parcel
    (``facts["shipping_paid_by"] == "seller"``). The rule beside ``unsupported_numbers``."""
    text = json.dumps(narrative.model_dump(mode="json"))
    if facts.get("shipping_paid_by") != "seller" and (m := _FREE_SHIPPING.search(text)):
        return [m.group(0)]
    return []


class TemplateWriter:
    """Deterministic, offline text from the facts (agents/templates.py)."""

    name = "template"

    def write(self, agent: str, facts: dict, schema: type[T], depth: str) -> WriteResult:
        return WriteResult(templates.render(agent, facts, depth), "template")


def scrubbed(model: T, secrets: tuple[str, ...] = ()) -> T:
    """The narrative with credentials removed from every text: the configured keys verbatim, and anything
    that looks like a key, token or password (core.logs.redact_all). A server that echoes the Authorization
    header must not put the key into results, logs or PDFs."""
    return type(model).model_validate(redact_all(model.model_dump(), secrets))


class LLMWriter:
    """OpenAI or any OpenAI-compatible server, with structured output; falls back to templates."""

    name = "llm"

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_s: float = 20.0,
        max_retries: int = 2,
    ) -> None:
        from openai import OpenAI

        self.model = model
        self._secrets = tuple(s for s in (api_key,) if s and len(s) >= 4)  # never repeated in text we return
        self.client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)
        self.fallback = TemplateWriter()

    def write(self, agent: str, facts: dict, schema: type[T], depth: str) -> WriteResult:
        try:
            completion = self.client.chat.completions.parse(
                model=self.model,
                messages=[
                    {"role": "system", "content": PROMPTS[agent]},
                    {"role": "user", "content": json.dumps({"depth": depth, "facts": facts}, default=str)},
                ],
                response_format=schema,
            )
            parsed = completion.choices[0].message.parsed
            if parsed is None:
                raise ValueError("the model returned no structured output")
            clean = scrubbed(
                parsed, self._secrets
            )  # first: an echoed key is neither shown nor checked as figures
            if clean != parsed:
                log.warning("LLM narrative for agent %s repeated a credential; redacted before use", agent)
            parsed = clean
            tokens = completion.usage.total_tokens if completion.usage else 0
            bad = unsupported_numbers(parsed, facts)
            if bad:  # a figure the facts do not support: never shown
                log.warning(
                    "LLM narrative for agent %s had figures not in the facts (%s); template used",
                    agent,
                    ", ".join(bad[:5]),
                )
                result = self.fallback.write(agent, facts, schema, depth)
                telemetry.AGENT_FALLBACKS.labels(agent=agent).inc()
                result.tokens = tokens
                result.notices.append(
                    f"The LLM text named figures that are not in the analysis ({', '.join(bad[:3])}); "
                    "template text used for this agent"
                )
                return result
            if claims := unsupported_claims(parsed, facts):  # a claim the facts contradict: never shown
                log.warning(
                    "LLM narrative for agent %s claimed %r against the facts; template used", agent, claims[0]
                )
                result = self.fallback.write(agent, facts, schema, depth)
                telemetry.AGENT_FALLBACKS.labels(agent=agent).inc()
                result.tokens = tokens
                result.notices.append(
                    f'The LLM text claimed "{claims[0]}", which the analysis does not support; '
                    "template text used for this agent"
                )
                return result
            return WriteResult(parsed, "llm", tokens)
        except Exception as exc:
            result = self.fallback.write(agent, facts, schema, depth)
            telemetry.AGENT_FALLBACKS.labels(agent=agent).inc()
            reason = failure_reason(exc)
            log.warning(
                "LLM writer failed for agent %s (%s, %s); template fallback",
                agent,
                reason,
                type(exc).__name__,
            )
            result.notices.append(f"LLM writer failed ({reason}); template text used for this agent")
            return result


def make_writer(settings) -> Writer:
    if settings.openai_api_key is None:
        return TemplateWriter()
    return LLMWriter(
        settings.openai_api_key.get_secret_value(),
        settings.openai_model,
        settings.openai_base_url,
        settings.openai_timeout_s,
    )
