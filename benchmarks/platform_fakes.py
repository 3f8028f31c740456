"""The platforms' side for benchmarks/http_load.py, in a process of its own so that it does
not share the load generator's event loop: the fake Telegram Bot API and the fake WeChat API
of the test suite (tests/fakes/). Prints one JSON line with their base URLs, then serves until
its standard input closes.

Run: PYTHONPATH=. .venv/bin/python benchmarks/platform_fakes.py TELEGRAM_TOKEN WECHAT_APP_ID
WECHAT_SECRET
"""

from __future__ import annotations

import asyncio
import json
import sys

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wechat_api import FakeWeChatApi


async def serve(token: str, app_id: str, secret: str) -> None:
    telegram = FakeTelegram(token)
    wechat = FakeWeChatApi(app_id, secret)
    await telegram.start()
    await wechat.start()
    print(json.dumps({"telegram": telegram.base_url, "wechat": wechat.base_url}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes the pipe
    await telegram.stop()
    await wechat.stop()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:4]))
