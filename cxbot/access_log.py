"""uvicorn's access log without personal data: the path without its query, no client address.

WeChat puts the customer's `openid` in the webhook's query string, a web chat link may carry
anything in its query, and the client address is the visitor's (behind a proxy, with
`proxy_headers`). A line reads `INFO:     - - "POST /webhooks/wechat HTTP/1.1" 200`.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

HIDDEN = "-"


class PrivateAccessLog(logging.Filter):
    """Drop the query string and the client address from uvicorn's access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # (client, method, path, version, status)
            _client, method, path, version, status = args
            record.args = (HIDDEN, method, str(path).partition("?")[0], version, status)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with `PrivateAccessLog` on the access log (a dict,
    so every worker process applies it)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["private"] = {"()": f"{__name__}.PrivateAccessLog"}
    config["handlers"]["access"]["filters"] = ["private"]
    return config
