"""Button payloads come from the outside (a web page can post anything): odd ones are re-asked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows import engine
from flows.loader import load_file
from flows.registry import BUILTIN_DIR
from flows.state import Inbound

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["²", "¹", "٣", "９", "1e1", "", "-", "10.0", "99999999999"])
def test_a_scale_button_that_is_no_ascii_whole_number_is_re_asked(value: str) -> None:
    loaded = load_file(BUILTIN_DIR / "nps.yaml")
    started = engine.start(loaded.flow, version=loaded.version, at=NOW, language_hints=("en",))
    outcome = engine.advance(
        loaded.flow, started.state, Inbound(at=NOW, button=f"ask_score:{value}")
    )
    assert [event.name for event in outcome.events] == ["answer-rejected"]
    assert outcome.state.step_id == "ask_score" and outcome.state.answers == {}
    assert outcome.outbound[0].text.startswith("Sorry, I didn't get that.")


def test_a_scale_button_with_a_score_is_recorded() -> None:
    loaded = load_file(BUILTIN_DIR / "nps.yaml")
    started = engine.start(loaded.flow, version=loaded.version, at=NOW, language_hints=("en",))
    outcome = engine.advance(loaded.flow, started.state, Inbound(at=NOW, button="ask_score:0"))
    assert outcome.state.answers == {"score": 0}
