"""Web visitor ids the server can recognise as its own: `<random>.<signature>`.

The page issues a random id (32 URL-safe characters) and signs it with HMAC-SHA256 under
the server's secret key; the cookie holds both. A cookie whose signature does not match
was not issued by this server (or was issued under another key) and counts as no cookie,
so nobody can choose, guess or borrow a customer id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN = re.compile(r"([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{43})")
"""What `issue()` makes: the id, a dot, the unpadded base64url SHA-256 MAC."""
PURPOSE = b"cxbot web visitor id\x00"
"""Keeps these MACs apart from anything else the same key may sign."""


class VisitorIds:
    """Issues and checks signed visitor ids; the key arrives at start-up (`use_key`)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    def use_key(self, key: bytes) -> None:
        """Sign and check with `key` from now on."""
        if len(key) < 32:
            raise ValueError("the visitor key must be at least 32 bytes")
        self._key = key

    def issue(self) -> str:
        """A new signed visitor id, for the cookie."""
        visitor = secrets.token_urlsafe(24)
        return f"{visitor}.{self._sign(visitor)}"

    def verify(self, token: str | None) -> str | None:
        """The visitor id in `token` when this server signed it, else None."""
        match = TOKEN.fullmatch(token or "")
        if match is None:
            return None
        visitor, signature = match.groups()
        return visitor if hmac.compare_digest(signature, self._sign(visitor)) else None

    def _sign(self, visitor: str) -> str:
        if self._key is None:
            raise RuntimeError("VisitorIds has no key yet (the app has not started)")
        mac = hmac.new(self._key, PURPOSE + visitor.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
