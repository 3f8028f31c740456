"""Signing outbound webhooks: HMAC-SHA256 over the timestamp and the exact body.

    X-Cxbot-Signature: t=1795965782,v1=<hex HMAC-SHA256(secret, "1795965782." + body)>

The receiver recomputes it over the raw bytes it got (before parsing the JSON), compares in
constant time and refuses old timestamps (a replay). `verify` is the receiver's side, the
same code docs/api.md shows.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Cxbot-Signature"
EVENT_HEADER = "X-Cxbot-Event"
DELIVERY_HEADER = "X-Cxbot-Delivery"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, body: bytes, header: str, now: float, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamp = next((value for key, _, value in fields if key == "t"), "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = sign(secret, body, int(stamp)).partition(",v1=")[2]
    return any(
        key == "v1" and hmac.compare_digest(value.encode(), expected.encode())
        for key, _, value in fields
    )
