"""Wording a follow-up question with the model, within a time budget.

The engine stays pure: after a vague open answer on a step that allows a probe it asks the
step's static follow-up (`probe.text`) and reports `probe-requested`. After the reply is
stored — outside the customer's lock and the database's write turn — the service hands it
here: the model gets the question, the score and the answer (as data) and at most
`CXBOT_LLM_PROBE_SECONDS`; a valid question (one line, short, no link) replaces the static
text in the stored message and in the reply; anything else leaves the static text. So a slow
model never delays a reply past the budget (WeChat's passive reply included).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from bot.channel import Reply
from cxbot.llm import LanguageModel, ModelUnavailable
from flows.state import Outbound
from storage import analysis
from storage.writes import Writer

log = logging.getLogger(__name__)


class Prober:
    """See the module docstring; the service calls it with each new reply."""

    def __init__(self, *, model: LanguageModel, writer: Writer, seconds: float) -> None:
        self.model, self.writer, self.seconds = model, writer, seconds

    async def __call__(self, reply: Reply) -> Reply:
        wanted = [d for name, d in reply.events if name == "probe-requested" and d["generate"]]
        if not wanted:
            return reply
        request = wanted[-1]
        found = _probe_message(reply, request)
        if found is None:
            return reply
        index, (message_id, outbound) = found
        try:
            text = await asyncio.wait_for(self._word(request), self.seconds)
        except (ModelUnavailable, TimeoutError) as exc:
            log.info("follow-up asked as written (%s)", type(exc).__name__)
            return reply
        async with self.writer.transaction() as session:
            changed = await analysis.reword_probe(
                session=session, message_id=message_id, fallback=outbound.text, text=text
            )
        if not changed:
            return reply
        messages = list(reply.messages)
        messages[index] = (message_id, replace(outbound, text=text))
        return replace(reply, messages=tuple(messages))

    async def _word(self, request: dict[str, Any]) -> str:
        return await self.model.probe(
            question=str(request["question"]),
            score=request.get("score"),
            answer=str(request["answer"]),
            language=str(request["language"]),
            instructions=request.get("instructions"),
            max_chars=int(request["max_chars"]),
            timeout_seconds=self.seconds,
        )


def _probe_message(
    reply: Reply, request: dict[str, Any]
) -> tuple[int, tuple[int, Outbound]] | None:
    """The stored message that asks the static follow-up."""
    for index, (message_id, outbound) in enumerate(reply.messages):
        if outbound.step_id == request["step_id"] and outbound.text == request["fallback"]:
            return index, (message_id, outbound)
    return None
