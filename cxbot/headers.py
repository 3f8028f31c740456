"""Security headers on every response: a strict Content-Security-Policy and friends.

The pages load only their own files from `/static/` (no inline script or style), so the
policy allows nothing else. The web chat (`/chat/...`) may be shown in another site's
iframe, as docs/webchat.md describes — `frame_ancestors` (CXBOT_FRAME_ANCESTORS) says whose;
every other page refuses to be framed. A route may send its own policy (the API docs do).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'"
)
"""Everything but `frame-ancestors`, which depends on the page."""
EMBEDDABLE = "/chat/"
"""Pages under this path may be framed by `frame_ancestors`."""
FLOW_EDITOR = "/admin/flows/"
"""The flow editor frames the diagram renderer (same origin)."""
DIAGRAM_FRAME = "/admin/flow-diagram"
"""Where Mermaid draws flow diagrams: the one page that may apply inline styles (Mermaid
styles the SVG it builds with them), framed only by our own pages. It holds nothing but the
diagram — no form, no CSRF token, no customer data — and hands the finished SVG to the
editor, which shows it as an image (admin/static/flow_diagram.js)."""


def content_security_policy(path: str, frame_ancestors: str) -> str:
    """The policy for a response to `path`."""
    if path == DIAGRAM_FRAME:
        relaxed = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        return f"{relaxed}; frame-ancestors 'self'"
    ancestors = frame_ancestors if path.startswith(EMBEDDABLE) else "'none'"
    frames = "; frame-src 'self'" if path.startswith(FLOW_EDITOR) else ""
    return f"{POLICY}{frames}; frame-ancestors {ancestors}"


class SecurityHeaders:
    """Add CSP, `nosniff`, `Referrer-Policy` and frame rules to every HTTP response."""

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault(
                    "Content-Security-Policy",
                    content_security_policy(path, self.frame_ancestors),
                )
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if path == DIAGRAM_FRAME:
                    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
                elif not path.startswith(EMBEDDABLE):
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
