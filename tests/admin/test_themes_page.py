"""The theme words page in process: who may read and who may edit, CSRF, words added and
removed, labels, a new theme; bad input refused next to its field (4xx, never a 500) and
customer-like text escaped; and the analysis worker using the edited book — new answers at
once, old ones with `--redo`, every label on the insights page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import select

from cxbot.settings import Settings
from storage.analysis_tables import AnswerAnalysis
from storage.database import reading
from storage.theme_tables import ThemeWord
from tests.admin.conftest import Visitor
from tests.admin.test_insights import interview

PAGE = "/admin/insights/themes"
WARRANTY = "the warranty claim was a nightmare"


@pytest.fixture
def app_settings(tmp_path: Path, db_url: str) -> Settings:
    """The app without its background analysis (the tests run the worker themselves)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flow_reload_seconds=0,
        flows_dir=tmp_path / "flows",
        analysis_in_app=False,
    )


async def stored_words(app: FastAPI) -> list[tuple[str, str]]:
    async with reading(app.state.runtime.service.sessions) as session:
        rows = await session.exec(select(ThemeWord).order_by(ThemeWord.id))  # type: ignore[arg-type]
        return [(w.key, w.word) for w in rows.all()]


async def test_everyone_signed_in_reads_only_admins_edit(
    app: FastAPI, signed_in: dict[str, Visitor]
) -> None:
    anonymous = signed_in["anonymous"]
    response = await anonymous.get(PAGE)
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]
    for role in ("viewer", "agent"):
        page = await signed_in[role].get(PAGE + "?lang=en")
        assert page.status_code == 200
        assert 'data-theme="delivery"' in page.text and "Only admins can change" in page.text
        assert 'action="/admin/insights/themes/' not in page.text
        refused = await signed_in[role].post(PAGE + "/delivery/words", {"words": "闪送"})
        assert refused.status_code == 403
        refused = await signed_in[role].post(PAGE, {"key": "x", "label_zh": "x", "label_en": "x"})
        assert refused.status_code == 403
    refused = await anonymous.post(PAGE + "/delivery/words", {"words": "闪送"})
    assert refused.status_code in (303, 403)
    admin = await signed_in["admin"].get(PAGE + "?lang=zh")
    assert 'action="/admin/insights/themes/delivery/words#theme-delivery"' in admin.text
    assert "cxbot analyze --since 2026-11-01 --redo" in admin.text
    assert await stored_words(app) == []
    insights = await signed_in["viewer"].get("/admin/insights?lang=en")
    assert 'href="/admin/insights/themes"' in insights.text


async def test_forms_need_the_csrf_token(app: FastAPI, signed_in: dict[str, Visitor]) -> None:
    admin = signed_in["admin"]
    missing = await admin.post(PAGE + "/delivery/words", {"words": "闪送"}, csrf=False)
    wrong = await admin.post(PAGE + "/delivery/words", {"words": "闪送", "csrf_token": "forged"})
    made = await admin.post(
        PAGE,
        {"key": "warranty", "label_zh": "保修", "label_en": "Warranty", "words": "保修"},
        csrf=False,
    )
    assert (missing.status_code, wrong.status_code, made.status_code) == (403, 403, 403)
    assert await stored_words(app) == []


@pytest.mark.backends("sqlite", "postgresql")
async def test_an_admin_adds_and_removes_words_labels_and_themes(
    app: FastAPI, signed_in: dict[str, Visitor]
) -> None:
    admin = signed_in["admin"]
    await admin.get(PAGE + "?lang=en")  # the language the notices are written in
    done = await admin.post(PAGE + "/resolution/words", {"words": "warranty， 保修卡\n<b>延保</b>"})
    assert done.status_code == 303 and done.headers["location"] == PAGE + "#theme-resolution"
    page = (await admin.get(PAGE + "?lang=en")).text
    assert "Added to “Resolution”: warranty, 保修卡, &lt;b&gt;延保&lt;/b&gt;." in page
    assert "<b>延保</b>" not in page
    assert 'data-word="warranty"' in page
    assert await stored_words(app) == [
        ("resolution", "warranty"),
        ("resolution", "保修卡"),
        ("resolution", "<b>延保</b>"),
    ]
    again = await admin.post(PAGE + "/resolution/words", {"words": "warranty"})
    assert again.status_code == 303
    assert "has these words already" in (await admin.get(PAGE + "?lang=en")).text
    removed = await admin.post(PAGE + "/resolution/words/remove", {"word": "<b>延保</b>"})
    assert removed.status_code == 303
    assert len(await stored_words(app)) == 2

    await admin.get(PAGE + "?lang=zh")
    labels = await admin.post(PAGE + "/staff/labels", {"label_zh": "服务人员", "label_en": "Staff"})
    assert labels.status_code == 303
    page = (await admin.get(PAGE)).text
    assert "已保存「服务人员」的名称" in page and 'value="服务人员"' in page

    await admin.get(PAGE + "?lang=en")
    made = await admin.post(
        PAGE,
        {"key": "loyalty", "label_zh": "会员积分", "label_en": "Loyalty", "words": "积分、points"},
    )
    assert made.status_code == 303
    page = (await admin.get(PAGE)).text
    assert 'id="theme-loyalty"' in page and "Theme “Loyalty” made." in page
    reader = (await signed_in["viewer"].get(PAGE + "?lang=en")).text
    assert 'data-theme="loyalty"' in reader and "points" in reader
    gone = await admin.post(PAGE + "/loyalty/remove", {})
    assert gone.status_code == 303
    assert 'id="theme-loyalty"' not in (await admin.get(PAGE)).text
    assert await stored_words(app) == [("resolution", "warranty"), ("resolution", "保修卡")]


def error_of(html: str, form: str, field: str) -> str:
    found = re.search(rf'id="{form}-{field}-error"[^>]*>([^<]*)<', html)
    assert found, f"no error next to {form} {field}"
    return found[1]


@pytest.mark.parametrize(
    ("path", "data", "status", "form", "field", "says"),
    [
        ("/delivery/words", {"words": " ,， \n"}, 400, "words-delivery", "words", "at least one"),
        ("/delivery/words", {"words": "x" * 41}, 400, "words-delivery", "words", "at most 40"),
        ("/delivery/words", {"words": "顺\u200b丰"}, 400, "words-delivery", "words", "invisible"),
        ("/delivery/words", {"words": "~"}, 400, "words-delivery", "words", "at most 40"),
        (
            "",
            {"key": "Warranty", "label_zh": "保修", "label_en": "W", "words": "保修"},
            400,
            "new",
            "key",
            "lower-case",
        ),
        (
            "",
            {"key": "delivery", "label_zh": "物流", "label_en": "D", "words": "闪送"},
            409,
            "new",
            "key",
            "exists already",
        ),
        (
            "",
            {"key": "warranty", "label_zh": "", "label_en": "W", "words": "保修"},
            400,
            "new",
            "label_zh",
            "needs a Chinese",
        ),
        (
            "",
            {"key": "warranty", "label_zh": "保修", "label_en": "W", "words": ""},
            400,
            "new",
            "words",
            "at least one",
        ),
        (
            "/staff/labels",
            {"label_zh": "x" * 41, "label_en": "Staff"},
            400,
            "labels-staff",
            "label_zh",
            "1–40",
        ),
    ],
)
async def test_bad_input_is_refused_next_to_its_field(
    app: FastAPI,
    signed_in: dict[str, Visitor],
    path: str,
    data: dict[str, str],
    status: int,
    form: str,
    field: str,
    says: str,
) -> None:
    admin = signed_in["admin"]
    await admin.get(PAGE + "?lang=en")
    response = await admin.post(PAGE + path, data)
    assert response.status_code == status
    assert says in error_of(response.text, form, field)
    assert 'aria-invalid="true"' in response.text
    assert await stored_words(app) == []


async def test_what_does_not_exist_is_a_4xx(app: FastAPI, signed_in: dict[str, Visitor]) -> None:
    admin = signed_in["admin"]
    await admin.get(PAGE + "?lang=en")
    missing = await admin.post(PAGE + "/nope/words", {"words": "x"})
    assert missing.status_code == 404 and "There is no theme nope" in missing.text
    word = await admin.post(PAGE + "/delivery/words/remove", {"word": "快递"})  # a built-in word
    assert word.status_code == 404
    builtin = await admin.post(PAGE + "/delivery/remove", {})
    assert builtin.status_code == 409
    assert (await admin.post(PAGE + "/UPPER/words", {"words": "x"})).status_code == 422
    assert (await admin.post(PAGE + "/delivery/words", {"words": "x" * 5000})).status_code == 422
    assert (await admin.post(PAGE + "/delivery/words", {})).status_code == 422


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_worker_reads_with_the_edited_book(
    app: FastAPI, signed_in: dict[str, Visitor]
) -> None:
    worker = app.state.intelligence.worker

    async def work() -> dict[int, list[str]]:
        await worker.scan()
        while (await worker.work()).done:
            pass
        async with reading(app.state.runtime.service.sessions) as session:
            rows = await session.exec(select(AnswerAnalysis))
            return {a.answer_id: a.themes for a in rows.all()}

    await interview(app, 3, WARRANTY)
    [(old, themes)] = (await work()).items()
    assert themes == []
    admin = signed_in["admin"]
    await admin.post(PAGE + "/resolution/words", {"words": "warranty"})
    await admin.post(
        PAGE, {"key": "loyalty", "label_zh": "会员积分", "label_en": "Loyalty", "words": "积分"}
    )
    await interview(app, 4, WARRANTY + "，积分也没到账")
    found = await work()
    [new] = set(found) - {old}
    assert found[new] == ["resolution", "loyalty"] and found[old] == []  # old: not redone
    assert await worker.queue_since(datetime(2000, 1, 1, tzinfo=UTC), redo=True) >= 2
    assert (await work())[old] == ["resolution"]  # `cxbot analyze --since DATE --redo`
    page = (await signed_in["viewer"].get("/admin/insights?lang=zh&from=2000-01-01")).text
    assert re.search(r'<tr data-theme="loyalty">\s*<td[^>]*>会员积分', page)
