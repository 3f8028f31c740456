"""The interactive API docs (/docs, /redoc), only when CXBOT_API_DOCS is on.

FastAPI's pages load Swagger UI and ReDoc from cdn.jsdelivr.net, which the app-wide
policy (cxbot/headers.py) forbids; these two pages send their own policy allowing that
CDN and their one inline script by its hash. /openapi.json is always served.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _policy(page: bytes) -> str:
    """A policy for `page`: the CDN, and its inline scripts by SHA-256."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src {CDN} {hashes}; "
        f"style-src 'self' {CDN} https://fonts.googleapis.com 'unsafe-inline'; "
        "font-src https://fonts.gstatic.com; img-src 'self' data: https:; connect-src 'self'; "
        "worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _page(html: HTMLResponse) -> HTMLResponse:
    html.headers["Content-Security-Policy"] = _policy(bytes(html.body))
    return html


def mount(app: FastAPI) -> None:
    """Serve /docs and /redoc (FastAPI itself was built without them)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} API"))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(get_redoc_html(openapi_url=openapi_url, title=f"{app.title} API"))
