"""Accuracy of the text analysis on the labelled evaluation set (benchmarks/text_eval/).

    .venv/bin/python benchmarks/text_accuracy.py                 # both parts, the fallback
    .venv/bin/python benchmarks/text_accuracy.py --part tuning --errors   # what it got wrong

Prints theme micro-F1 (over theme keys), exact-set accuracy (the answer's whole theme set
right, including "no theme") and sentiment accuracy, per part (`tuning`: the rules were
tuned looking at these; `heldout`: written before the rules and never looked at while tuning —
do not print its errors while tuning) and per language. With OPENAI_API_KEY and
CXBOT_LLM_MODEL set, the model is measured too, through `cxbot.llm` when that module offers
`analyze_text(text) -> TextAnalysis`-like objects (the hook is `_model_analyzer`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.analysis import analyze  # noqa: E402

DATA = ROOT / "benchmarks" / "text_eval"
PARTS = ("tuning", "heldout")


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
                Example(row["id"], row["text"], frozenset(row["themes"]), row["sentiment"],
                        row["lang"])
            )
    return examples


Analyzer = Callable[[str], tuple[Iterable[str], str]]


def fallback(text: str) -> tuple[Iterable[str], str]:
    result = analyze(text)
    return result.themes, result.sentiment


def _model_analyzer() -> Analyzer | None:
    """The model through `llm`'s client, when configured and merged; else None."""
    if not (os.environ.get("OPENAI_API_KEY") and os.environ.get("CXBOT_LLM_MODEL")):
        return None
    try:
        from cxbot import llm  # type: ignore[attr-defined]
    except ImportError:
        print("OPENAI_* set but cxbot.llm is not there: measuring the fallback only")
        return None
    hook: Any = getattr(llm, "analyze_text", None)
    if hook is None:
        print("cxbot.llm has no analyze_text(text): measuring the fallback only")
        return None

    def run(text: str) -> tuple[Iterable[str], str]:
        result = hook(text)
        return result.themes, result.sentiment

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
    counts = Counter(e.sentiment for part in parts for e in load(part))
    print(f"sentiments in the set: {dict(counts)}")


if __name__ == "__main__":
    main()
