"""Accuracy of the text analysis on the labelled evaluation set (benchmarks/text_eval/).

    .venv/bin/python benchmarks/text_accuracy.py                 # both parts, the fallback
    .venv/bin/python benchmarks/text_accuracy.py --part tuning --errors   # what it got wrong

Prints theme micro-F1 (over theme keys), exact-set accuracy (the answer's whole theme set
right, including "no theme") and sentiment accuracy, per part (`tuning`: the rules were
tuned looking at these; `heldout`: written before the rules and never looked at while tuning —
do not print its errors while tuning; `fresh`: written after the rules were done, measured once)
and per language. With CXBOT_LLM_MODEL and
OPENAI_API_KEY or OPENAI_BASE_URL set, the model is measured too, through `llm`'s
`cxbot.analyst.Analyst` (the hook is `_model_analyzer`); its tokens are counted in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.analysis import analyze  # noqa: E402

DATA = ROOT / "benchmarks" / "text_eval"
PARTS = ("tuning", "heldout", "fresh")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    themes: frozenset[str]
    sentiment: str
    lang: str


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    exact: int = 0
    sentiment: int = 0
    total: int = 0

    def add(self, gold: Example, themes: frozenset[str], sentiment: str) -> None:
        self.tp += len(themes & gold.themes)
        self.fp += len(themes - gold.themes)
        self.fn += len(gold.themes - themes)
        self.exact += themes == gold.themes
        self.sentiment += sentiment == gold.sentiment
        self.total += 1

    def line(self, name: str) -> str:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return (
            f"{name:<22} n={self.total:<4} theme P={precision:.3f} R={recall:.3f} "
            f"micro-F1={f1:.3f}  exact-set={self.exact / self.total:.3f}  "
            f"sentiment={self.sentiment / self.total:.3f}"
        )


def load(part: str) -> list[Example]:
    """The labelled answers of one part of the set."""
    examples = []
    for line in (DATA / f"{part}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(
                Example(
                    row["id"], row["text"], frozenset(row["themes"]), row["sentiment"], row["lang"]
                )
            )
    return examples


Analyzer = Callable[[str], tuple[Iterable[str], str]]


def fallback(text: str) -> tuple[Iterable[str], str]:
    result = analyze(text)
    return result.themes, result.sentiment


class _MemoryLedger:
    """Tokens counted in memory: the benchmark does not touch the database's daily budget."""

    def __init__(self) -> None:
        self.tokens = 0
        self.failures = 0

    async def used_today(self) -> int:
        return 0

    async def record(self, model: str, prompt: int, completion: int, failed: bool) -> None:  # noqa: ARG002
        self.tokens += prompt + completion
        self.failures += failed


def _model_analyzer() -> Analyzer | None:
    """The configured model through `llm`'s client (`cxbot.analyst.Analyst`), when
    OPENAI_API_KEY / OPENAI_BASE_URL and CXBOT_LLM_MODEL are set and `llm` is merged."""
    if not os.environ.get("CXBOT_LLM_MODEL"):
        return None
    try:
        from cxbot.analyst import Analyst
        from cxbot.llm import LanguageModel, ModelConfig
        from cxbot.settings import Settings
    except ImportError:
        print("CXBOT_LLM_MODEL set but cxbot.analyst / cxbot.llm are not here: fallback only")
        return None
    config = ModelConfig.from_settings(Settings())
    if config is None:
        print("CXBOT_LLM_MODEL set without OPENAI_API_KEY or OPENAI_BASE_URL: fallback only")
        return None
    ledger = _MemoryLedger()
    analyst = Analyst(LanguageModel(config, ledger))
    loop = asyncio.new_event_loop()
    sources: Counter[str] = Counter()

    def run(text: str) -> tuple[Iterable[str], str]:
        reading = loop.run_until_complete(analyst.read(text))
        sources[reading.source] += 1
        return reading.analysis.themes, reading.analysis.sentiment

    run.sources = sources  # type: ignore[attr-defined]
    run.ledger = ledger  # type: ignore[attr-defined]
    return run


def measure(name: str, analyzer: Analyzer, parts: list[str], errors: bool) -> None:
    print(f"== {name}")
    for part in parts:
        overall = Score()
        by_lang: dict[str, Score] = {}
        started = time.perf_counter()
        wrong: list[str] = []
        for example in load(part):
            themes, sentiment = analyzer(example.text)
            got = frozenset(themes)
            overall.add(example, got, sentiment)
            by_lang.setdefault(example.lang, Score()).add(example, got, sentiment)
            if errors and (got != example.themes or sentiment != example.sentiment):
                wrong.append(
                    f"  {example.id} {example.text!r}\n      want {sorted(example.themes)} "
                    f"{example.sentiment}, got {sorted(got)} {sentiment}"
                )
        elapsed = time.perf_counter() - started
        print(overall.line(part) + f"  ({elapsed * 1000 / overall.total:.1f} ms/answer)")
        for lang, score in sorted(by_lang.items()):
            print("  " + score.line(lang))
        print("\n".join(wrong))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--errors", action="store_true", help="list the wrong answers")
    args = parser.parse_args(argv)
    parts = list(PARTS) if args.part == "all" else [args.part]
    analyze("")  # load jieba's dictionary before timing
    measure("fallback (flows.analysis)", fallback, parts, args.errors)
    model = _model_analyzer()
    if model is not None:
        measure(f"model {os.environ['CXBOT_LLM_MODEL']}", model, parts, args.errors)
        sources = dict(model.sources)  # type: ignore[attr-defined]
        print(f"read by: {sources} (a fallback reading means the model failed on that answer)")
        print(f"tokens used: {model.ledger.tokens}")  # type: ignore[attr-defined]
    counts = Counter(e.sentiment for part in parts for e in load(part))
    print(f"sentiments in the set: {dict(counts)}")


if __name__ == "__main__":
    main()
