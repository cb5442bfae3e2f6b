"""`python -m api [--host H] [--port P]`: serve the HTTP API alone (uvicorn; API_PORT, default 8000)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description="Serve the AI-Commerce HTTP API")
    parser.add_argument("--host", default=os.environ.get("API_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    parser.add_argument(
        "--workers", type=int, default=1, help="processes (they share rate limits through the database)"
    )
    args = parser.parse_args(argv)
    import uvicorn

    from core.logs import configure_logging

    configure_logging()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
