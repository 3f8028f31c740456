"""WeChat's HTTP API through wechatpy; the access token comes from a shared source.

wechatpy's client is synchronous (requests), so every call runs in a worker thread.
Its own token handling is per process and its token fetch ignores the base URL;
here the base URL (`WECHAT_API_BASE_URL`) holds for every call, and the token comes
from a shared `TokenSource` (the app's, kept in the database), refreshed by one process at a time.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import anyio
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from bot.channel import TokenSource

log = logging.getLogger(__name__)

PLATFORM = "wechat"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""Invalid, malformed or expired access token: refresh once and retry."""
SECRET_IN_URL = re.compile(r"(secret|access_token)=[^&\s'\"]+")


def scrub(text: str) -> str:
    """`text` with AppSecrets and access tokens in URLs replaced by `***` (for rows and logs)."""
    return SECRET_IN_URL.sub(r"\1=***", text)


def describe(exc: BaseException) -> str:
    if isinstance(exc, WeChatClientException) and exc.errcode:
        return f"errcode {exc.errcode}: {exc.errmsg}"
    return f"{type(exc).__name__}: {exc}"


class TokenUnavailable(Exception):
    """No access token could be had (another process holds the refresh, or WeChat refused)."""


class _ThreadToken(SessionStorage):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's token storage, one value per worker thread: each call brings its token."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, key: str, default: Any = None) -> Any:  # noqa: ARG002 - one key only
        return getattr(self._local, "token", default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:  # noqa: ARG002
        self._local.token = value

    def delete(self, key: str) -> None:  # noqa: ARG002 - one key only
        self._local.token = None


class ApiClient(WeChatClient):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's client with every URL, the token fetch included, under `base_url`."""

    def __init__(self, appid: str, secret: str, *, base_url: str, timeout: float) -> None:
        base = base_url.rstrip("/")
        self.API_BASE_URL = f"{base}/cgi-bin/"
        self.token_url = f"{base}/cgi-bin/token"
        super().__init__(appid, secret, session=_ThreadToken(), timeout=timeout, auto_retry=False)

    def fetch_access_token(self) -> dict[str, Any]:
        """GET {base}/cgi-bin/token (wechatpy hard-codes api.weixin.qq.com, and no timeout)."""
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        response = self._http.get(self.token_url, params=params, timeout=self.timeout)
        try:
            response.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(
                None, None, client=self, request=exc.request, response=exc.response
            ) from exc
        result: dict[str, Any] = response.json()
        if int(result.get("errcode", 0) or 0) != 0:
            raise WeChatClientException(
                int(result["errcode"]),
                result.get("errmsg", ""),
                client=self,
                request=response.request,
                response=response,
            )
        return result

    def send_text_with(self, access_token: str, openid: str, text: str) -> dict[str, Any]:
        """Send a customer-service text message using this token (runs in a worker thread)."""
        self.session.set(self.access_token_key, access_token)
        result: dict[str, Any] = self.message.send_text(openid, text)
        return result

    def close(self) -> None:
        """Close the HTTP session wechatpy opens and never closes."""
        self._http.close()


class WeChatApi:
    """The calls cxbot makes to WeChat, off the event loop, with a shared token."""

    def __init__(self, *, app_id: str, secret: str, base_url: str, timeout: float = 10.0) -> None:
        self.app_id = app_id
        self.client = ApiClient(app_id, secret, base_url=base_url, timeout=timeout)
        self.tokens: TokenSource | None = None
        """Where tokens come from (shared by the app's processes); set by the app."""

    async def fetch_token(self) -> tuple[str, int]:
        """Ask WeChat for a new access token: (token, expires_in seconds)."""
        result = await anyio.to_thread.run_sync(self.client.fetch_access_token)
        return str(result["access_token"]), int(result.get("expires_in", 7200))

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A valid token from the shared source."""
        if self.tokens is None:
            raise TokenUnavailable("no token source")
        return await self.tokens.access_token(rejected=rejected)

    async def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """POST message/custom/send; on an invalid token refresh once and retry.

        Raises wechatpy's WeChatClientException for WeChat's errors (45015, 45047, …).
        """
        token = await self.access_token()
        try:
            return await anyio.to_thread.run_sync(self.client.send_text_with, token, openid, text)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeChat rejected the access token (errcode %s); refreshing", exc.errcode)
        token = await self.access_token(rejected=token)
        return await anyio.to_thread.run_sync(self.client.send_text_with, token, openid, text)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()
