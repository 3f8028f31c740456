"""The built-in web chat: a page anyone can open to take an interview, and its JSON API.

The visitor is identified by an HttpOnly cookie; posts must be JSON (a cross-site form
cannot send that), which together with SameSite=Lax keeps other sites from posting.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from cxbot.conversations import ConversationService, Incoming, history, outbound_from_row
from flows import language as languages
from flows import texts
from flows.registry import FlowRegistry
from storage.models import Message

CHANNEL = "web"
COOKIE = "cxbot_visitor"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

LABELS = {
    "zh": {
        "placeholder": "输入回复…",
        "send": "发送",
        "powered": "由 cxbot 提供",
        "error": "网络出错了，请重试。",
        "ended": "访谈已结束。",
        "restart": "重新开始",
    },
    "en": {
        "placeholder": "Type your answer…",
        "send": "Send",
        "powered": "Powered by cxbot",
        "error": "Something went wrong. Please try again.",
        "ended": "The interview has ended.",
        "restart": "Start again",
    },
}


class ChatPost(BaseModel):
    """One thing the visitor did in the page."""

    client_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    """A random id per message, so a resend after a network error is answered once."""
    text: str | None = Field(default=None, max_length=2000)
    button: str | None = Field(default=None, max_length=64)
    start: bool = False
    lang: str | None = Field(default=None, max_length=16)


def _message_json(row: Message) -> dict[str, Any]:
    outbound = outbound_from_row(row)
    return {
        "id": row.id,
        "direction": row.direction,
        "author": row.author,
        "text": row.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in outbound.buttons],
        "step_id": outbound.step_id,
    }


def router(service: ConversationService, registry: FlowRegistry) -> APIRouter:
    """The web chat's routes."""
    api = APIRouter()

    def visitor(request: Request) -> str:
        ref = request.cookies.get(COOKIE)
        if not ref or len(ref) > 64:
            raise HTTPException(status_code=401, detail="open the chat page first")
        return ref

    @api.get("/chat/{flow_id}", response_class=HTMLResponse)
    async def chat_page(request: Request, flow_id: str, lang: str | None = None) -> Response:
        """The chat page for one flow."""
        loaded = registry.current(flow_id)
        if loaded is None:
            raise HTTPException(status_code=404, detail=f"no flow '{flow_id}'")
        flow = loaded.flow
        accept = request.headers.get("accept-language", "").split(",")[0]
        language = languages.choose(flow.languages, flow.default_language, lang, accept)
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
        if not request.cookies.get(COOKIE):
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
    async def chat_history(request: Request, flow_id: str, after: int = 0) -> JSONResponse:
        """The visitor's messages after `after`, and whether this flow is still running."""
        found = await history(
            service, channel=CHANNEL, customer_ref=visitor(request), after_id=after
        )
        return JSONResponse(
            {
                "messages": [
                    _message_json(row)
                    for row in found.messages
                    if not (row.direction == "in" and (row.payload or {}).get("command"))
                ],
                "open": found.flow_id == flow_id,
                "status": found.status,
            }
        )

    @api.post("/chat/{flow_id}/messages")
    async def chat_post(request: Request, flow_id: str, post: ChatPost) -> JSONResponse:
        """Take the visitor's answer (or start the interview) and return the bot's replies."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise HTTPException(status_code=415, detail="send JSON")
        if registry.current(flow_id) is None:
            raise HTTPException(status_code=404, detail=f"no flow '{flow_id}'")
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
            platform_message_id=post.client_id,
            language_hint=post.lang,
        )
        reply = await service.handle(incoming)
        for message_id, _ in reply.messages:
            await service.mark_sent(message_id)
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
