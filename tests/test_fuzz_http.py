"""The web chat's JSON API and the integrators' API under fuzzing: never a 5xx.

schemathesis draws requests from the app's own OpenAPI document (valid and invalid ones);
hypothesis adds what a schema does not describe: odd content types, junk cookies, `after=`
text or huge, unicode and very long flow ids, and API bodies near the valid ones (real
flows and channels, odd customer ids). Most requests carry a signed visitor cookie or the
API token, so they reach the parsing behind them. benchmarks/fuzz.py runs more examples.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from cxbot.settings import Settings
from tests.bot.telegram_chat import running_app, telegram_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fuzzing import LONG, Tally, run_property

pytestmark = pytest.mark.backends("sqlite", "postgresql")

API_TOKEN = "fuzz-api-token-0123456789abcdef"
BOT_TOKEN = "123456:TEST-token_abc"
EXAMPLES_PER_OPERATION = 600 if LONG else 60
RANDOM_EXAMPLES = 1500 if LONG else 150

CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-16",
    "application/json; charset=nonsense",
    "APPLICATION/JSON",
    "application/jsonx",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
    "application/json\u00e9",
]
FLOW_IDS = ["nps", "csat", "ces", "nope", "問卷", "x" * 3000, "%00", "..%2f..%2fetc", "😀", " "]
AFTERS = ["0", "-1", "9" * 30, "2e3", "abc", "", "١٢", "9223372036854775807", "9223372036854775808"]
CUSTOMERS = ["123456789", "-100123", "0", "9" * 40, "١٢٣", "@alice", "", " ", "o" * 200]
JUNK_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"{",
    b'{"client_id": "abcdefgh", "text": "\\ud800"}',
    b'{"client_id": "abcdefgh", "text": NaN}',
    b"\xff\xfe{",
    b'{"client_id": "abcdefgh", "start": true}' * 2,
    b"[" * 5000 + b"]" * 5000,
]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-telegram-bot's opt-in to timedelta retry_after (no deprecation warning)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, so the API can start interviews on Telegram."""
    fake = FakeTelegram(BOT_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


def settings(db_url: str, fake: FakeTelegram) -> Settings:
    """The app with the web chat, the integrators' API and the Telegram channel."""
    return telegram_settings(db_url, fake, api_token=API_TOKEN)


def request_of(case: Any) -> dict[str, Any]:
    """An httpx request from a schemathesis case."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": {k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data if isinstance(data, bytes | str) else str(data)
    return request


class Fuzzer:
    """Sends requests to the app with or without credentials and counts the answers."""

    def __init__(self, client: httpx.AsyncClient, tally: Tally, cookie: str) -> None:
        self.client = client
        self.tally = tally
        self.cookie = cookie

    async def send(self, request: dict[str, Any], credentials: bool) -> int:
        """Send one request (with the visitor cookie and API token when `credentials`)."""
        self.client.cookies.clear()  # only the cookies the request names
        request = dict(request)
        headers = dict(request.pop("headers", None) or {})
        cookies = dict(request.pop("cookies", None) or {})
        if credentials:
            headers.setdefault("authorization", f"Bearer {API_TOKEN}")
            cookies.setdefault("cxbot_visitor", self.cookie)
        cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if cookie_header:
            headers["cookie"] = cookie_header
        url = request.pop("url")
        what = f"{request.get('method')} {url} {request!r:.300} {headers!r:.200}"
        try:
            built = self.client.build_request(url=url, headers=headers, **request)
        except (httpx.InvalidURL, UnicodeEncodeError, ValueError, TypeError) as exc:  # unsendable
            return -len(str(exc))
        status = await self.tally.send(self.client, built, what)
        assert status < 500, self.tally.server_errors[-1]
        return status


async def visitor_cookie(client: httpx.AsyncClient) -> str:
    """A visitor cookie the app signed (as the chat page sets it)."""
    page = await client.get("/chat/nps")
    assert page.status_code == 200
    cookie = page.cookies["cxbot_visitor"]
    client.cookies.clear()
    return cookie


def odd_requests(cookie: str) -> st.SearchStrategy[tuple[dict[str, Any], bool]]:
    """Requests a schema does not describe: odd headers, cookies, paths and bodies."""
    flow = st.sampled_from(["nps"] * 10 + FLOW_IDS) | st.text(min_size=1, max_size=40).filter(
        lambda s: "/" not in s and "?" not in s and "#" not in s
    )
    chat_body = st.fixed_dictionaries(
        {"client_id": st.uuids().map(str) | st.sampled_from(["x", "ñ" * 10]) | st.text()},
        optional={
            "text": st.none() | st.text(max_size=50) | st.integers() | st.lists(st.integers()),
            "button": st.none() | st.text(max_size=70) | st.booleans(),
            "start": st.booleans() | st.sampled_from(["yes", 1, None]),
            "restart": st.booleans(),
            "lang": st.none() | st.sampled_from(["zh", "en", "xx", "zh-Hant-TW-x"]) | st.text(),
        },
    )
    api_body = st.fixed_dictionaries(
        {
            "flow_id": st.sampled_from(["nps", "csat", "ces", "nope"]),
            "channel": st.sampled_from(["telegram"] * 6 + ["web", "wechat", "TELEGRAM", ""]),
            "customer": st.sampled_from(CUSTOMERS) | st.integers(-(2**70), 2**70).map(str),
            "idempotency_key": st.uuids().map(str) | st.text(max_size=110),
        },
        optional={
            "language": st.none() | st.sampled_from(["zh", "en", "xx"]) | st.text(max_size=20),
            "customer_name": st.none() | st.text(max_size=120) | st.integers(),
        },
    )
    content_type = st.sampled_from(CONTENT_TYPES)
    junk_cookie = st.sampled_from(
        [
            cookie,
            cookie,
            cookie,
            cookie + "x",
            "x",
            cookie[:-2],
            "a.b.c",
            "\u00e9\u00e9",
            "=" * 50,
            "",
        ]
    )

    def chat_post(flow_id: str, body: Any, ctype: str, visitor: str, raw: bytes | None) -> Any:
        content = raw if raw is not None else httpx.Request("POST", "/", json=body).content
        headers = {"content-type": ctype, "cookie": f"cxbot_visitor={visitor}"}
        return {
            "method": "POST",
            "url": f"/chat/{flow_id}/messages",
            "headers": headers,
            "content": content,
        }, False

    def chat_get(flow_id: str, after: str, visitor: str) -> Any:
        return {
            "method": "GET",
            "url": f"/chat/{flow_id}/messages",
            "params": {"after": after},
            "headers": {"cookie": f"cxbot_visitor={visitor}"},
        }, False

    def api_post(body: Any, ctype: str, raw: bytes | None, auth: str) -> Any:
        content = raw if raw is not None else httpx.Request("POST", "/", json=body).content
        headers = {"content-type": ctype, "authorization": auth}
        return {
            "method": "POST",
            "url": "/api/v1/interviews",
            "headers": headers,
            "content": content,
        }, False

    raw = st.none() | st.none() | st.sampled_from(JUNK_BODIES)
    auth = st.sampled_from([f"Bearer {API_TOKEN}"] * 4 + ["Bearer x", "Basic abc", "Bearer ", "é"])
    return st.one_of(
        st.builds(chat_post, flow, chat_body, content_type, junk_cookie, raw),
        st.builds(chat_get, flow, st.sampled_from(AFTERS) | st.integers().map(str), junk_cookie),
        st.builds(api_post, api_body, content_type, raw, auth),
    )


async def test_the_json_apis_never_answer_5xx(
    backend: str, db_url: str, fake: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    tallies = {name: Tally(f"{name} [{backend}]") for name in ("web chat API", "integrators' API")}
    unsatisfiable: list[str] = []
    async with running_app(settings(db_url, fake), pace=0.0) as (app, client):
        cookie = await visitor_cookie(client)
        schema = schemathesis.openapi.from_dict(app.openapi())
        for result in schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith(("/chat/", "/api/")):
                continue
            target = "integrators' API" if operation.path.startswith("/api/") else "web chat API"
            fuzzer = Fuzzer(client, tallies[target], cookie)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                async def check(example: tuple[Any, bool], fuzzer: Fuzzer = fuzzer) -> None:
                    case, credentials = example
                    await fuzzer.send(request_of(case), credentials)

                cases = operation.as_strategy(generation_mode=mode)
                if "{flow_id}" in operation.path:  # mostly a real flow, to get past the 404
                    # (retiring works: it takes csat, so the web chat's nps is there after)
                    flow_id = "csat" if operation.path.endswith("/retire") else "nps"
                    real = operation.as_strategy(mode, path_parameters={"flow_id": flow_id})
                    cases = real | real | cases
                strategy = st.tuples(cases, st.sampled_from([True, True, True, False]))
                try:
                    await run_property(strategy, EXAMPLES_PER_OPERATION, check)
                except Unsatisfiable:
                    # an operation with nothing that can be wrong (say a POST with only the
                    # flow's id in its path, which any string fits) has no negative cases
                    assert mode is GenerationMode.NEGATIVE, operation.path
                    unsatisfiable.append(operation.path)

        async def odd(example: tuple[dict[str, Any], bool]) -> None:
            request, credentials = example
            target = "integrators' API" if "/api/" in request["url"] else "web chat API"
            await Fuzzer(client, tallies[target], cookie).send(request, credentials)

        await run_property(odd_requests(cookie), RANDOM_EXAMPLES, odd)
        after = await client.post(
            "/chat/nps/messages",
            json={"client_id": "after-the-fuzz", "start": True},
            headers={"cookie": f"cxbot_visitor={cookie}"},
        )
        assert after.status_code == 200, "the web chat no longer answers after the fuzzing"
    with capsys.disabled():
        for tally in tallies.values():
            print(f"\n  {tally.line()}")
        if unsatisfiable:
            print(f"  no negative cases for: {', '.join(sorted(set(unsatisfiable)))}")
    for tally in tallies.values():
        assert tally.server_errors == []
        assert tally.requests > 0
        assert any(200 <= code < 300 for code in tally.statuses), tally.line()


@pytest.mark.parametrize("after", [str(2**31), str(2**63 - 1)])
async def test_an_after_beyond_any_message_id_is_an_empty_page(
    backend: str, db_url: str, fake: FakeTelegram, after: str
) -> None:
    """Was a 500 on PostgreSQL: message ids are 32-bit there, and the query refused it."""
    async with running_app(settings(db_url, fake), pace=0.0) as (_, client):
        cookie = await visitor_cookie(client)
        response = await client.get(
            "/chat/nps/messages",
            params={"after": after},
            headers={"cookie": f"cxbot_visitor={cookie}"},
        )
    assert response.status_code == 200
    assert response.json()["messages"] == []
