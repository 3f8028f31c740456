"""What the running app holds, handed to the parts that need it (API, channels)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channel import Hook
from bot.visitors import VisitorIds
from cxbot.conversations import ConversationService
from cxbot.delivery import Delivery
from cxbot.settings import Settings
from flows.registry import FlowRegistry


@dataclass
class Runtime:
    """What the running app holds: settings, database, flows and the conversation service."""

    settings: Settings
    engine: AsyncEngine
    registry: FlowRegistry
    service: ConversationService
    delivery: Delivery
    on_startup: list[Hook] = field(default_factory=list)
    """Run after migrations and flow loading (channels start their clients here)."""
    on_shutdown: list[Hook] = field(default_factory=list)
    """Run before the database closes, in reverse order."""
    visitor_ids: VisitorIds = field(default_factory=VisitorIds)
    """Signs and checks the web chat's visitor cookies; keyed at start-up."""
