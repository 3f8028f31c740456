"""Checking what an admin gives for a webhook (the page and the API share the rules)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from storage.webhooks import EVENTS

MAX_URL = 500


def clean_url(given: str) -> str | None:
    """The URL if it is an absolute http(s) URL with a host and no credentials, else None."""
    url = given.strip()
    if not url or len(url) > MAX_URL or any(ord(c) < 33 for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return url


def clean_events(given: Sequence[str]) -> list[str] | None:
    """The known events among `given`, in the catalogue's order; None if none is known or
    one is unknown."""
    chosen = set(given)
    if not chosen or not chosen <= set(EVENTS):
        return None
    return [event for event in EVENTS if event in chosen]


def new_secret() -> str:
    """A fresh signing secret (`whsec_` + 32 random bytes, URL-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)
