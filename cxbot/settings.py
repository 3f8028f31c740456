"""All configuration in one place, read from the environment (and a `.env` file)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cxbot.service_hours import ServiceHours
from flows.matching import DEFAULT_ALERT_WORDS
from flows.model import parse_duration
from flows.registry import BUILTIN_DIR

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "password", "test", "xxx"}


class Settings(BaseSettings):
    """cxbot's settings; each field is an environment variable (see docs/settings.md)."""

    model_config = SettingsConfigDict(
        env_prefix="CXBOT_", env_file=".env", extra="ignore", use_attribute_docstrings=True
    )

    environment: Literal["development", "production"] = "development"
    """`production` refuses placeholder secrets."""
    database_url: str = "sqlite+aiosqlite:///./cxbot.db"
    """A SQLite or PostgreSQL URL (`sqlite:///cxbot.db`, `postgresql://user:pw@host/db`);
    cxbot picks the async driver. SQLite runs in WAL mode."""
    database_timeout_seconds: float = Field(default=2.0, gt=0, le=60.0)
    """The longest one wait on the database may last before the request gets a 503: SQLite's
    busy timeout, PostgreSQL's connect, statement and lock timeouts, the wait for a pooled
    connection and the in-process queue of writers."""
    demo_database_url: str = "sqlite+aiosqlite:///./cxbot-demo.db"
    """Where `cxbot demo` keeps its sample data; never the `database_url` database."""
    flows_dir: Path | None = None
    """A folder of your own flow files, loaded after the shipped ones (same id: yours wins)."""
    include_builtin_flows: bool = True
    """Load the shipped nps, ces and csat flows."""
    auto_migrate: bool = True
    """Apply database migrations when the server starts."""
    flow_reload_seconds: float = 2.0
    """How often changed flow files are picked up (0 turns it off)."""
    flow_poll_seconds: float = Field(default=2.0, ge=0, le=3600.0)
    """How often each process looks for flows published by another process (the editor,
    `cxbot flows publish`, another server); 0 turns it off."""
    send_lease_seconds: float = Field(default=15.0, ge=1.0, le=600.0)
    """How long a claim on an outbound message holds without renewal (a live sender renews
    it; a dead one's messages are sent by another process after this)."""
    idle_sweep_seconds: float = Field(default=60.0, gt=0, le=3600.0)
    """How often each process closes interviews whose reply timeout passed (and tells
    customers whose case nobody picked up in time)."""
    delivery_sweep_seconds: float = Field(default=2.0, gt=0, le=600.0)
    """How often each process looks for outbound messages that are due."""
    desk_poll_seconds: float = Field(default=1.0, gt=0, le=60.0)
    """How often an open case page's live stream asks the database for news."""
    host: str = "127.0.0.1"
    """Address `cxbot serve` listens on."""
    port: int = 8000
    """Port `cxbot serve` listens on."""
    public_url: str | None = None
    """The URL customers and platforms reach this server at (for webhooks)."""
    max_body_bytes: int = 1_000_000
    """Requests larger than this are refused with 413."""
    api_token: SecretStr | None = None
    """A bearer token accepted on every /api/v1 route as an admin token (kept for existing
    integrations; stored tokens from `cxbot tokens create` replace it)."""
    secret_key: SecretStr | None = None
    """Signs the web chat's visitor cookies (at least 32 characters). Unset: a random key
    made once and stored in the database, shared by every app process."""
    admin_session_hours: float = Field(default=12.0, gt=0, le=720)
    """How long a sign-in to the admin pages lasts (then the person signs in again)."""
    admin_secure_cookies: bool = False
    """Mark the admin session cookie Secure on every response, not only on https requests
    (for a TLS proxy that does not pass X-Forwarded-Proto)."""
    frame_ancestors: str = "*"
    """Who may show /chat/* pages in an iframe: a CSP `frame-ancestors` source list such as
    `'self' https://www.example.com`, or `'none'`. Other pages are never framed."""
    api_docs: bool = False
    """Serve the interactive API docs at /docs and /redoc (their scripts come from a CDN)."""
    metrics: bool = False
    """Serve Prometheus metrics at /metrics (`on`/`off`; see docs/operations.md)."""
    metrics_token: SecretStr | None = None
    """The bearer token a scrape of /metrics must send; unset: anyone who reaches the server
    may read /metrics."""

    alert_words: str = ",".join(DEFAULT_ALERT_WORDS)
    """Words that bring in a person at once wherever they appear in a typed message during
    an interview, separated by commas (empty: none). Chinese words match anywhere, others as
    whole words (see docs/admin.md, Closed loop)."""
    alert_priority: Literal["low", "normal", "high", "urgent"] = "urgent"
    """The priority of a case opened by an alert word."""
    sla_urgent: str = "15m"
    """How soon an agent must answer an `urgent` case, in service hours (`15m`, `1h`, `2d`)."""
    sla_high: str = "1h"
    """How soon an agent must answer a `high` case, in service hours."""
    sla_normal: str = "4h"
    """How soon an agent must answer a `normal` case, in service hours."""
    sla_low: str = "24h"
    """How soon an agent must answer a `low` case, in service hours."""
    service_hours: str = "24/7"
    """When agents work, e.g. `Mon-Fri 09:00-18:00; Sat 10:00-16:00` (`24/7`: always)."""
    service_timezone: str = "UTC"
    """The time zone of `service_hours`, e.g. `Asia/Shanghai`."""
    service_closed_dates: str = ""
    """Dates without service (holidays), comma-separated: `2026-10-01,2026-10-02`."""
    handoff_unattended: str = "1h"
    """Service time after which a customer whose case no agent has answered is told so (never
    before the case's deadline) and may start over."""

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "CXBOT_OPENAI_API_KEY")
    )
    """The key of an OpenAI-compatible endpoint (OpenAI, Azure OpenAI, DeepSeek, Qwen, ...);
    a self-hosted server (vLLM, Ollama, llama.cpp) may need none. With `llm_model` and a key or
    a base URL the model analyzes answers, summarizes cases and writes probes; without them
    the offline fallback does."""
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "CXBOT_OPENAI_BASE_URL")
    )
    """The endpoint's base URL, e.g. `https://api.deepseek.com/v1` or
    `http://127.0.0.1:11434/v1` (unset: OpenAI's)."""
    llm_model: str | None = None
    """The model's name at the endpoint (`gpt-4o-mini`, `deepseek-chat`, `qwen-plus`, ...);
    unset: no model, the offline fallback answers."""
    llm_timeout_seconds: float = Field(default=10.0, gt=0, le=120.0)
    """How long one call to the model may take before it is retried or given up."""
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a failed call (429, 5xx, timeouts), with exponential backoff."""
    llm_daily_tokens: int = Field(default=200_000, ge=0)
    """The most tokens the model may use per UTC day, counted across every process; past it
    the fallback answers until midnight UTC."""
    llm_probe_seconds: float = Field(default=2.5, gt=0, le=30.0)
    """How long a customer's reply may wait for a generated follow-up question; past it the
    step's static follow-up is asked (keep it under WeChat's 5-second window)."""
    analysis_poll_seconds: float = Field(default=5.0, gt=0, le=3600.0)
    """How often the analysis worker looks for new answers and cases to analyze."""
    themes_file: Path | None = None
    """A YAML file of words admins add to the themes, and themes of their own (the shape
    `cxbot analyze-text --themes` reads); read when the process starts."""
    analysis_in_app: bool = True
    """Whether `cxbot serve` works the analysis queue itself (turn off when `cxbot worker`
    runs instead)."""

    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "CXBOT_TELEGRAM_BOT_TOKEN"),
    )
    """The token from @BotFather; without it the Telegram channel is not mounted."""
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "CXBOT_TELEGRAM_WEBHOOK_SECRET"),
    )
    """Sent by Telegram in X-Telegram-Bot-Api-Secret-Token; 1-256 of A-Z a-z 0-9 _ -."""
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot",
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "CXBOT_TELEGRAM_API_BASE_URL"),
    )
    """The Bot API server (a self-hosted one, or a test fake)."""
    telegram_polling: bool = False
    """Fetch updates by long polling instead of a webhook (`cxbot serve --telegram-polling`)."""
    workers: int = Field(default=1, ge=1, le=64)
    """How many app processes send for the same bot (`cxbot serve --workers N` sets it):
    each sends at its share of the platform's overall rate limit."""

    wechat_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WECHAT_TOKEN", "CXBOT_WECHAT_TOKEN")
    )
    """The Token of the Official Account's server settings; without it WeChat is not mounted."""
    wechat_app_id: str | None = Field(
        default=None, validation_alias=AliasChoices("WECHAT_APP_ID", "CXBOT_WECHAT_APP_ID")
    )
    """The AppID (开发者ID)."""
    wechat_app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WECHAT_APP_SECRET", "CXBOT_WECHAT_APP_SECRET")
    )
    """The AppSecret, for the customer-service message API."""
    wechat_encoding_aes_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("WECHAT_ENCODING_AES_KEY", "CXBOT_WECHAT_ENCODING_AES_KEY"),
    )
    """The EncodingAESKey; when set, encrypted bodies are accepted and safe mode is the default."""
    wechat_api_base_url: str = Field(
        default="https://api.weixin.qq.com",
        validation_alias=AliasChoices("WECHAT_API_BASE_URL", "CXBOT_WECHAT_API_BASE_URL"),
    )
    """The WeChat API server (a test fake in tests)."""
    wechat_reply_budget_seconds: float = 4.0
    """How long a WeChat passive reply may take; slower answers go out as customer-service
    messages instead (WeChat gives up after 5 seconds and retries)."""
    wechat_mode: Literal["plaintext", "compatible", "safe"] | None = None
    """The account's 消息加解密方式: `safe` refuses plaintext POSTs, `compatible` accepts both,
    `plaintext` needs no EncodingAESKey. Default: `safe` when an EncodingAESKey is set."""

    notify_telegram_chat_id: str | None = None
    """The Telegram group (chat id, e.g. `-1001234567890`) told of new and overdue cases,
    through the same bot; unset: no Telegram notices."""
    notify_wecom_webhook_url: SecretStr | None = None
    """A WeCom (企业微信) group robot's webhook URL
    (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`) told of new and overdue
    cases; unset: no WeCom notices."""
    notify_language: Literal["zh", "en"] = "zh"
    """The language of the notices to the agents' Telegram group and WeCom robot."""
    notify_sweep_seconds: float = Field(default=5.0, gt=0, le=600.0)
    """How often each process looks for new and overdue cases and new events to announce,
    and makes the notices and webhook deliveries that are due."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60.0)
    """How long one webhook delivery or notice may take before it counts as failed."""
    webhook_retry_seconds: float = Field(default=30.0, gt=0, le=3600.0)
    """The wait after a failed delivery; it doubles with each failure, up to an hour."""
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries per webhook delivery or notice before it is given up (marked failed)."""

    @property
    def flow_paths(self) -> list[Path]:
        """Folders and files flows are loaded from, in order."""
        paths = [BUILTIN_DIR] if self.include_builtin_flows else []
        if self.flows_dir is not None:
            paths.append(self.flows_dir)
        return paths

    @property
    def closed_dates(self) -> list[date]:
        """`service_closed_dates` as dates."""
        parts = (d.strip() for d in self.service_closed_dates.split(","))
        return [date.fromisoformat(d) for d in parts if d]

    @property
    def alert_word_list(self) -> list[str]:
        """`alert_words` as a list."""
        return [w.strip() for w in self.alert_words.split(",") if w.strip()]

    def duration(self, name: str) -> timedelta:
        """A duration setting (`sla_high`, `handoff_unattended`) as a timedelta."""
        return timedelta(seconds=parse_duration(str(getattr(self, name)).strip()))

    @field_validator("sla_urgent", "sla_high", "sla_normal", "sla_low", "handoff_unattended")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        if parse_duration(value.strip()) <= 0:
            raise ValueError("a duration must be more than 0, e.g. 15m, 1h or 2d")
        return value.strip()

    @model_validator(mode="after")
    def _readable_service_hours(self) -> Settings:
        try:
            closed = self.closed_dates
        except ValueError as exc:
            raise ValueError(
                f"service_closed_dates: write dates as YYYY-MM-DD, separated by commas ({exc})"
            ) from exc
        ServiceHours.parse(self.service_hours, self.service_timezone, closed)
        return self

    @field_validator("frame_ancestors")
    @classmethod
    def _one_source_list(cls, value: str) -> str:
        if not value.strip() or any(c in value for c in ";,\r\n"):
            raise ValueError(
                "frame_ancestors is one CSP source list separated by spaces, "
                "e.g. \"'self' https://www.example.com\" or \"'none'\""
            )
        return " ".join(value.split())

    @field_validator("notify_telegram_chat_id")
    @classmethod
    def _chat_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().lstrip("-").isdigit():
            raise ValueError("notify_telegram_chat_id is a Telegram chat id: digits, often -100…")
        return None if value is None else value.strip()

    @field_validator("secret_key")
    @classmethod
    def _strong_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        key = value.get_secret_value()
        if key.lower() in PLACEHOLDER_SECRETS or len(set(key)) < 8:
            raise ValueError(
                "secret_key looks like a placeholder; leave it unset or use "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        if len(key) < 32:
            raise ValueError("secret_key is too short: use at least 32 random characters")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        if self.environment != "production":
            return self
        for name in (
            "api_token",
            "metrics_token",
            "telegram_bot_token",
            "telegram_webhook_secret",
            "openai_api_key",
            "wechat_token",
            "wechat_app_secret",
        ):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"{name} looks like a placeholder; set a real secret in production"
                )
        return self
