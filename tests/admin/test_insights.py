"""The insights page in process: figures equal to a hand count of the stored analyses,
quotes for agents only, the model's token use for admins only, bad filters named (never a
500), customer text escaped; and the pure figures (NPS citing vs not, the digest's quotes)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from admin.insights import digest, nps_of, sentiment_over_time, theme_figures
from cxbot.settings import Settings
from storage import model_usage
from storage.insights import AnalyzedAnswer
from tests.admin.conftest import Visitor, add_user
from tests.admin.test_desk_routes import WebCustomer


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


async def interview(app: FastAPI, score: int, why: str) -> None:
    customer = WebCustomer(app)
    await customer.open()
    await customer.post(start=True, lang="zh")
    await customer.post(text=str(score))
    await customer.post(text=why)
    await customer.close()


async def analyzed_app(app: FastAPI) -> None:
    await interview(app, 2, "快递太慢了，等了一个星期 <b>bold</b>")
    await interview(app, 3, "客服态度很差，电话一直占线")
    await interview(app, 5, "物流太慢，包装也破了")
    await interview(app, 10, "客服很耐心，问题很快就解决了")
    worker = app.state.intelligence.worker
    await worker.scan()
    while (await worker.work()).done:
        pass


async def signed_in(app: FastAPI, name: str, role: str) -> Visitor:
    await add_user(app, name, role)
    visitor = Visitor(app)
    await visitor.sign_in(name)
    return visitor


def cells(html: str, theme: str) -> list[str]:
    row = re.search(rf'<tr data-theme="{theme}">(.*?)</tr>', html, flags=re.DOTALL)
    assert row, f"no row for {theme}"
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1], flags=re.DOTALL)
    ]


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_page_shows_hand_counted_figures_by_role(app: FastAPI) -> None:
    await analyzed_app(app)
    viewer = await signed_in(app, "vic", "viewer")
    page = (await viewer.get("/admin/insights?lang=en")).text
    assert "4 open answers analyzed" in page
    delivery = cells(page, "delivery")
    # 2 of 4 answers cite delivery (both detractors); 2 of the 3 detractors' answers
    assert delivery[0] == "Delivery" and delivery[1] == "2" and delivery[2].endswith("50%")
    assert delivery[4] == "67%"
    assert delivery[5] == "-100.0"  # both citing it scored 0-6
    assert delivery[6] == "+0.0"  # the others: one detractor (3), one promoter (10)
    assert "Detractor digest" not in page and "快递太慢了" not in page  # viewers: no quotes
    assert "/admin/insights/themes/" not in page
    assert "Language model use" not in page
    agent = await signed_in(app, "ann", "agent")
    page = (await agent.get("/admin/insights?lang=zh")).text
    assert "贬损者摘要" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    theme = await agent.get("/admin/insights/themes/delivery?lang=en")
    assert theme.status_code == 200
    assert theme.text.count('<tr data-answer="') == 2
    assert (await viewer.get("/admin/insights/themes/delivery")).status_code == 403
    admin = await signed_in(app, "ada", "admin")
    page = (await admin.get("/admin/insights?lang=en")).text
    assert "Language model use" in page and "No model configured" in page
    assert "done 4" in page


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_page_filters_like_the_dashboard(app: FastAPI) -> None:
    await analyzed_app(app)
    viewer = await signed_in(app, "vic", "viewer")
    web = (await viewer.get("/admin/insights?lang=en&channel=web&flow=nps&language=zh")).text
    assert "4 open answers analyzed" in web
    assert '<option value="web" selected>' in web
    english = (await viewer.get("/admin/insights?lang=en&language=en")).text
    assert "0 open answers analyzed" in english or "not understood" in english


async def test_tokens_per_day_are_shown_to_admins(app: FastAPI) -> None:
    async with app.state.runtime.service.writer.transaction() as session:
        today = datetime.now(UTC).date().isoformat()
        await model_usage.add(
            session=session, day=today, model="qwen-plus", prompt_tokens=1200, completion_tokens=34
        )
    admin = await signed_in(app, "ada", "admin")
    page = (await admin.get("/admin/insights?lang=en")).text
    assert re.search(rf"{today}</td><td[^>]*>qwen-plus</td>\s*<td[^>]*>1,234", page)


@pytest.mark.parametrize(
    "query",
    ["from=yesterday", "to=2026-13-40", "from=2020-01-01&to=2026-01-01", "flow=nope", "from=%00"],
)
async def test_filters_that_cannot_be_understood_are_named_not_a_500(
    app: FastAPI, query: str
) -> None:
    viewer = await signed_in(app, "vic", "viewer")
    response = await viewer.get(f"/admin/insights?{query}&lang=en")
    assert response.status_code == 200
    assert "were not understood" in response.text or "not understood" in response.text


async def test_a_theme_key_that_cannot_be_one_is_refused(app: FastAPI) -> None:
    agent = await signed_in(app, "ann", "agent")
    assert (await agent.get("/admin/insights/themes/..%2Fetc")).status_code in (404, 422)
    assert (await agent.get("/admin/insights/themes/UPPER")).status_code == 422


def row(
    answer_id: int,
    themes: tuple[str, ...],
    nps: int | None,
    sentiment: str = "negative",
    text: str = "x" * 20,
) -> AnalyzedAnswer:
    return AnalyzedAnswer(
        answer_id=answer_id,
        conversation_id=answer_id,
        text=text,
        language="zh",
        created_at=datetime(2026, 11, answer_id % 28 + 1, tzinfo=UTC),
        themes=themes,
        sentiment=sentiment,
        vague=False,
        source="fallback",
        nps=nps,
    )


def test_nps_citing_and_not_citing_a_theme() -> None:
    rows = [
        row(1, ("price",), 0),
        row(2, ("price", "staff"), 9),
        row(3, ("staff",), 10),
        row(4, (), None),
    ]
    [price, staff] = sorted(theme_figures(rows, {}), key=lambda f: f.key)
    assert price.nps_citing == nps_of([0, 9]) == 0.0
    assert price.nps_not == 100.0
    assert price.effect == -100.0
    assert price.detractor_share == 1.0
    assert staff.share == 0.5
    assert nps_of([]) is None


def test_the_digest_quotes_negative_concrete_answers_first() -> None:
    rows = [
        row(1, ("delivery",), 2, "neutral", "物流一般，还行吧其实也没什么"),
        row(2, ("delivery",), 3, "negative", "快递员把包裹扔在门口，东西摔坏了"),
        row(3, ("delivery",), 9, "negative", "a promoter is no detractor"),
        row(4, ("price",), 1, "negative", "太贵了" + "非常" * 100),
        row(5, ("delivery",), 0, "negative", "快递员把包裹扔在门口，东西摔坏了"),
    ]
    entries = digest(rows, {"delivery": "物流配送"})
    assert [e.key for e in entries] == ["delivery", "price"]
    assert entries[0].label == "物流配送" and entries[0].detractors == 3
    assert [q for _, q in entries[0].quotes] == [
        "快递员把包裹扔在门口，东西摔坏了",  # once, though two customers wrote it
        "物流一般，还行吧其实也没什么",
    ]
    assert all(len(q) <= 140 for _, q in entries[1].quotes)


def test_sentiment_is_by_day_then_by_week() -> None:
    rows = [row(1, (), None, "positive"), row(2, (), None, "negative")]
    days = sentiment_over_time(rows, date(2026, 11, 1), date(2026, 11, 13))
    assert len(days) == 13 and sum(s.total for s in days) == 2
    weeks = sentiment_over_time(rows, date(2026, 11, 1), date(2026, 11, 30))
    assert all(s.label.startswith("≥ ") for s in weeks)
    assert sum(s.negative for s in weeks) == 1
