"""The comparison point for benchmarks/http_load.py: a bare FastAPI endpoint that answers a
JSON post, served by uvicorn with the settings `cxbot serve` uses (cxbot/cli.py `_serve`).

Run: PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/bare_endpoint.py --port P [--workers N]
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from cxbot.access_log import log_config


class Post(BaseModel):
    """The web chat's body, as far as the bare endpoint cares."""

    client_id: str
    text: str | None = None
    button: str | None = None
    start: bool = False


def create_app() -> FastAPI:
    """One JSON route and a health check; no database, no engine."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(post: Post) -> dict[str, object]:
        text = post.text or post.button or "start"
        return {
            "messages": [{"id": 1, "direction": "out", "author": "bot", "text": text}],
            "duplicate": False,
            "events": [],
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bare_endpoint:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
        log_config=log_config(),
    )


if __name__ == "__main__":
    main()
