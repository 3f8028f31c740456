"""Settings: production refuses placeholder secrets, development does not."""

from __future__ import annotations

from typing import Any

import pytest

from cxbot.settings import Settings

SECRET_FIELDS = (
    "api_token",
    "telegram_bot_token",
    "telegram_webhook_secret",
    "wechat_token",
    "wechat_app_secret",
)
REAL = "k7Qw-9fZr_2LmXc8VbN4tY6pHs1"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _no_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_FIELDS:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"CXBOT_{name.upper()}", raising=False)
    monkeypatch.delenv("CXBOT_ENVIRONMENT", raising=False)


@pytest.mark.parametrize("field", SECRET_FIELDS)
@pytest.mark.parametrize("placeholder", ["changeme", "CHANGEME", "secret", ""])
def test_production_refuses_a_placeholder_secret_and_names_the_field(
    field: str, placeholder: str
) -> None:
    with pytest.raises(ValueError, match=rf"{field} looks like a placeholder"):
        settings(environment="production", **{field: placeholder})


@pytest.mark.parametrize("field", SECRET_FIELDS)
def test_production_names_the_placeholder_among_real_secrets(field: str) -> None:
    values = {name: REAL for name in SECRET_FIELDS}
    values[field] = "changeme"
    with pytest.raises(ValueError, match=rf"{field} looks like a placeholder") as raised:
        settings(environment="production", **values)
    others = [name for name in SECRET_FIELDS if name != field]
    assert not any(f"{name} looks like" in str(raised.value) for name in others)


@pytest.mark.parametrize("field", SECRET_FIELDS)
def test_development_accepts_a_placeholder_secret(field: str) -> None:
    loaded = settings(environment="development", **{field: "changeme"})
    assert loaded.environment == "development"
    assert getattr(loaded, field).get_secret_value() == "changeme"


def test_development_is_the_default_and_accepts_placeholders() -> None:
    loaded = settings(**{name: "changeme" for name in SECRET_FIELDS})
    assert loaded.environment == "development"


def test_production_accepts_real_looking_secrets() -> None:
    loaded = settings(environment="production", **{name: REAL for name in SECRET_FIELDS})
    assert loaded.environment == "production"
    for name in SECRET_FIELDS:
        assert getattr(loaded, name).get_secret_value() == REAL


def test_production_without_secrets_is_fine() -> None:
    assert settings(environment="production").api_token is None


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize(
    "key", ["changeme", "secret", "a" * 40, "abcabcabcabcabcabcabcabcabcabcabc", ""]
)
def test_a_placeholder_secret_key_is_refused_everywhere(environment: str, key: str) -> None:
    with pytest.raises(ValueError, match="secret_key looks like a placeholder"):
        settings(environment=environment, secret_key=key)


def test_a_short_secret_key_is_refused_and_a_real_one_kept() -> None:
    with pytest.raises(ValueError, match="secret_key is too short"):
        settings(secret_key=REAL[:20])
    real = REAL + "-Jd83nQ"
    value = settings(environment="production", secret_key=real).secret_key
    assert value is not None and value.get_secret_value() == real


def test_closed_loop_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date, timedelta

    from cxbot.handoff import HandoffPolicy

    monkeypatch.setenv("CXBOT_SERVICE_HOURS", "Mon-Fri 09:00-18:00; Sat 10:00-16:00")
    monkeypatch.setenv("CXBOT_SERVICE_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("CXBOT_SERVICE_CLOSED_DATES", "2026-10-01, 2026-10-02")
    monkeypatch.setenv("CXBOT_SLA_HIGH", "2h")
    monkeypatch.setenv("CXBOT_ALERT_WORDS", "投诉, chargeback ,")
    monkeypatch.setenv("CXBOT_HANDOFF_UNATTENDED", "30m")
    policy = HandoffPolicy.from_settings(settings())
    assert policy.sla["high"] == timedelta(hours=2)
    assert policy.sla["urgent"] == timedelta(minutes=15)
    assert policy.hours.zone.key == "Asia/Shanghai"
    assert policy.hours.closed_dates == {date(2026, 10, 1), date(2026, 10, 2)}
    assert policy.alerts.words == ("投诉", "chargeback")
    assert policy.unattended == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"service_hours": "weekdays 9 to 6"}, "cannot read service hours"),
        ({"service_timezone": "Beijing"}, "unknown time zone 'Beijing'"),
        ({"service_closed_dates": "2026-13-01"}, "write dates as YYYY-MM-DD"),
        ({"sla_high": "an hour"}, "is not a duration"),
        ({"handoff_unattended": "0m"}, "must be more than 0"),
        ({"alert_priority": "asap"}, "alert_priority"),
    ],
)
def test_unreadable_closed_loop_settings_say_what_is_wrong(
    values: dict[str, str], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        settings(**values)
