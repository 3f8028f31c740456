"""The integrators' HTTP API: start an interview after an event (a ticket closed, an order
delivered), in the customer's own channel.

Always mounted. Every call carries `Authorization: Bearer <token>`: a stored token with
the agent or admin role (`cxbot tokens create --role agent`), or CXBOT_API_TOKEN, which
counts as an admin token. The guard (`admin.access.api_role("agent")`) comes from the app
factory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.channel import Incoming, Reply, digest
from cxbot.closing import abandon

if TYPE_CHECKING:
    from cxbot.runtime import Runtime

log = logging.getLogger(__name__)


class StartInterview(BaseModel):
    """Start one interview with one customer."""

    flow_id: str = Field(max_length=64)
    """The flow to run; its file must allow it (`start: {api: true}`, the default)."""
    channel: str = Field(max_length=32)
    """The customer's channel: `telegram` or `wechat` (whichever is mounted)."""
    customer: str = Field(min_length=1, max_length=128)
    """The customer's id there: a Telegram chat id or a WeChat openid."""
    idempotency_key: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    """Your id for this trigger (e.g. `order-1234-delivered`): a retry starts nothing twice."""
    language: str | None = Field(default=None, max_length=16)
    """The customer's language if you know it (`zh`, `en`)."""
    customer_name: str | None = Field(default=None, max_length=100)
    """Filled into `{customer_name}` in the flow's texts."""


def router(runtime: Runtime, *, guard: Callable[..., Any]) -> APIRouter:
    """The API's routes, each behind `guard` (who may start interviews)."""
    api = APIRouter(prefix="/api/v1", tags=["api"])

    @api.post("/interviews", status_code=202, dependencies=[Depends(guard)])
    async def start_interview(body: StartInterview) -> JSONResponse:
        """Start an interview and deliver its first question in the customer's channel."""
        _check_startable(runtime, body)
        key = f"api:{body.idempotency_key}"
        reply = await runtime.service.handle(
            Incoming(
                channel=body.channel,
                customer_ref=body.customer,
                kind="trigger",
                command="start",
                flow_id=body.flow_id,
                platform_message_id=key,
                language_hint=body.language,
                display_name=body.customer_name,
                request_digest=digest(body.model_dump_json(exclude={"idempotency_key"})),
            )
        )
        if reply.refused == "conflict":
            raise HTTPException(
                status_code=422,
                detail="this idempotency_key was used before for another request",
            )
        if reply.refused == "busy":
            return _answer("busy", reply, status_code=409)
        if reply.refused == "quiet":
            return _answer("quiet-period", reply, status_code=409)
        if reply.duplicate and not reply.undelivered:
            return _answer("already-started", reply)
        report = await runtime.delivery.deliver(reply)
        if report.complete:
            status = "started"
        elif report.failed:
            status = "not-delivered"
            if reply.conversation_id is not None:
                # a question the customer never saw: no interview waits for their answer,
                # and the key is free for a later try
                await abandon(runtime.service, reply.conversation_id, "not-delivered", release=key)
        else:
            status = "queued"  # the platform asked us to wait: the queue sends it shortly
        log.info("API start of %s on %s: %s", body.flow_id, body.channel, status)
        return _answer(status, reply, error=report.error if status != "started" else None)

    return api


def _check_startable(runtime: Runtime, body: StartInterview) -> None:
    """Refuse, before anything is stored, a start that can never work."""
    loaded = runtime.registry.current(body.flow_id)
    if loaded is None:
        raise HTTPException(status_code=404, detail=f"no flow '{body.flow_id}'")
    if not loaded.flow.start.api:
        raise HTTPException(
            status_code=403, detail=f"flow '{body.flow_id}' does not allow API starts"
        )
    sender = runtime.delivery.senders.get(body.channel)
    if sender is None or body.channel == "web":
        mounted = ", ".join(sorted(c for c in runtime.delivery.senders if c != "web")) or "none"
        raise HTTPException(
            status_code=422,
            detail=f"channel '{body.channel}' cannot be reached from the API here "
            f"(mounted: {mounted})",
        )
    problem = sender.unreachable(body.customer)
    if problem is not None:
        raise HTTPException(status_code=422, detail=f"customer: {problem}")


def _answer(
    status: str, reply: Reply, *, error: str | None = None, status_code: int = 202
) -> JSONResponse:
    return JSONResponse(
        {
            "status": status,
            "conversation_id": reply.conversation_id,
            "messages": [message.as_plain_text() for _, message in reply.messages],
            "error": error,
        },
        status_code=status_code,
    )
