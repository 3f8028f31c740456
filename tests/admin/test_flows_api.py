"""`/api/v1/flows`: who may read and write, CSRF on session writes, validation with the
messages of `cxbot check`, drafts that may be broken, publishing that never is, restoring,
retiring — and that a publication is what the next interview runs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admin import tokens
from cxbot.runtime import Runtime
from flows.loader import FlowLoadError, load_text
from flows.registry import BUILTIN_DIR
from tests.admin.conftest import Visitor
from tests.bot.test_webchat import bot_texts, open_page, post
from tests.conftest import START

NPS = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")
NEW_WORDING = NPS.replace("您好！", "您好（新）！").replace("很抱歉让您失望了。", "抱歉（新）。")
BROKEN = NPS.replace("goto: why_low", "goto: why_lowww")


class Api:
    """Bearer-token calls to the API."""

    def __init__(self, app: FastAPI, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
            return await client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def apis(app: FastAPI) -> dict[str, Api]:
    """A token per role (their names: admin-ci, agent-ci, viewer-ci)."""
    writer = app.state.admin_auth.writer
    made = {}
    for role in ("admin", "agent", "viewer"):
        token = await tokens.create(
            writer, name=f"{role}-ci", role=role, now=START, created_by="test"
        )
        made[role] = Api(app, token.secret)
    return made


def runtime(app: FastAPI) -> Runtime:
    found: Runtime = app.state.runtime
    return found


def check_messages(source: str) -> list[tuple[int, int, str]]:
    """What `cxbot check` prints for a text, as (line, column, message)."""
    try:
        load_text(source)
    except FlowLoadError as exc:
        return [(e.line, e.column, e.message) for e in exc.errors]
    return []


async def test_viewers_read_and_only_admins_write(apis: dict[str, Api]) -> None:
    listed = await apis["viewer"]("GET", "/api/v1/flows")
    assert listed.status_code == 200
    flows = {f["id"]: f for f in listed.json()["flows"]}
    assert set(flows) >= {"nps", "ces", "csat"}
    nps = flows["nps"]
    assert (nps["status"], nps["revision"], nps["origin"], nps["author"]) == (
        "published",
        1,
        "file",
        None,
    )
    assert nps["path"] == str(BUILTIN_DIR / "nps.yaml") and nps["live_version"] == nps["version"]
    assert nps["triggers"]["commands"] == ["/feedback"] and nps["counts"]["started_week"] == 0
    one = (await apis["viewer"]("GET", "/api/v1/flows/nps")).json()
    assert one["source"] == NPS and [r["revision"] for r in one["history"]] == [1]
    body = {"source": NEW_WORDING}
    for role in ("viewer", "agent"):
        for method, path, json in (
            ("POST", "/api/v1/flows/nps/publish", body),
            ("PUT", "/api/v1/flows/nps/draft", body),
            ("GET", "/api/v1/flows/nps/draft", None),
            ("DELETE", "/api/v1/flows/nps/draft", None),
            ("POST", "/api/v1/flows/nps/revisions/1/restore", None),
            ("POST", "/api/v1/flows/nps/retire", None),
        ):
            refused = await apis[role](method, path, json=json)
            assert refused.status_code == 403, (role, method, path)
    assert (await apis["agent"]("GET", "/api/v1/flows/nps/revisions/1")).status_code == 200
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=apis["admin"].app))
    async with anonymous:
        assert (await anonymous.get("http://t/api/v1/flows")).status_code == 401
    published = await apis["admin"]("POST", "/api/v1/flows/nps/publish", json=body)
    assert published.status_code == 201
    assert published.json()["revision"] == 2 and published.json()["author"] == "token:admin-ci"


async def test_session_writes_need_the_csrf_token(
    app: FastAPI, signed_in: dict[str, Visitor]
) -> None:
    admin = signed_in["admin"].http
    body = {"source": NEW_WORDING}
    refused = await admin.post("/api/v1/flows/nps/publish", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = await admin.post(
        "/api/v1/flows/nps/publish", json=body, headers={"X-CSRF-Token": "forged"}
    )
    assert forged.status_code == 403
    ok = await admin.post(
        "/api/v1/flows/nps/publish", json=body, headers={"X-CSRF-Token": signed_in["admin"].csrf}
    )
    assert ok.status_code == 201 and ok.json()["author"] == "ann"
    viewer = signed_in["viewer"]
    assert (await viewer.http.get("/api/v1/flows/nps")).status_code == 200
    refused_viewer = await viewer.http.post(
        "/api/v1/flows/nps/retire", headers={"X-CSRF-Token": viewer.csrf}
    )
    assert refused_viewer.status_code == 403


@pytest.mark.parametrize(
    "source",
    [
        BROKEN,  # a link to a step that does not exist
        NPS.replace("steps:", "stepz:"),  # a misspelt key
        "id: nps\nname: [unclosed\n",  # YAML syntax
        NPS.replace("id: nps", "id: nps\nid: nps"),  # a duplicate key
        "- just\n- a list\n",
    ],
)
async def test_validation_gives_the_lines_and_messages_of_cxbot_check(
    apis: dict[str, Api], source: str
) -> None:
    answer = await apis["viewer"]("POST", "/api/v1/flows/validate", json={"source": source})
    assert answer.status_code == 200
    found = answer.json()
    assert found["ok"] is False and found["version"] is None
    assert [(e["line"], e["col"], e["message"]) for e in found["errors"]] == check_messages(source)


async def test_validation_of_a_good_text_and_of_a_text_for_another_flow(
    apis: dict[str, Api],
) -> None:
    good = (await apis["viewer"]("POST", "/api/v1/flows/validate", json={"source": NPS})).json()
    assert good == {"ok": True, "errors": [], "flow_id": "nps", "version": good["version"]}
    other = await apis["viewer"](
        "POST", "/api/v1/flows/validate", json={"source": NPS, "flow_id": "ces"}
    )
    [error] = other.json()["errors"]
    assert error["line"] == NPS.splitlines().index("id: nps") + 1
    assert "not 'ces'" in error["message"]


async def test_a_broken_draft_is_kept_and_never_published(
    app: FastAPI, apis: dict[str, Api]
) -> None:
    admin = apis["admin"]
    assert (await admin("GET", "/api/v1/flows/nps/draft")).status_code == 404
    saved = await admin(
        "PUT", "/api/v1/flows/nps/draft", json={"source": BROKEN, "base_revision": 1}
    )
    assert saved.status_code == 200
    draft = saved.json()
    assert draft["source"] == BROKEN and draft["base_revision"] == 1
    assert [(e["line"], e["col"], e["message"]) for e in draft["errors"]] == check_messages(BROKEN)
    assert (await admin("GET", "/api/v1/flows/nps/draft")).json()["source"] == BROKEN
    refused = await admin("POST", "/api/v1/flows/nps/publish", json={})
    assert refused.status_code == 422
    assert refused.json()["errors"] == draft["errors"] and refused.json()["key"] == "invalid"
    direct = await admin("POST", "/api/v1/flows/nps/publish", json={"source": BROKEN})
    assert direct.status_code == 422
    history = (await admin("GET", "/api/v1/flows/nps/revisions")).json()["revisions"]
    assert [r["revision"] for r in history] == [1]
    live = runtime(app).registry.current("nps")
    assert live is not None and live.source == NPS
    # fixed: published from the draft, which goes away
    await admin("PUT", "/api/v1/flows/nps/draft", json={"source": NEW_WORDING})
    listed = {f["id"]: f for f in (await admin("GET", "/api/v1/flows")).json()["flows"]}
    assert listed["nps"]["drafts"] == ["token:admin-ci"]
    published = await admin("POST", "/api/v1/flows/nps/publish", json={})
    assert published.status_code == 201 and published.json()["revision"] == 2
    assert (await admin("GET", "/api/v1/flows/nps/draft")).status_code == 404
    live = runtime(app).registry.current("nps")
    assert live is not None and live.source == NEW_WORDING  # at once, in this process


async def test_drafts_belong_to_their_author(apis: dict[str, Api], app: FastAPI) -> None:
    writer = app.state.admin_auth.writer
    other = Api(
        app,
        (await tokens.create(writer, name="ann", role="admin", now=START, created_by="t")).secret,
    )
    await apis["admin"]("PUT", "/api/v1/flows/nps/draft", json={"source": NEW_WORDING})
    await other("PUT", "/api/v1/flows/nps/draft", json={"source": BROKEN})
    assert (await apis["admin"]("GET", "/api/v1/flows/nps/draft")).json()["source"] == NEW_WORDING
    assert (await other("GET", "/api/v1/flows/nps/draft")).json()["source"] == BROKEN
    assert (await other("DELETE", "/api/v1/flows/nps/draft")).status_code == 204
    assert (await other("DELETE", "/api/v1/flows/nps/draft")).status_code == 404
    assert (await apis["admin"]("GET", "/api/v1/flows/nps/draft")).status_code == 200


async def test_expected_revision_refuses_a_stale_publish(apis: dict[str, Api]) -> None:
    admin = apis["admin"]
    body = {"source": NEW_WORDING, "expected_revision": 1}
    assert (await admin("POST", "/api/v1/flows/nps/publish", json=body)).status_code == 201
    stale = await admin("POST", "/api/v1/flows/nps/publish", json={**body, "source": NPS})
    assert stale.status_code == 409 and stale.json()["key"] == "conflict"
    new = await admin(
        "POST",
        "/api/v1/flows/nps2/publish",
        json={"source": NPS.replace("id: nps", "id: nps2"), "expected_revision": 0},
    )
    assert new.status_code == 201 and new.json()["revision"] == 1


async def test_restore_publishes_an_old_text_as_a_new_revision(
    app: FastAPI, apis: dict[str, Api]
) -> None:
    admin = apis["admin"]
    await admin("POST", "/api/v1/flows/nps/publish", json={"source": NEW_WORDING})
    old = await admin("GET", "/api/v1/flows/nps/revisions/1")
    assert old.json()["source"] == NPS
    restored = await admin("POST", "/api/v1/flows/nps/revisions/1/restore")
    assert restored.status_code == 201
    assert (restored.json()["revision"], restored.json()["restored_from"]) == (3, 1)
    assert restored.json()["version"] == old.json()["version"]
    live = runtime(app).registry.current("nps")
    assert live is not None and live.source == NPS
    version = old.json()["version"]
    by_version = await apis["viewer"]("GET", f"/api/v1/flows/nps/versions/{version}")
    assert by_version.json()["source"] == NPS
    assert (await admin("POST", "/api/v1/flows/nps/revisions/9/restore")).status_code == 404


async def test_a_retired_flow_starts_nothing_until_published_again(
    app: FastAPI, apis: dict[str, Api], client: httpx.AsyncClient
) -> None:
    retired = await apis["admin"]("POST", "/api/v1/flows/ces/retire")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert retired.json()["live_version"] is None
    assert runtime(app).registry.current("ces") is None
    assert (await client.get("/chat/ces")).status_code == 404
    source = (BUILTIN_DIR / "ces.yaml").read_text(encoding="utf-8")
    again = await apis["admin"]("POST", "/api/v1/flows/ces/publish", json={"source": source})
    assert again.status_code == 201 and again.json()["revision"] == 2
    assert (await client.get("/chat/ces")).status_code == 200


async def test_a_new_flow_starts_as_a_draft(apis: dict[str, Api]) -> None:
    admin = apis["admin"]
    source = NPS.replace("id: nps", "id: store")
    await admin("PUT", "/api/v1/flows/store/draft", json={"source": source})
    listed = {f["id"]: f for f in (await admin("GET", "/api/v1/flows")).json()["flows"]}
    assert listed["store"]["status"] == "draft" and listed["store"]["revision"] is None
    assert listed["store"]["name"] == {"zh": "推荐意愿调查", "en": "Would you recommend us?"}
    one = (await admin("GET", "/api/v1/flows/store")).json()
    assert one["source"] is None and one["history"] == []
    wrong = await admin("POST", "/api/v1/flows/shop/publish", json={"source": source})
    assert wrong.status_code == 422 and "not 'shop'" in wrong.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/v1/flows/nope", None, 404),
        ("GET", "/api/v1/flows/nps/revisions/7", None, 404),
        ("GET", "/api/v1/flows/nps/revisions/0", None, 422),
        ("GET", "/api/v1/flows/nps/revisions/x", None, 422),
        ("GET", "/api/v1/flows/nps/versions/nothex", None, 422),
        ("GET", "/api/v1/flows/nps/versions/abcdef", None, 404),
        ("GET", "/api/v1/flows/Bad%20Id", None, 422),
        ("POST", "/api/v1/flows/nope/retire", None, 404),
        ("POST", "/api/v1/flows/nps/publish", {}, 404),  # no source, no draft
        ("POST", "/api/v1/flows/nps/publish", {"source": 5}, 422),
        ("POST", "/api/v1/flows/nps/publish", {"source": "x" * 300_000}, 422),
        ("POST", "/api/v1/flows/validate", {"sauce": "id: x"}, 422),
        ("PUT", "/api/v1/flows/nps/draft", {"source": None}, 422),
    ],
)
async def test_bad_requests_are_4xx(
    apis: dict[str, Api], method: str, path: str, body: object, status: int
) -> None:
    answer = await apis["admin"](method, path, json=body)
    assert answer.status_code == status, answer.text


async def test_malformed_json_is_422(apis: dict[str, Api]) -> None:
    answer = await apis["admin"]("POST", "/api/v1/flows/nps/publish", content=b"{not json")
    assert answer.status_code == 422


async def test_the_next_interview_runs_the_publication_and_a_running_one_stays(
    apis: dict[str, Api],
) -> None:
    app = apis["admin"].app
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as early,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as late,
    ):
        await open_page(early)
        first = await post(early, {"start": True, "lang": "zh"})
        assert bot_texts(first)[0].startswith("您好！")
        await apis["admin"]("POST", "/api/v1/flows/nps/publish", json={"source": NEW_WORDING})
        await open_page(late)
        second = await post(late, {"start": True, "lang": "zh"})
        assert bot_texts(second)[0].startswith("您好（新）！")
        running = await post(early, {"text": "3"})  # pinned to revision 1
        assert bot_texts(running)[0].startswith("很抱歉让您失望了。")
        newer = await post(late, {"text": "3"})
        assert bot_texts(newer)[0].startswith("抱歉（新）。")
    counts = (await apis["viewer"]("GET", "/api/v1/flows/nps")).json()["counts"]
    assert counts == {"started_week": 2, "completed_week": 0, "completion_rate": 0.0}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/flows/validate", "POST"),
        ("/api/v1/flows/nps/draft", "PUT"),
        ("/api/v1/flows/nps/publish", "POST"),
    ],
)
async def test_texts_no_database_can_hold_are_refused_or_never_published(
    apis: dict[str, Api], path: str, method: str
) -> None:
    json_type = {"content-type": "application/json"}
    lone = await apis["admin"](
        method, path, content=b'{"source": "id: nps\\ud800"}', headers=json_type
    )
    assert lone.status_code == 422  # a lone surrogate is no text
    nul = await apis["admin"](
        method, path, content=b'{"source": "id: nps\\u0000"}', headers=json_type
    )
    assert nul.status_code in (200, 422)  # a NUL is no YAML: checked, kept as a draft, never live
    assert (await apis["viewer"]("GET", "/api/v1/flows/nps")).json()["revision"] == 1


@pytest.mark.backends("sqlite", "postgresql")
async def test_two_admins_publishing_at_once_get_two_revisions(
    app: FastAPI, apis: dict[str, Api]
) -> None:
    writer = app.state.admin_auth.writer
    made = await tokens.create(writer, name="bo", role="admin", now=START, created_by="t")
    other = Api(app, made.secret)
    theirs = NPS.replace("您好！", "您好（乙）！")
    first, second = await asyncio.gather(
        apis["admin"]("POST", "/api/v1/flows/nps/publish", json={"source": NEW_WORDING}),
        other("POST", "/api/v1/flows/nps/publish", json={"source": theirs}),
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert sorted([first.json()["revision"], second.json()["revision"]]) == [2, 3]
    history = (await apis["viewer"]("GET", "/api/v1/flows/nps/revisions")).json()["revisions"]
    assert {(r["author"], r["version"]) for r in history[:2]} == {
        ("token:admin-ci", first.json()["version"]),
        ("token:bo", second.json()["version"]),
    }
