"""A local HTTP server speaking OpenAI's chat-completions wire format, with scripted behaviour.

Structured output: the reply's ``content`` is a JSON instance of the ``response_format`` schema the
client sent (built from the schema), so the client's parser sees exactly what a real server returns.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def instance(schema: dict, defs: dict, text: str = "Written by the fake LLM.") -> object:
    """A minimal valid JSON value for a JSON schema (objects, arrays, strings, numbers, refs)."""
    if "$ref" in schema:
        return instance(defs[schema["$ref"].split("/")[-1]], defs, text)
    if "anyOf" in schema:
        return instance(schema["anyOf"][0], defs, text)
    if "enum" in schema:  # a Literal: its first value, as a real model must pick one
        return schema["enum"][0]
    t = schema.get("type")
    if t == "object":
        return {k: instance(v, defs, text) for k, v in schema.get("properties", {}).items()}
    if t == "array":
        if "prefixItems" in schema:
            return [instance(s, defs, text) for s in schema["prefixItems"]]
        return [instance(schema.get("items", {"type": "string"}), defs, text)]
    if t == "integer":
        return 1
    if t == "number":
        return 1.0
    if t == "boolean":
        return True
    return text


class FakeOpenAI:
    """``mode``: "ok", "malformed", "timeout", "429-then-ok", "echo-auth" (a 400 whose error message
    echoes the request's Authorization header, as a careless proxy does), "echo-auth-ok" (a successful
    reply whose text echoes that header)."""

    def __init__(
        self, mode: str = "ok", delay_s: float = 5.0, text: str = "Written by the fake LLM."
    ) -> None:
        self.mode = mode
        self.delay_s = delay_s
        self.text = text
        self.calls = 0
        self.requests: list[dict] = []  # request bodies as received (headers are not kept)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: dict | str, headers: dict | None = None) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                fake.calls += 1
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                fake.requests.append(req)
                if fake.mode == "timeout":
                    time.sleep(fake.delay_s)
                if fake.mode == "echo-auth":
                    return self._send(
                        400,
                        {
                            "error": {
                                "message": f"bad request from {self.headers.get('Authorization')}",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                if fake.mode == "429-then-ok" and fake.calls == 1:
                    return self._send(
                        429,
                        {"error": {"message": "Rate limit", "type": "rate_limit"}},
                        {"retry-after-ms": "10"},
                    )
                schema = req["response_format"]["json_schema"]["schema"]
                text = (
                    f"Noted: {self.headers.get('Authorization')}"
                    if fake.mode == "echo-auth-ok"
                    else fake.text
                )
                content = (
                    "not json {"
                    if fake.mode == "malformed"
                    else json.dumps(instance(schema, schema.get("$defs", {}), text))
                )
                self._send(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": req["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content, "refusal": None},
                            }
                        ],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 23, "total_tokens": 123},
                    },
                )

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
