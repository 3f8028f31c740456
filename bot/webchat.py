"""The built-in web chat: a page anyone can open to take an interview, and its JSON API.

The visitor is identified by an HttpOnly cookie; posts must be JSON (a cross-site form
cannot send that), which together with SameSite=Lax keeps other sites from posting.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from bot.channel import Incoming, Line, Recipient, Service, Transcripts
from flows import language as languages
from flows import texts
from flows.registry import FlowRegistry
from flows.state import Outbound

CHANNEL = "web"
COOKIE = "cxbot_visitor"
VISITOR_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
"""What `secrets.token_urlsafe(24)` makes; any other cookie value is treated as no cookie."""
MAX_ID = 2**63 - 1
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

LABELS = {
    "zh": {
        "placeholder": "输入回复…",
        "send": "发送",
        "powered": "由 cxbot 提供",
        "error": "网络出错了，请重试。",
        "ended": "访谈已结束。",
        "restart": "重新开始",
        "handed_off": "客服同事正在跟进您的对话，会在这里回复您。",
    },
    "en": {
        "placeholder": "Type your answer…",
        "send": "Send",
        "powered": "Powered by cxbot",
        "error": "Something went wrong. Please try again.",
        "ended": "The interview has ended.",
        "restart": "Start again",
        "handed_off": "A colleague is looking after your conversation and will reply here.",
    },
}


class ChatPost(BaseModel):
    """One thing the visitor did in the page."""

    client_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    """A random id per message, so a resend after a network error is answered once."""
    text: str | None = Field(default=None, max_length=2000)
    button: str | None = Field(default=None, max_length=64)
    start: bool = False
    restart: bool = False
    """With `start`: start even when an agent has the conversation (the "start again" link)."""
    lang: str | None = Field(default=None, max_length=16)


class ChatService(Service, Transcripts, Protocol):
    """The conversation service as the web chat uses it."""


def _message_json(line: Line) -> dict[str, Any]:
    outbound = line.message
    return {
        "id": line.id,
        "direction": line.direction,
        "author": line.author,
        "text": outbound.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in outbound.buttons],
        "step_id": outbound.step_id,
    }


class WebSender:
    """The web chat's half of the delivery path: the page reads the transcript (it polls,
    and reloads it), so a message stored for a visitor is delivered by being stored."""

    channel = CHANNEL
    route = "page"
    batch = False
    window: timedelta | None = None
    quota: int | None = None

    def unreachable(self, address: str) -> str | None:
        """Why `address` is not a visitor id the page issues, or None."""
        return None if _valid_visitor(address) else "not a web chat visitor id"

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        """Nothing to call: the visitor's page shows the stored message."""
        return None


def _valid_visitor(ref: str | None) -> str | None:
    """The visitor token from the cookie, if it has the shape the page issues."""
    return ref if ref and VISITOR_TOKEN.fullmatch(ref) else None


def accepted_languages(header: str) -> list[str]:
    """The tags of an `Accept-Language` header, most wanted first (`q=0` left out)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and 0 < quality <= 1:
            ranked.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def router(service: ChatService, registry: FlowRegistry) -> APIRouter:
    """The web chat's routes."""
    api = APIRouter()

    def visitor(request: Request) -> str:
        ref = _valid_visitor(request.cookies.get(COOKIE))
        if ref is None:
            raise HTTPException(status_code=401, detail="open the chat page first")
        return ref

    def known_flow(flow_id: str) -> None:
        if registry.current(flow_id) is None:
            raise HTTPException(status_code=404, detail=f"no flow '{flow_id}'")

    @api.get("/chat/{flow_id}", response_class=HTMLResponse)
    async def chat_page(request: Request, flow_id: str, lang: str | None = None) -> Response:
        """The chat page for one flow."""
        loaded = registry.current(flow_id)
        if loaded is None:
            raise HTTPException(status_code=404, detail=f"no flow '{flow_id}'")
        flow = loaded.flow
        accept = accepted_languages(request.headers.get("accept-language", ""))
        language = languages.choose(flow.languages, flow.default_language, lang, *accept)
        response = TEMPLATES.TemplateResponse(
            request,
            "chat.html",
            {
                "flow_id": flow.id,
                "title": texts.pick(flow.name, language, flow.default_language),
                "lang": language,
                "labels": LABELS.get(language, LABELS["en"]),
            },
        )
        if _valid_visitor(request.cookies.get(COOKIE)) is None:
            response.set_cookie(
                COOKIE,
                secrets.token_urlsafe(24),
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    @api.get("/chat/{flow_id}/messages")
    async def chat_history(
        request: Request,
        flow_id: str,
        after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ) -> JSONResponse:
        """The visitor's messages after `after`, whether this flow is still running, and how
        the visitor's latest interview on this flow stands (`flow_status`)."""
        known_flow(flow_id)
        ref = visitor(request)
        found = await service.history(
            channel=CHANNEL, customer_ref=ref, after_id=after, flow_id=flow_id
        )
        return JSONResponse(
            {
                "messages": [_message_json(line) for line in found.lines if not line.command],
                "open": found.flow_id == flow_id,
                "status": found.status,
                "flow_status": found.flow_status,
            }
        )

    @api.post("/chat/{flow_id}/messages")
    async def chat_post(request: Request, flow_id: str, post: ChatPost) -> JSONResponse:
        """Take the visitor's answer (or start the interview) and return the bot's replies."""
        if not request.headers.get("content-type", "").lower().startswith("application/json"):
            raise HTTPException(status_code=415, detail="send JSON")
        known_flow(flow_id)
        if not post.start and not (post.text or "").strip() and not post.button:
            raise HTTPException(status_code=422, detail="empty message")
        incoming = Incoming(
            channel=CHANNEL,
            customer_ref=visitor(request),
            kind="button" if post.button else ("command" if post.start else "text"),
            text=(post.text or "").strip(),
            button=post.button,
            command="start" if post.start else None,
            flow_id=flow_id if post.start else None,
            restart=post.start and post.restart,
            platform_message_id=post.client_id,
            language_hint=post.lang,
            replies="inline",  # this response carries them: stored as delivered
        )
        reply = await service.handle(incoming)
        return JSONResponse(
            {
                "messages": [
                    {
                        "id": message_id,
                        "direction": "out",
                        "author": "bot",
                        "text": m.text,
                        "buttons": [{"label": b.label, "payload": b.payload} for b in m.buttons],
                        "step_id": m.step_id,
                    }
                    for message_id, m in reply.messages
                ],
                "duplicate": reply.duplicate,
                "events": [name for name, _ in reply.events],
            }
        )

    return api
