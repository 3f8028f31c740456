"""A flow's own theme words (`themes:` in the flow file): checked by the analyzer's rules when
the flow loads, and used by the analysis worker for that flow's answers only, on top of the
app's book (defaults, CXBOT_THEMES_FILE, the admins' words)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from pydantic import ValidationError
from sqlmodel import select

from cxbot.settings import Settings
from flows.analysis import analyze
from flows.model import Flow
from storage.analysis_tables import AnswerAnalysis
from storage.database import reading
from tests.admin.test_insights import interview

NPS = Path(__file__).parents[2] / "flows" / "builtin" / "nps.yaml"
OWN = {"loyalty": {"label_zh": "会员积分", "label_en": "Loyalty", "words": ["积分"]}}


@pytest.fixture
def app_settings(tmp_path: Path, db_url: str) -> Settings:
    """The shipped NPS flow replaced by a copy with its own theme words."""
    flows = tmp_path / "flows"
    flows.mkdir()
    data = yaml.safe_load(NPS.read_text("utf-8"))
    data["themes"] = {**OWN, "delivery": {"words": ["闪电侠"]}}
    (flows / "nps.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flow_reload_seconds=0,
        flows_dir=flows,
        analysis_in_app=False,
    )


async def test_the_worker_reads_a_flows_answers_with_its_own_words(app: FastAPI) -> None:
    answer = "积分一直没到账，闪电侠也没来"
    assert analyze(answer).themes == ("refund",)  # the default book alone
    await interview(app, 3, answer)
    worker = app.state.intelligence.worker
    await worker.scan()
    while (await worker.work()).done:
        pass
    async with reading(app.state.runtime.service.sessions) as session:
        [themes] = [a.themes for a in (await session.exec(select(AnswerAnalysis))).all()]
    assert themes == ["delivery", "loyalty"]
    assert app.state.intelligence.analyst.book.get("loyalty") is None  # this flow's only


def test_a_flows_theme_words_follow_the_analyzers_rules() -> None:
    data = yaml.safe_load(NPS.read_text("utf-8"))
    assert Flow.model_validate({**data, "themes": OWN}).themes == OWN
    for bad, says in (
        ({"Loyalty": {"words": ["积分"]}}, "lower-case"),
        ({"loyalty": {"words": ["积分"]}}, "needs `label_zh`"),
        ({"delivery": {"words": "闪送"}}, "list of non-empty texts"),
        ({"delivery": {"colour": "red"}}, "unknown field"),
    ):
        with pytest.raises(ValidationError, match=says):
            Flow.model_validate({**data, "themes": bad})
