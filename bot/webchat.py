"""The built-in web chat: a page anyone can open to take an interview, and its JSON API.

The visitor is identified by an HttpOnly cookie the server signed (bot/visitors.py);
posts must be JSON (a cross-site form cannot send that), which together with
SameSite=Lax keeps other sites from posting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from bot import webchat_texts
from bot.channel import Incoming, Line, Recipient, Service, Transcripts
from bot.visitors import VisitorIds
from flows import language as languages
from flows import texts
from flows.registry import FlowRegistry
from flows.state import Outbound

CHANNEL = "web"
COOKIE = "cxbot_visitor"
MAX_ID = 2**63 - 1
LARGEST_ROW_ID = 2**31 - 1
"""Message ids are INTEGER columns: PostgreSQL refuses a larger number in a query."""
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{32}")
"""The customer id of a web visitor: the random part of the signed cookie (bot/visitors.py)."""
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


class ChatService(Service, Transcripts, Protocol):
    """The conversation service as the web chat uses it."""


@dataclass(frozen=True)
class WebChat:
    """What the web chat's routes work with, handed over by the app factory."""

    service: ChatService
    registry: FlowRegistry
    visitor_ids: VisitorIds

    async def bind(self, request: Request) -> None:
        """Make this web chat the one `Chat` gives the request's route (a router dependency)."""
        request.state.webchat = self


@dataclass(frozen=True)
class ChatPage:
    """What chat.html shows."""

    flow_id: str
    title: str
    """The flow's name for customers, in the page's language."""
    lang: str
    labels: dict[str, str]


@dataclass(frozen=True)
class UnknownFlowPage:
    """What unknown_flow.html shows: a survey link whose flow does not exist."""

    lang: str
    other_lang: str
    """The language the page links to as an alternative."""
    labels: dict[str, str]


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
        return None if VISITOR_ID.fullmatch(address) else "not a web chat visitor id"

    async def send(
        self,
        recipient: Recipient,  # noqa: ARG002 - the Sender interface
        messages: Sequence[Outbound],  # noqa: ARG002
    ) -> str | None:
        """Nothing to call: the visitor's page shows the stored message."""
        return None


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


async def current_chat(request: Request) -> WebChat:
    """The web chat the router was built for."""
    chat: WebChat = request.state.webchat
    return chat


Chat = Annotated[WebChat, Depends(current_chat)]


async def visitor(request: Request, chat: Chat) -> str:
    """The visitor id from the cookie, when this server signed it; else 401."""
    ref = chat.visitor_ids.verify(request.cookies.get(COOKIE))
    if ref is None:
        raise HTTPException(status_code=401, detail="open the chat page first")
    return ref


Visitor = Annotated[str, Depends(visitor)]


async def known_flow(flow_id: str, chat: Chat) -> str:
    """The flow id of the path, when such a flow is loaded; else 404."""
    if chat.registry.current(flow_id) is None:
        raise HTTPException(status_code=404, detail=f"no flow '{flow_id}'")
    return flow_id


FlowId = Annotated[str, Depends(known_flow)]


def page_language(request: Request, supported: list[str], default: str, lang: str | None) -> str:
    """`?lang=`, else the browser's languages in `q` order, else `default`."""
    accept = accepted_languages(request.headers.get("accept-language", ""))
    return languages.choose(supported, default, lang, *accept)


async def chat_page(
    request: Request, chat: Chat, flow_id: str, lang: str | None = None
) -> Response:
    """The chat page for one flow; a friendly 404 page for an unknown one."""
    loaded = chat.registry.current(flow_id)
    if loaded is None:
        return unknown_flow_page(request, lang)
    flow = loaded.flow
    language = page_language(request, flow.languages, flow.default_language, lang)
    page = ChatPage(
        flow_id=flow.id,
        title=texts.pick(flow.name, language, flow.default_language),
        lang=language,
        labels=webchat_texts.labels(language),
    )
    response = TEMPLATES.TemplateResponse(request, "chat.html", {"page": page})
    if chat.visitor_ids.verify(request.cookies.get(COOKIE)) is None:
        response.set_cookie(
            COOKIE,
            chat.visitor_ids.issue(),
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def unknown_flow_page(request: Request, lang: str | None) -> Response:
    """A survey link to a flow that does not exist: say so kindly, in zh or en, with 404."""
    language = page_language(request, webchat_texts.LANGUAGES, webchat_texts.LANGUAGES[0], lang)
    page = UnknownFlowPage(
        lang=language,
        other_lang=next(o for o in webchat_texts.LANGUAGES if o != language),
        labels=webchat_texts.labels(language),
    )
    return TEMPLATES.TemplateResponse(request, "unknown_flow.html", {"page": page}, status_code=404)


async def chat_history(
    chat: Chat,
    flow_id: FlowId,
    ref: Visitor,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> JSONResponse:
    """The visitor's messages after `after`, whether this flow is still running, and how
    the visitor's latest interview on this flow stands (`flow_status`)."""
    found = await chat.service.history(
        channel=CHANNEL, customer_ref=ref, after_id=min(after, LARGEST_ROW_ID), flow_id=flow_id
    )
    return JSONResponse(
        {
            "messages": [_message_json(line) for line in found.lines if not line.command],
            "open": found.flow_id == flow_id,
            "status": found.status,
            "flow_status": found.flow_status,
        }
    )


async def chat_post(
    request: Request, chat: Chat, flow_id: FlowId, ref: Visitor, post: ChatPost
) -> JSONResponse:
    """Take the visitor's answer (or start the interview) and return the bot's replies."""
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        raise HTTPException(status_code=415, detail="send JSON")
    if not post.start and not (post.text or "").strip() and not post.button:
        raise HTTPException(status_code=422, detail="empty message")
    incoming = Incoming(
        channel=CHANNEL,
        customer_ref=ref,
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
    reply = await chat.service.handle(incoming)
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


def router(chat: WebChat) -> APIRouter:
    """The web chat's routes, working with `chat`."""
    api = APIRouter(dependencies=[Depends(chat.bind)])
    api.add_api_route("/chat/{flow_id}", chat_page, methods=["GET"], response_class=HTMLResponse)
    api.add_api_route("/chat/{flow_id}/messages", chat_history, methods=["GET"])
    api.add_api_route("/chat/{flow_id}/messages", chat_post, methods=["POST"])
    return api
