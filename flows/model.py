"""The flow language: the models an admin's YAML file is validated against.

Every field here is something a CX manager writes, so every field has a docstring;
`docs/flows.md` and the generated JSON Schema are built from the same models.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

STEP_ID = r"^[a-z][a-z0-9_]{0,29}$"
LANGUAGE = r"^[a-z]{2}(-[A-Za-z]{2,4})?$"
DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")

Localized = str | dict[str, str]
"""A text: one string, or one string per language (`{zh: 您好, en: Hello}`)."""

Priority = Literal["low", "normal", "high", "urgent"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def parse_duration(value: str | int) -> int:
    """Seconds in a duration such as `30m`, `2h`, `1d` or a bare number of seconds."""
    if isinstance(value, int):
        return value
    match = DURATION.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a duration; write e.g. 90s, 30m, 2h or 1d")
    number, unit = match.groups()
    return int(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


class Branch(_Model):
    """One arm of a conditional `next`: go to `goto` when `if` holds."""

    if_: str | None = Field(default=None, alias="if")
    """A condition on earlier answers and variables, e.g. `score <= 6`. Omit it on the last arm."""
    goto: str = Field(pattern=STEP_ID)
    """The id of the step to go to."""


Next = Annotated[str, Field(pattern=STEP_ID)] | list[Branch]


class _Step(_Model):
    id: str = Field(pattern=STEP_ID)
    """A readable, unique id such as `ask_score` or `why_low`."""
    text: Localized
    """What the bot says, per language. `{variables}` are filled in."""


class _Continues(_Step):
    next: Next | None = None
    """Where to go afterwards: a step id, or a list of `{if, goto}` arms (the last without
    `if`). Omitted: the step below this one."""


class MessageStep(_Continues):
    """The bot says something and moves on without waiting."""

    type: Literal["message"]
    """Always `message` for this kind of step."""


class ScaleLabels(_Model):
    """The words at both ends of a scale, shown with the numbers."""

    min: Localized
    """The label of the lowest score, e.g. `{zh: 完全不可能, en: Not at all likely}`."""
    max: Localized
    """The label of the highest score, e.g. `{zh: 非常可能, en: Extremely likely}`."""


class ScaleStep(_Continues):
    """A score question (NPS 0-10, CES 1-7 or 1-5, CSAT 1-5, or any range)."""

    type: Literal["scale"]
    """Always `scale` for this kind of step."""
    metric: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$")
    """The metric the answer is recorded as: `nps`, `ces`, `csat`, or your own name.
    `nps` is always 0-10 and `csat` 1-5; `ces` must say its range (1-7 or 1-5)."""
    range: tuple[int, int] | None = None
    """The lowest and highest score, e.g. `[1, 7]`. Required unless the metric fixes it."""
    labels: ScaleLabels | None = None
    """Words for the two ends of the scale."""
    save_as: str | None = Field(default=None, pattern=STEP_ID)
    """The variable name the score is kept under for conditions and texts (default: the step id)."""
    reask: Localized | None = None
    """What to say when the answer is not a score (default: a built-in bilingual hint)."""

    @field_validator("range")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError("range must be [lowest, highest] with lowest < highest")
        if value is not None and value[1] - value[0] > 20:
            raise ValueError("a scale may have at most 21 points")
        return value


class Choice(_Model):
    """One option of a choice question."""

    value: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    """What is recorded when this option is picked (short, no spaces)."""
    label: Localized
    """What the customer sees on the button."""


class ChoiceStep(_Continues):
    """A single-choice question shown as buttons (numbered text where a channel has none)."""

    type: Literal["choice"]
    """Always `choice` for this kind of step."""
    choices: list[Choice] = Field(min_length=2, max_length=10)
    """The options, 2 to 10."""
    save_as: str | None = Field(default=None, pattern=STEP_ID)
    """The variable name the choice is kept under (default: the step id)."""
    reask: Localized | None = None
    """What to say when the answer matches no option (default: a built-in hint)."""


class Probe(_Model):
    """One follow-up question after an answer too vague to act on ("不好", "bad", "meh")."""

    text: Localized
    """The follow-up asked when no model is configured, or when the model is slow or its
    question is refused, e.g. `{zh: 能具体说说吗？, en: Could you tell us more?}`."""
    generate: bool = True
    """Let the language model word the follow-up from the question, the score and the answer,
    in the customer's language (when one is configured); false: always ask `text`."""
    instructions: str | None = Field(default=None, max_length=500)
    """Extra guidance for the model, e.g. `Ask whether it was the delivery or the product.`"""
    limit: int = Field(default=1, ge=1, le=2)
    """How many follow-ups this question may get in one interview (1 or 2)."""
    max_chars: int = Field(default=120, ge=20, le=300)
    """The longest generated follow-up; a longer one is refused and `text` is asked."""


class OpenStep(_Continues):
    """An open question: any text is an answer."""

    type: Literal["open"]
    """Always `open` for this kind of step."""
    save_as: str | None = Field(default=None, pattern=STEP_ID)
    """The variable name the text is kept under (default: the step id)."""
    optional: bool = False
    """When true the customer may answer `skip` / `跳过`."""
    probe: Probe | None = None
    """Ask once more when the answer is too vague to act on (see `Probe`); omitted: never."""


class EndStep(_Step):
    """The interview ends here with a closing message."""

    type: Literal["end"]
    """Always `end` for this kind of step."""


class HandoffStep(_Step):
    """The interview hands the customer to a human agent; the bot stays quiet afterwards."""

    type: Literal["handoff"]
    """Always `handoff` for this kind of step."""
    reason: str = Field(default="handoff-step", pattern=r"^[a-z][a-z0-9_-]{0,40}$")
    """Why a person is needed, e.g. `detractor`; shown in the agents' queue."""
    priority: Priority = "normal"
    """How soon an agent must answer: low, normal, high or urgent."""


Step = Annotated[
    MessageStep | ScaleStep | ChoiceStep | OpenStep | EndStep | HandoffStep,
    Field(discriminator="type"),
]


class Start(_Model):
    """How an interview starts."""

    keywords: list[str] = []
    """Messages that start it, matched whole and case-insensitively, e.g. `[评价, feedback]`."""
    commands: list[Annotated[str, Field(pattern=r"^/[a-z0-9_]{1,32}$")]] = []
    """Chat commands that start it, e.g. `/feedback`."""
    api: bool = True
    """Whether integrations may start it through the API (after a ticket closes, ...)."""


class EscalationRule(_Model):
    """When an answer should bring in a human agent."""

    when: str
    """A condition on the answers, e.g. `score <= 6`."""
    reason: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,40}$")
    """A short name of why, e.g. `detractor` or `high-effort`."""
    priority: Priority = "normal"
    """How soon an agent must answer: low, normal, high or urgent."""


class Flow(_Model):
    """One interview, as written in one YAML file."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    """The flow's id, used in URLs and commands, e.g. `nps`."""
    name: Localized
    """A human name per language."""
    description: Localized | None = None
    """What the interview is for."""
    touchpoint: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    """Where in the journey it is asked, e.g. `after_support`, `after_delivery`."""
    journey_stage: Literal["awareness", "consideration", "purchase", "usage", "loyalty"]
    """The journey stage reports slice by."""
    languages: list[Annotated[str, Field(pattern=LANGUAGE)]] = Field(min_length=1)
    """The languages every text is written in, e.g. `[zh, en]`."""
    default_language: str = Field(pattern=LANGUAGE)
    """The language used when nothing tells the customer's."""
    variables: dict[str, Localized] = {}
    """Values texts can use as `{name}`, e.g. `brand: {zh: 示例公司, en: Example Co}`."""
    start: Start = Start()
    """How the interview starts."""
    timeout: str | int = "30m"
    """How long to wait for a reply before closing the interview as abandoned (e.g. `30m`)."""
    quiet_days: int = Field(default=30, ge=0, le=3650, strict=True)
    """Days after a customer completes this interview during which it is not started
    for them again (a quiet period against over-surveying); 0 means none. 0 to 3650."""
    handoff_keywords: list[str] | None = None
    """Messages that ask for a human at any point (default: 人工, 转人工, human, agent, ...)."""
    escalation: list[EscalationRule] = []
    """Rules that escalate to an agent after an answer, e.g. any NPS detractor."""
    steps: list[Step] = Field(min_length=1)
    """The steps, asked from the first one down unless a `next` says otherwise."""
    themes: dict[str, dict[str, Any]] = {}
    """Theme words for this flow's open answers, on top of the app's theme book: `delivery:
    {words: [闪送]}` adds words to a theme, `warranty: {label_zh: 保修, label_en: Warranty,
    words: [保修, warranty]}` adds a theme (the shape of CXBOT_THEMES_FILE)."""

    @field_validator("themes")
    @classmethod
    def _themes(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from flows.analysis.themes import default_book  # the analyzer's own rules

        default_book().extended(value)  # ThemeBookError (a ValueError) names key and field
        return value

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: str | int) -> str | int:
        seconds = parse_duration(value)
        if seconds < 60:
            raise ValueError("timeout must be at least 60s")
        return value

    @property
    def timeout_seconds(self) -> int:
        """The reply timeout in seconds."""
        return parse_duration(self.timeout)

    def step(self, step_id: str) -> Step:
        """The step with this id (KeyError when none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


STEP_KINDS: tuple[type[BaseModel], ...] = (
    MessageStep,
    ScaleStep,
    ChoiceStep,
    OpenStep,
    EndStep,
    HandoffStep,
)

FIXED_METRIC_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5)}
ALLOWED_METRIC_RANGES: dict[str, set[tuple[int, int]]] = {
    "nps": {(0, 10)},
    "csat": {(1, 5)},
    "ces": {(1, 7), (1, 5)},
}


def scale_range(step: ScaleStep) -> tuple[int, int]:
    """The effective range of a scale step (validated to exist at load time)."""
    if step.range is not None:
        return step.range
    if step.metric in FIXED_METRIC_RANGES:
        return FIXED_METRIC_RANGES[step.metric]
    raise ValueError(f"step {step.id} has no range")


def answer_name(step: ScaleStep | ChoiceStep | OpenStep) -> str:
    """The variable an answer is stored under."""
    return step.save_as or step.id
