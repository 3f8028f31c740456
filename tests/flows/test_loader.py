"""Loading flow files: the shipped flows load; every broken file is refused at file:line:col."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from flows.loader import FlowError, FlowLoadError, LoadedFlow, load_file, load_text
from flows.model import ChoiceStep, ScaleStep, scale_range
from flows.registry import BUILTIN_DIR, FlowRegistry
from flows.safe_yaml import MAX_BYTES

# Line numbers matter in these tests: BASE's lines are numbered in the comment on the right.
BASE = textwrap.dedent(
    """\
    id: demo
    name: {zh: 测试, en: Test}
    touchpoint: after_support
    journey_stage: usage
    languages: [zh, en]
    default_language: zh
    escalation:
      - when: score <= 6
        reason: detractor
    steps:
      - id: ask_score
        type: scale
        metric: nps
        save_as: score
        text: {zh: 打几分, en: Your score}
        next:
          - if: score <= 6
            goto: why_low
          - goto: thanks
      - id: why_low
        type: open
        text: {zh: 为什么, en: Why}
      - id: thanks
        type: end
        text: {zh: 谢谢, en: Thanks}
    """
)
#   1 id          8 when        15 text (scale)   22 text (open)
#   6 default    11 - id: ask   16 next           23 - id: thanks
#   7 escalation 13 metric      17 - if           20 - id: why_low


def variant(old: str, new: str, source: str = BASE) -> str:
    """BASE with one exact piece of text replaced (the piece must occur exactly once)."""
    assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times"
    return source.replace(old, new)


def refused(source: str) -> list[FlowError]:
    with pytest.raises(FlowLoadError) as info:
        load_text(source, file="x.yaml")
    assert str(info.value) == "\n".join(map(str, info.value.errors))
    return info.value.errors


def refused_once(source: str) -> str:
    """The one error a broken file gets, as the admin reads it."""
    errors = refused(source)
    assert len(errors) == 1, errors
    return str(errors[0])


# --- files that load ---------------------------------------------------------------------


def test_base_flow_loads_with_a_version_derived_from_its_text() -> None:
    loaded = load_text(BASE, file="x.yaml")
    assert isinstance(loaded, LoadedFlow)
    assert [step.id for step in loaded.flow.steps] == ["ask_score", "why_low", "thanks"]
    assert loaded.source == BASE and loaded.file == "x.yaml"
    assert load_text(BASE).version == loaded.version
    assert load_text(BASE + "# a comment\n").version != loaded.version


@pytest.mark.parametrize(
    ("name", "metric", "scale"),
    [("nps", "nps", (0, 10)), ("ces", "ces", (1, 7)), ("csat", "csat", (1, 5))],
)
def test_shipped_flows_load(name: str, metric: str, scale: tuple[int, int]) -> None:
    loaded = load_file(BUILTIN_DIR / f"{name}.yaml")
    flow = loaded.flow
    assert flow.id == name
    assert flow.languages == ["zh", "en"] and flow.default_language == "zh"
    first = flow.steps[0]
    assert isinstance(first, ScaleStep)
    assert first.metric == metric
    assert scale_range(first) == scale
    assert loaded.file == str(BUILTIN_DIR / f"{name}.yaml")


def test_shipped_flow_timeouts() -> None:
    timeouts = {
        name: load_file(BUILTIN_DIR / f"{name}.yaml").flow.timeout_seconds
        for name in ("nps", "ces", "csat")
    }
    assert timeouts == {"nps": 30 * 60, "ces": 2 * 3600, "csat": 86400}


def test_yaml_11_words_stay_strings() -> None:
    source = textwrap.dedent(
        """\
        id: yn
        name: Yes or no
        touchpoint: after_support
        journey_stage: usage
        languages: [en]
        default_language: en
        steps:
          - id: resolved
            type: choice
            text: Resolved?
            choices:
              - value: yes
                label: Yes
              - value: no
                label: No
              - value: off
                label: On
          - id: bye
            type: end
            text: Bye
        """
    )
    step = load_text(source, file="x.yaml").flow.steps[0]
    assert isinstance(step, ChoiceStep)
    assert [(c.value, c.label) for c in step.choices] == [
        ("yes", "Yes"),
        ("no", "No"),
        ("off", "On"),
    ]


def test_a_file_of_exactly_the_size_limit_loads() -> None:
    padding = MAX_BYTES - len(BASE.encode()) - 2
    source = BASE + "#" + "x" * padding + "\n"
    assert len(source.encode()) == MAX_BYTES
    assert load_text(source).flow.id == "demo"


# --- YAML that is refused before the models ----------------------------------------------


def test_yaml_syntax_error_points_at_the_bad_character() -> None:
    source = variant("touchpoint: after_support\n", 'touchpoint: "after_support\n')
    # the error is found at the end of the file; it points at the quote left open
    assert refused_once(source) == (
        "x.yaml:3:13: YAML syntax error: found unexpected end of stream "
        "(while scanning a quoted scalar)"
    )


def test_yaml_syntax_error_in_the_middle_of_a_file() -> None:
    source = variant("journey_stage: usage\n", "journey_stage: usage: loyalty\n")
    assert refused_once(source) == (
        "x.yaml:4:21: YAML syntax error: mapping values are not allowed here; put quotes "
        'around texts that contain ? : , [ ] { } or # (en: "Why?")'
    )


def test_tab_indentation_is_a_syntax_error_at_the_tab() -> None:
    source = variant("journey_stage: usage\n", "journey_stage: usage\n\tfoo: 1\n")
    assert refused_once(source) == (
        "x.yaml:5:1: YAML syntax error: found character '\\t' that cannot start any token "
        "(while scanning for the next token)"
    )


def test_duplicate_key_points_at_the_second_one() -> None:
    source = variant("touchpoint: after_support\n", "touchpoint: a\ntouchpoint: b\n")
    assert refused_once(source) == (
        "x.yaml:4:1: duplicate key 'touchpoint' (it already appears above)"
    )


def test_duplicate_key_inside_a_step() -> None:
    source = variant("    type: open\n", "    type: open\n    type: end\n")
    assert refused_once(source) == "x.yaml:22:5: duplicate key 'type' (it already appears above)"


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!foo", "!!str"])
def test_tags_are_refused_at_the_tag(tag: str) -> None:
    source = variant("touchpoint: after_support", f"touchpoint: {tag} after_support")
    assert refused_once(source) == "x.yaml:3:13: tags (!name) are not supported in flow files"


def test_anchor_and_alias_are_refused() -> None:
    source = variant("touchpoint: after_support", "touchpoint: &tp after_support\nx: *tp")
    assert refused_once(source) == (
        "x.yaml:3:13: anchors and aliases (&name, *name) are not supported in flow files"
    )


def test_billion_laughs_is_refused_quickly_without_expansion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    source = "\n".join(lines) + "\n"

    def must_not_compose(*args: object, **kwargs: object) -> None:
        raise AssertionError("the document was composed")

    monkeypatch.setattr(yaml, "compose", must_not_compose)
    began = time.perf_counter()
    message = refused_once(source)
    assert time.perf_counter() - began < 0.5
    assert message == (
        "x.yaml:1:4: anchors and aliases (&name, *name) are not supported in flow files"
    )


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "1:35"),  # the 33rd level opens at column 35
        ("a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n", "1:128"),
        ("a:\n" + "".join(" " * n + "- \n" for n in range(1, 400)), "33:33"),
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_deep_nesting_is_refused_instead_of_crashing(source: str, where: str) -> None:
    assert refused_once(source) == f"x.yaml:{where}: the file nests deeper than 32 levels"


def test_nesting_up_to_the_limit_is_read() -> None:
    source = BASE + "x: " + "[" * 31 + "]" * 31 + "\n"  # the top-level mapping is level 1
    assert refused_once(source) == "x.yaml:26:1: unknown key 'x'"


def test_file_over_256_kib_is_refused() -> None:
    source = BASE + "#" + "x" * MAX_BYTES + "\n"
    assert refused_once(source) == "x.yaml:1:1: file is larger than 256 KiB"


def test_size_limit_counts_bytes_not_characters() -> None:
    # 100k Chinese characters are 300k bytes in UTF-8
    source = BASE + "# " + "字" * 100_000 + "\n"
    assert len(source) < MAX_BYTES < len(source.encode())
    assert refused_once(source) == "x.yaml:1:1: file is larger than 256 KiB"


@pytest.mark.parametrize("source", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_refused(source: str) -> None:
    assert refused_once(source) == "x.yaml:1:1: the file is empty"


@pytest.mark.parametrize("source", ["- id: a\n- id: b\n", "just words\n", "42\n"])
def test_top_level_must_be_a_mapping(source: str) -> None:
    assert refused_once(source) == (
        "x.yaml:1:1: a flow file must be a mapping of keys (id, name, steps, ...)"
    )


def test_several_documents_are_refused_at_the_second() -> None:
    errors = refused(BASE + "---\nid: other\n")
    assert len(errors) == 1
    assert (errors[0].line, errors[0].column) == (26, 1)
    assert errors[0].message == (
        "YAML syntax error: but found another document (expected a single document in the stream)"
    )


def test_merge_keys_are_refused() -> None:
    source = variant("touchpoint: after_support\n", "touchpoint: after_support\n<<: {}\n")
    assert refused_once(source) == "x.yaml:4:1: merge keys (<<) are not supported"


# --- the shape of the flow ---------------------------------------------------------------


def test_unknown_key_suggests_the_right_one() -> None:
    source = variant("    next:\n      - if", "    nxet:\n      - if")
    assert refused_once(source) == "x.yaml:16:5: unknown key 'nxet'; did you mean 'next'?"


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    source = variant("default_language: zh\n", "default_langauge: zh\n")
    errors = refused(source)
    assert [str(e) for e in errors] == [
        "x.yaml:1:1: missing required key 'default_language'",
        "x.yaml:6:1: unknown key 'default_langauge'; did you mean 'default_language'?",
    ]


def test_a_real_key_in_the_wrong_step_kind_is_not_suggested_as_itself() -> None:
    source = variant("    metric: nps\n", "    metric: nps\n    optional: true\n")
    assert refused_once(source) == (
        "x.yaml:14:5: key 'optional' is not used in a 'scale' step; remove it"
    )


def test_step_without_type() -> None:
    source = variant("    type: open\n", "")
    assert refused_once(source) == (
        "x.yaml:20:5: each step needs a 'type': one of message, scale, choice, open, end, handoff"
    )


def test_unknown_step_type() -> None:
    source = variant("    type: open\n", "    type: question\n")
    assert refused_once(source) == (
        "x.yaml:20:5: unknown step type 'question'; "
        "use one of message, scale, choice, open, end, handoff"
    )


def test_step_id_with_capitals_is_refused_at_the_id() -> None:
    source = variant("goto: thanks", "goto: Thanks")
    assert refused_once(source) == (
        "x.yaml:19:9: 'Thanks' is not a valid step id: use lower-case letters, digits and _, "
        "starting with a letter"
    )


def test_too_short_range_says_what_is_missing() -> None:
    source = variant("    metric: nps\n", "    metric: ces\n    range: [1]\n")
    assert refused_once(source) == "x.yaml:14:5: 'range': item 2 is missing"


def test_timeout_below_a_minute_is_refused_without_pydantic_noise() -> None:
    source = variant("default_language: zh\n", "default_language: zh\ntimeout: 10s\n")
    assert refused_once(source) == "x.yaml:7:1: 'timeout': timeout must be at least 60s"


def test_bad_journey_stage_lists_the_choices() -> None:
    errors = refused(variant("journey_stage: usage", "journey_stage: use"))
    assert len(errors) == 1
    assert (errors[0].line, errors[0].column) == (4, 1)
    assert "'journey_stage': " in errors[0].message and "'loyalty'" in errors[0].message


# --- links between steps -----------------------------------------------------------------


def test_dangling_next_target() -> None:
    source = variant("goto: thanks", "goto: thank_you")
    assert refused_once(source) == (
        "x.yaml:19:9: 'next' points to 'thank_you', but no step has that id; did you mean 'thanks'?"
    )


@pytest.mark.parametrize(("typo", "meant"), [("thanks_", "thanks"), ("why_lo", "why_low")])
def test_a_mistyped_goto_suggests_the_step_meant(typo: str, meant: str) -> None:
    source = variant("goto: thanks", f"goto: {typo}")
    assert refused_once(source).endswith(f"no step has that id; did you mean '{meant}'?")


def test_a_mistyped_plain_next_suggests_the_step_meant() -> None:
    source = variant("    type: open\n", "    type: open\n    next: thank\n")
    assert str(refused(source)[0]) == (
        "x.yaml:22:5: 'next' points to 'thank', but no step has that id; did you mean 'thanks'?"
    )


def test_dangling_plain_next() -> None:
    source = variant("    type: open\n", "    type: open\n    next: goodbye\n")
    errors = refused(source)
    assert str(errors[0]) == (
        "x.yaml:22:5: 'next' points to 'goodbye', but no step has that id; "
        "steps: ask_score, why_low, thanks"
    )


def test_unreachable_step() -> None:
    source = variant("goto: why_low", "goto: thanks")
    assert refused_once(source) == (
        "x.yaml:20:5: step 'why_low' is unreachable: no step leads to it"
    )


def test_duplicate_step_ids() -> None:
    source = variant(
        "  - id: thanks\n    type: end\n    text: {zh: 谢谢, en: Thanks}\n",
        "  - id: thanks\n    type: end\n    text: {zh: 谢谢, en: Thanks}\n"
        "  - id: thanks\n    type: end\n    text: {zh: 再见, en: Bye}\n",
    )
    assert refused_once(source) == "x.yaml:26:5: step id 'thanks' is used twice; ids must be unique"


def test_conditional_next_whose_last_arm_has_an_if() -> None:
    source = variant("      - goto: thanks\n", "      - if: score > 6\n        goto: thanks\n")
    assert refused_once(source) == (
        "x.yaml:19:9: the last arm of 'next' needs no 'if': "
        "add a final '- goto: <step>' for answers no condition matches"
    )


def test_arm_without_if_before_the_last_one() -> None:
    source = variant(
        "      - if: score <= 6\n        goto: why_low\n",
        "      - goto: why_low\n      - if: score <= 6\n        goto: why_low\n",
    )
    messages = [str(e) for e in refused(source)]
    assert messages[0] == (
        "x.yaml:17:9: only the last arm may omit 'if'; arms below it would never be used"
    )


def test_message_only_loop_is_refused() -> None:
    source = variant(
        "  - id: why_low\n    type: open\n    text: {zh: 为什么, en: Why}\n",
        "  - id: why_low\n    type: message\n    text: {zh: 哦, en: Oh}\n    next: still\n"
        "  - id: still\n    type: message\n    text: {zh: 嗯, en: Hm}\n    next: why_low\n",
    )
    assert refused_once(source) == (
        "x.yaml:20:5: steps why_low -> still -> why_low form a loop of messages that never "
        "waits for an answer; add a question, an end or a handoff to it"
    )


def test_message_pointing_at_itself_is_refused() -> None:
    source = variant(
        "  - id: why_low\n    type: open\n    text: {zh: 为什么, en: Why}\n",
        "  - id: why_low\n    type: message\n    text: {zh: 哦, en: Oh}\n    next: why_low\n",
    )
    assert refused_once(source) == (
        "x.yaml:20:5: steps why_low -> why_low form a loop of messages that never "
        "waits for an answer; add a question, an end or a handoff to it"
    )


def test_a_loop_through_a_question_is_allowed() -> None:
    source = variant(
        "  - id: why_low\n    type: open\n    text: {zh: 为什么, en: Why}\n",
        "  - id: why_low\n    type: message\n    text: {zh: 哦, en: Oh}\n    next: ask_score\n",
    )
    assert load_text(source).flow.step("why_low").type == "message"


# --- scales and metrics ------------------------------------------------------------------


def test_scale_of_a_custom_metric_needs_a_range() -> None:
    source = variant("    metric: nps\n", "    metric: effort\n")
    assert refused_once(source) == (
        "x.yaml:11:5: a scale needs a range such as [1, 5] (only nps and csat have a fixed one)"
    )


def test_ces_needs_a_range() -> None:
    source = variant("    metric: nps\n", "    metric: ces\n")
    assert refused_once(source) == "x.yaml:11:5: metric 'ces' needs a range: [1, 7] or [1, 5]"


def test_nps_with_a_five_point_range_is_refused_at_the_range() -> None:
    source = variant("    metric: nps\n", "    metric: nps\n    range: [1, 5]\n")
    assert refused_once(source) == "x.yaml:14:5: metric 'nps' uses range [0, 10]"


def test_ces_five_point_variant_loads() -> None:
    source = variant("    metric: nps\n", "    metric: ces\n    range: [1, 5]\n")
    step = load_text(source).flow.steps[0]
    assert isinstance(step, ScaleStep)
    assert scale_range(step) == (1, 5)


def test_reversed_range_is_refused() -> None:
    source = variant("    metric: nps\n", "    metric: ces\n    range: [7, 1]\n")
    assert refused_once(source) == (
        "x.yaml:14:5: 'range': range must be [lowest, highest] with lowest < highest"
    )


# --- translations and texts --------------------------------------------------------------


def test_missing_translation_for_one_language() -> None:
    source = variant("text: {zh: 为什么, en: Why}", "text: {zh: 为什么}")
    assert refused_once(source) == "x.yaml:22:5: step 'why_low', text: missing translation for 'en'"


def test_empty_translation_counts_as_missing() -> None:
    source = variant("text: {zh: 为什么, en: Why}", 'text: {zh: 为什么, en: " "}')
    assert refused_once(source) == "x.yaml:22:5: step 'why_low', text: missing translation for 'en'"


def test_plain_string_in_a_bilingual_flow() -> None:
    source = variant("text: {zh: 为什么, en: Why}", "text: Why?")
    assert refused_once(source) == (
        "x.yaml:22:5: missing translation: write one text per language, e.g. {zh: ..., en: ...}"
    )


def test_plain_strings_are_fine_in_a_one_language_flow() -> None:
    source = textwrap.dedent(
        """\
        id: solo
        name: Solo
        touchpoint: after_support
        journey_stage: usage
        languages: [en]
        default_language: en
        steps:
          - id: why
            type: open
            text: Why?
        """
    )
    assert load_text(source).flow.languages == ["en"]


def test_language_key_not_in_languages_points_at_that_key() -> None:
    source = variant("text: {zh: 为什么, en: Why}", "text: {zh: 为什么, en: Why, fr: Pourquoi}")
    # "    text: {zh: 为什么, en: Why, " is 29 characters: fr starts at column 30
    assert (
        refused_once(source)
        == "x.yaml:22:30: language 'fr' is not in the flow's languages ['zh', 'en']"
    )


def test_default_language_not_in_languages() -> None:
    source = variant("default_language: zh", "default_language: ja")
    assert refused_once(source) == (
        "x.yaml:6:1: default_language 'ja' is not one of languages ['zh', 'en']"
    )


def test_unknown_variable_in_a_text() -> None:
    source = variant("text: {zh: 为什么, en: Why}", 'text: {zh: "为什么", en: "Why, {nmae}"}')
    assert refused_once(source) == (
        "x.yaml:22:5: unknown variable '{nmae}'; known: channel, customer_name, language, "
        "score, why_low"
    )


def test_known_variables_and_escaped_braces_load() -> None:
    source = variant(
        "text: {zh: 为什么, en: Why}",
        'text: {zh: "{score} 分，为什么", en: "Why {score} {{not a variable}}"}',
    )
    assert load_text(source).flow.id == "demo"


# --- conditions --------------------------------------------------------------------------


def test_condition_with_single_equals() -> None:
    source = variant("- if: score <= 6", "- if: score = 6")
    assert refused_once(source) == (
        "x.yaml:17:9: condition 'score = 6' is not valid: invalid syntax (compare with ==, not =)"
    )


def test_condition_with_unknown_name() -> None:
    source = variant("- if: score <= 6", "- if: scroe <= 6")
    assert refused_once(source) == (
        "x.yaml:17:9: condition 'scroe <= 6' uses unknown name 'scroe'; "
        "known names: channel, customer_name, language, score, why_low"
    )


def test_condition_calling_a_function_is_refused() -> None:
    source = variant("- if: score <= 6", "- if: __import__('os')")
    assert refused_once(source) == (
        "x.yaml:17:9: condition '__import__('os')' uses Call, which is not allowed; "
        "use comparisons (<, <=, ==, !=, in), and, or, not, numbers and quoted words"
    )


def test_condition_with_attribute_access_is_refused() -> None:
    source = variant("- if: score <= 6", "- if: score.__class__ == 1")
    message = refused_once(source)
    assert message.startswith("x.yaml:17:9: condition 'score.__class__ == 1' uses Attribute,")


def test_escalation_condition_is_checked_too() -> None:
    source = variant("  - when: score <= 6", "  - when: nps_score <= 6")
    assert refused_once(source) == (
        "x.yaml:8:5: condition 'nps_score <= 6' uses unknown name 'nps_score'; "
        "known names: channel, customer_name, language, score, why_low"
    )


def test_several_problems_are_all_reported_in_file_order() -> None:
    source = variant("default_language: zh", "default_language: ja")
    source = variant("text: {zh: 为什么, en: Why}", "text: {zh: 为什么}", source)
    source = variant("- if: score <= 6", "- if: score = 6", source)
    assert [(e.line, e.column) for e in refused(source)] == [(6, 1), (17, 9), (22, 5)]


# --- files -------------------------------------------------------------------------------


def test_load_file_reports_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(FlowLoadError) as info:
        load_file(missing)
    assert str(info.value).startswith(f"{missing}:1:1: cannot read file: ")

    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"id: caf\xe9\n")
    with pytest.raises(FlowLoadError) as info:
        load_file(latin)
    assert str(info.value).startswith(f"{latin}:1:1: not UTF-8 text")


# --- the registry ------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    """Write and move the mtime on, so the edit is seen even on a coarse-clock filesystem."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_registry_keeps_the_running_version_while_a_file_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    _write(path, BASE)
    registry = FlowRegistry([tmp_path])
    assert registry.refresh() == []
    first = registry.current("demo")
    assert first is not None and first.source == BASE

    _write(path, variant("goto: thanks", "goto: thank_you"))
    errors = registry.refresh()
    assert [str(e) for e in errors] == [
        f"{path}:19:9: 'next' points to 'thank_you', but no step has that id; "
        "did you mean 'thanks'?"
    ]
    assert registry.current("demo") is first

    fixed = variant("{zh: 谢谢, en: Thanks}", "{zh: 谢谢您, en: Thank you}")
    _write(path, fixed)
    assert registry.refresh() == []
    assert registry.errors == {}
    second = registry.current("demo")
    assert second is not None and second.source == fixed
    assert second.version != first.version
    assert registry.version("demo", first.version) is first
    assert registry.version("demo", second.version) is second


def test_registry_sees_a_same_size_edit(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(BASE, encoding="utf-8")
    registry = FlowRegistry([tmp_path])
    registry.refresh()
    stat = path.stat()
    edited = variant("Thanks}", "Thank!}")  # same length
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # one nanosecond later
    registry.refresh()
    current = registry.current("demo")
    assert current is not None and current.source == edited


def test_registry_does_not_reload_an_unchanged_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    _write(path, BASE)
    registry = FlowRegistry([tmp_path])
    registry.refresh()
    first = registry.current("demo")
    registry.refresh()
    assert registry.current("demo") is first


def test_registry_restores_an_old_version_from_its_source(tmp_path: Path) -> None:
    registry = FlowRegistry([tmp_path])
    old = registry.add_source("demo", "v-old", BASE)
    assert registry.version("demo", old.version) is old
    assert registry.current("demo") is None  # an old version is never made live


def test_registry_over_the_builtin_flows() -> None:
    registry = FlowRegistry([BUILTIN_DIR])
    assert registry.refresh() == []
    assert [loaded.flow.id for loaded in registry.all()] == ["ces", "csat", "nps"]
    triggered = registry.triggered_by("/feedback")
    assert triggered is not None and triggered.flow.id == "nps"
    triggered = registry.triggered_by("Effort")
    assert triggered is not None and triggered.flow.id == "ces"
    assert registry.triggered_by("hello") is None


# --- conditions compare answers with the right kind of value --------------------------------

CHOICE_FLOW = variant(
    "  - id: why_low\n    type: open\n    text: {zh: 为什么, en: Why}\n",
    "  - id: why_low\n    type: choice\n    save_as: problem\n"
    "    text: {zh: 为什么, en: Why}\n"
    "    choices:\n"
    "      - {value: late, label: {zh: 慢, en: Late}}\n"
    "      - {value: rude, label: {zh: 态度, en: Rude}}\n"
    "    next:\n"
    '      - if: problem == "late"\n'
    "        goto: thanks\n"
    "      - goto: thanks\n",
)


def test_a_score_compared_with_a_word_is_refused() -> None:
    source = variant("      - if: score <= 6\n", '      - if: score > "5"\n')
    assert refused_once(source) == (
        "x.yaml:17:9: condition 'score > \"5\"': 'score' is a score, so compare it with a "
        "number (e.g. score <= 6), not '5'"
    )


def test_a_choice_compared_with_a_value_it_cannot_have_is_refused() -> None:
    assert load_text(CHOICE_FLOW, file="x.yaml").flow.id == "demo"
    source = variant('if: problem == "late"', 'if: problem in ["late", "lat"]', CHOICE_FLOW)
    assert refused_once(source) == (
        "x.yaml:28:9: condition 'problem in [\"late\", \"lat\"]': 'problem' is one of late, "
        "rude; 'lat' is not one of them"
    )


def test_a_choice_cannot_be_ordered() -> None:
    source = variant('if: problem == "late"', 'if: problem > "late"', CHOICE_FLOW)
    assert "'problem' is a choice (late, rude); compare it with ==, != or in" in refused_once(
        source
    )


def test_two_choices_with_one_value_are_refused() -> None:
    source = variant("{value: rude,", "{value: late,", CHOICE_FLOW)
    assert refused_once(source) == (
        "x.yaml:26:10: step 'why_low': two choices have the value 'late'; each needs its own"
    )


def test_the_single_equals_hint_is_not_given_for_a_comparison_left_open() -> None:
    source = variant("      - if: score <= 6\n", "      - if: score <=\n")
    message = refused_once(source)
    assert "is not valid" in message and "compare with ==" not in message


def test_a_deleted_flow_file_stops_new_interviews_but_keeps_its_versions(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(BASE, encoding="utf-8")
    registry = FlowRegistry([tmp_path])
    registry.refresh()
    loaded = registry.current("demo")
    assert loaded is not None

    path.unlink()
    assert registry.refresh() == []
    assert registry.current("demo") is None
    assert registry.version("demo", loaded.version) is loaded  # pinned conversations go on


def test_your_copy_of_a_shipped_flow_wins_without_an_error(tmp_path: Path) -> None:
    own = tmp_path / "aaa-sorts-first"  # a folder that sorts before flows/builtin
    own.mkdir()
    text = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")
    (own / "nps.yaml").write_text(text.replace("Hi! How likely", "Hello! How likely"), "utf-8")
    registry = FlowRegistry([BUILTIN_DIR, own])
    assert registry.refresh() == []
    loaded = registry.current("nps")
    assert loaded is not None and loaded.file == str(own / "nps.yaml")
    assert "Hello! How likely" in loaded.source


# --- the quiet period --------------------------------------------------------------------


def test_quiet_days_default_to_thirty() -> None:
    assert load_text(BASE).flow.quiet_days == 30


@pytest.mark.parametrize("days", [0, 1, 90, 3650])
def test_quiet_days_within_ten_years_load(days: int) -> None:
    source = variant("default_language: zh\n", f"default_language: zh\nquiet_days: {days}\n")
    assert load_text(source).flow.quiet_days == days


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "'quiet_days': Input should be greater than or equal to 0"),
        ("3651", "'quiet_days': Input should be less than or equal to 3650"),
        ("soon", "'quiet_days': Input should be a valid integer"),
        ("1.5", "'quiet_days': Input should be a valid integer"),
        ("true", "'quiet_days': Input should be a valid integer"),
        ('"30"', "'quiet_days': Input should be a valid integer"),
    ],
)
def test_quiet_days_out_of_range_are_refused_at_the_key(value: str, message: str) -> None:
    source = variant("default_language: zh\n", f"default_language: zh\nquiet_days: {value}\n")
    error = refused_once(source)
    assert error.startswith("x.yaml:7:1: ") and message in error


@pytest.mark.parametrize(
    ("number", "column"),
    [
        ("9" * 5000, 13),  # Python refuses to read an int of more than 4300 digits
        (":".join(["59"] * 5000) + ".5", 13),  # a YAML 1.1 base-60 float: too large a float
        (":".join(["59"] * 30000), 13),  # a base-60 int: slow to compute, and huge
        ("0x" + "f" * 5000, 13),
    ],
    ids=["decimal", "base-60-float", "base-60-int", "hex"],
)
def test_a_huge_number_is_refused_at_its_place_instead_of_crashing(
    number: str, column: int
) -> None:
    source = variant("touchpoint: after_support", f"touchpoint: {number}")
    began = time.perf_counter()
    assert refused_once(source) == (
        f"x.yaml:3:{column}: a number this long ({len(number)} characters) is not supported; "
        "put quotes around it if it is a text"
    )
    assert time.perf_counter() - began < 0.5
