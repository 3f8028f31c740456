"""WeChat's webhook signatures, checked in constant time, and the freshness of a request.

WeChat signs every callback with `signature = sha1(sorted(token, timestamp, nonce))` and,
in compatible and safe mode, the encrypted body with `msg_signature = sha1(sorted(token,
timestamp, nonce, Encrypt))` (computed as wechatpy's WeChatSigner does). wechatpy compares
both with `!=` and never looks at the timestamp; here both are compared with
`hmac.compare_digest`, and a timestamp more than REPLAY_WINDOW_SECONDS from now is stale.
A (timestamp, nonce) pair is accepted for one body only (a `NonceStore`): WeChat's
own retries resend the same body; a captured signature reused for another one is a replay.
"""

from __future__ import annotations

import hashlib
import hmac

import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.channel import NonceStore

REPLAY_WINDOW_SECONDS = 300
"""A signed request is accepted this long before or after its timestamp, and no longer."""
MAX_NONCE_LENGTH = 64


def sha1_signature(*parts: str) -> str:
    """The hex sha1 of the parts sorted and joined, as WeChat signs."""
    joined = b"".join(sorted(part.encode("utf-8") for part in parts))
    return hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeChat's algorithm, not our choice


def signature_matches(signature: str, *parts: str) -> bool:
    """Whether `signature` is WeChat's signature of `parts` (constant-time comparison)."""
    return hmac.compare_digest(sha1_signature(*parts).encode(), signature.encode("utf-8"))


def fresh_timestamp(timestamp: str, now: float) -> int | None:
    """The request's timestamp as an int when it is within the window of `now`, else None."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return None
    value = int(timestamp)
    return value if abs(now - value) <= REPLAY_WINDOW_SECONDS else None


def decrypt(
    crypto: WeChatCrypto, body: str, *, msg_signature: str, timestamp: str, nonce: str
) -> str:
    """The plaintext XML of an encrypted POST, after checking `msg_signature`.

    Raises InvalidSignatureException (bad signature) or InvalidAppIdException /
    ValueError / KeyError (a body that is not ours).
    """
    envelope = xmltodict.parse(body)["xml"]
    encrypt = str(envelope["Encrypt"])
    if not signature_matches(msg_signature, crypto.token, timestamp, nonce, encrypt):
        raise InvalidSignatureException()
    plaintext: str = PrpCrypto(crypto.key).decrypt(encrypt, crypto.app_id)
    return plaintext


def refusal(token: str, *, signature: str, timestamp: str, nonce: str, now: float) -> str | None:
    """Why a request is not WeChat's (bad signature, stale timestamp), or None."""
    if not (signature and timestamp and nonce):
        return "no signature (bad signature)"
    if not signature_matches(signature, token, timestamp, nonce):
        return "a bad signature"
    if fresh_timestamp(timestamp, now) is None:
        return f"a timestamp more than {REPLAY_WINDOW_SECONDS} s from now"
    if len(nonce) > MAX_NONCE_LENGTH:
        return "an overlong nonce"
    return None


async def first_use(
    nonces: NonceStore, channel: str, *, timestamp: int, nonce: str, body: str, now: float
) -> bool:
    """Record a signed request's (timestamp, nonce); False if it came with another body before.

    WeChat's own retries of a message carry the same body, so they pass (and are
    deduplicated by MsgId); a captured signature reused for another body does not.
    """
    return await nonces.first_use(channel, timestamp=timestamp, nonce=nonce, body=body, now=now)
