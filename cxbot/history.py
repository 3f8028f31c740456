"""What a returning customer should see (the web chat reloads its page)."""

from __future__ import annotations

from bot.channel import History, Line
from cxbot.envelopes import outbound_from_row
from storage import queries
from storage.database import Sessions, reading
from storage.models import Message


def _line(row: Message) -> Line:
    return Line(
        id=row.id or 0,
        direction="in" if row.direction == "in" else "out",
        author=row.author,
        message=outbound_from_row(row),
        command=row.direction == "in" and bool((row.payload or {}).get("command")),
    )


async def history(
    sessions: Sessions,
    *,
    channel: str,
    customer_ref: str,
    after_id: int = 0,
    flow_id: str | None = None,
) -> History:
    """Messages after `after_id`, the open interview, and the latest one on `flow_id`."""
    async with reading(sessions) as session:  # one snapshot; never SQLite's write lock
        customer = await queries.find_customer(
            session=session, channel=channel, external_id=customer_ref
        )
        if customer is None or customer.id is None:
            return History((), None, None)
        rows = await queries.customer_messages(
            session=session, customer_id=customer.id, after_id=after_id
        )
        conversation = await queries.open_conversation(session=session, customer_id=customer.id)
        latest = (
            await queries.latest_conversation(
                session=session, customer_id=customer.id, flow_id=flow_id
            )
            if flow_id is not None
            else None
        )
        return History(
            tuple(_line(row) for row in rows),
            conversation.flow_id if conversation else None,
            conversation.status if conversation else None,
            latest.status if latest else None,
        )
