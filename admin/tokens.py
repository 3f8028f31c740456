"""API tokens: `cxb_` + 43 random URL-safe characters (32 bytes); only the SHA-256 is kept.

The visible `cxb_` prefix lets secret scanners and people recognise a cxbot token; the first
12 characters are stored too, so a list can show which token is which.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from storage import api_tokens
from storage.models import ApiToken
from storage.writes import Writer

PREFIX = "cxb_"
SHOWN = 12
"""How many leading characters are stored and listed."""
MAX_LENGTH = 200
"""A longer bearer value is no token of ours (refused without a query)."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: the secret (shown once) and its stored row."""

    secret: str
    stored: ApiToken


def digest(token: str) -> str:
    """The SHA-256 (hex) a token is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def looks_like_ours(token: str) -> bool:
    """Whether a bearer value could be a stored token (else no query is made)."""
    return token.startswith(PREFIX) and len(token) <= MAX_LENGTH


async def create(
    writer: Writer, *, name: str, role: str, now: datetime, created_by: str | None
) -> NewToken:
    """Make a token, store its hash, return the secret once."""
    secret = PREFIX + secrets.token_urlsafe(32)
    async with writer.transaction() as session:
        stored = await api_tokens.add_token(
            session=session,
            name=name,
            role=role,
            token_hash=digest(secret),
            prefix=secret[:SHOWN],
            now=now,
            created_by=created_by,
        )
    return NewToken(secret=secret, stored=stored)
