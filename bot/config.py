"""Settings, read once from the environment (prefix LOA_) and an optional .env file."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import casework, workdays

TELEGRAM_API_URL = "https://api.telegram.org/bot"


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line naming the setting."""


class Settings(BaseSettings):
    """Every knob of Loa; see .env.example for the documentation of each."""

    model_config = SettingsConfigDict(
        env_prefix="LOA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    bot_token: SecretStr | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_chat_id: int | None = None
    db_path: Path = Path("data/loa.db")
    content_dir: Path = Path("content")
    timezone: str = "Asia/Ho_Chi_Minh"
    bot_api_url: str = TELEGRAM_API_URL
    bot_api_file_url: str | None = None

    # Telegram's sending limits (shared/telegram-limits.md); the pacer keeps every
    # outgoing message inside them, broadcasts and replies alike.
    global_rate: float = Field(30.0, gt=0, le=100_000)  # high values: benchmarks only
    group_rate: float = Field(20.0, gt=0, le=1000)
    chat_rate: float = Field(1.0, gt=0, le=100)
    # A 429 shorter than this is waited out and retried for interactive replies.
    max_retry_after: float = Field(60.0, ge=0)

    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    update_concurrency: int = Field(64, ge=1, le=1024)
    log_level: str = "INFO"

    # Articles (issue 3): sentences in an article card's summary.
    summary_sentences: int = Field(3, ge=1, le=3)

    # Feedback (issue 5): per-user limits (0 = no limit) and whether the unmasked text
    # of a comment is stored (moderators and exports always see the masked text).
    feedback_per_hour: int = Field(5, ge=0, le=10000)
    feedback_per_day: int = Field(20, ge=0, le=100000)
    feedback_keep_original: bool = False

    # Reports and operations (issue 6): JSON log lines, daily backups, the health file.
    log_json: bool = False
    backup_dir: Path | None = None
    backup_keep: int = Field(7, ge=1, le=365)
    backup_time: str = Field("03:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")
    health_file: Path | None = None  # None: health.json beside the database
    health_interval: float = Field(15.0, gt=0, le=600)
    health_max_age: float = Field(90.0, gt=0)
    health_stall: float = Field(120.0, gt=0)

    # Broadcasts (issue 4): the delivery engine (concurrent sends, bounded retries, the
    # admin's progress message) and the topics chats may subscribe to.
    dispatcher_concurrency: int = Field(8, ge=1, le=512)
    dispatcher_max_attempts: int = Field(5, ge=1, le=100)
    dispatcher_batch: int = Field(200, ge=1, le=10000)
    progress_interval: float = Field(5.0, ge=0, le=3600)
    topics: Annotated[tuple[str, ...], NoDecode] = (
        "tuyen-truyen",
        "quoc-phong-an-ninh",
        "kinh-te-xa-hoi",
    )

    # Web console (issue 14): the Mini App served by the bot process. Off unless
    # LOA_WEB_PORT or LOA_WEB_URL is set (LOA_WEB_URL alone listens on 8080).
    web_listen: str = "127.0.0.1"
    web_port: int | None = Field(None, ge=0, le=65535)  # 0: any free port (tests)
    web_url: str | None = None
    web_auth_max_age: int = Field(86400, ge=10, le=30 * 86400)

    # Newsroom (issue 12): the bounded fetch of web pages and feeds, the feeds worker's
    # interval, and the largest Word/text file an editor may send (Bot API getFile: 20 MB).
    fetch_allow_private: bool = False
    fetch_max_bytes: int = Field(3_000_000, ge=10_000, le=50_000_000)
    fetch_timeout: float = Field(20.0, gt=0, le=300)
    feed_interval: float = Field(900.0, ge=1, le=86_400)
    upload_max_bytes: int = Field(5_000_000, ge=1_000, le=20_000_000)

    # Casework (issue 15): categories (buttons carry these names), deadlines in working
    # days (default and per category), the office's make-up working days and extra days
    # off, reminders within office hours, and the public channel for published answers.
    feedback_categories: Annotated[tuple[str, ...], NoDecode] = casework.DEFAULT_CATEGORIES
    feedback_deadline_days: int = Field(10, ge=1, le=365)
    feedback_category_deadlines: str = ""
    feedback_remind_days: int = Field(2, ge=0, le=60)
    makeup_workdays: Annotated[frozenset[date], NoDecode] = frozenset()
    extra_days_off: Annotated[frozenset[date], NoDecode] = frozenset()
    office_hours: str = "07:30-17:00"
    casework_check_interval: float = Field(300.0, gt=0, le=86400)
    public_channel_id: str | None = None

    @field_validator("feedback_categories", mode="before")
    @classmethod
    def _parse_categories(cls, value: Any) -> Any:
        """ "đất đai, y tế" → names (NFC, unique); "khác" is always offered."""
        return casework.parse_categories(value)

    @field_validator("makeup_workdays", "extra_days_off", mode="before")
    @classmethod
    def _parse_day_list(cls, value: Any) -> Any:
        """ "26/04/2025, 2026-01-03" → dates."""
        if isinstance(value, str | list | tuple | set | frozenset) and all(
            isinstance(v, str) for v in value
        ):
            return workdays.parse_dates(value)
        return value

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        """HH:MM-HH:MM, the end after the start."""
        workdays.parse_office_hours(value)
        return value.strip()

    @field_validator("public_channel_id", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> Any:
        """A channel id (-100…) or @username; empty = not set."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not re.fullmatch(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}", text):
            raise ValueError("must be a channel id like -1001234567890 or @channelname")
        return text

    @model_validator(mode="after")
    def _category_deadlines(self) -> Settings:
        """Every name in LOA_FEEDBACK_CATEGORY_DEADLINES must be a configured category."""
        try:
            casework.parse_category_days(self.feedback_category_deadlines, self.feedback_categories)
        except ValueError as exc:
            raise ValueError(f"LOA_FEEDBACK_CATEGORY_DEADLINES: {exc}") from None
        return self

    @property
    def public_channel(self) -> int | str | None:
        """LOA_PUBLIC_CHANNEL_ID as the Bot API takes it (an int id or "@name")."""
        value = self.public_channel_id
        if value is None:
            return None
        return value if value.startswith("@") else int(value)

    @field_validator("topics", mode="before")
    @classmethod
    def _parse_topics(cls, value: Any) -> Any:
        """Accept "a,b,c"; labels are lower-case ASCII words joined by dashes."""
        if isinstance(value, str):
            value = [p.strip().lower() for p in value.split(",") if p.strip()]
        for topic in value:
            if not re.match(r"^[a-z0-9][a-z0-9-]{0,39}$", str(topic)):
                raise ValueError(f"topic {topic!r} must be like tuyen-truyen")
        return tuple(value)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: Any) -> Any:
        """Accept "1,2, 3" (the documented form) as well as a list."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("must be comma-separated Telegram user ids (numbers)") from exc
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator(
        "admin_chat_id",
        "webhook_url",
        "bot_api_file_url",
        "backup_dir",
        "health_file",
        "web_port",
        "web_url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        """An empty variable means "not set", as in most .env files."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("bot_token", "webhook_secret", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, value: Any) -> Any:
        """An empty token means "not set"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        """Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - (Bot API setWebhook)."""
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Fail early on a time zone name Python does not know."""
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("bot_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Bot API and webhook addresses must be http(s) URLs."""
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        """An http(s) address; Telegram opens Mini Apps only over HTTPS (WebAppInfo.url),
        so /quantri explains that when it is plain http (a test or an SSH tunnel)."""
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (Telegram opens Mini Apps over HTTPS)")
        return value.rstrip("/") if value is not None else None

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        """Only the standard logging level names."""
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        """A token looks like 123456:ABC...; say so without echoing it."""
        if value is not None:
            head, _, tail = value.get_secret_value().strip().partition(":")
            if not head.isdigit() or not tail:
                raise ValueError("does not look like a bot token (digits:letters from @BotFather)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        """Without the secret anyone who finds the webhook path could post forged updates
        "from" an owner; Telegram sends it in X-Telegram-Bot-Api-Secret-Token."""
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                "LOA_WEBHOOK_SECRET: must be set when LOA_WEBHOOK_URL is set"
                " (1-256 characters of A-Z a-z 0-9 _ -)"
            )
        return self

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The configured time zone as a tzinfo."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def health_path(self) -> Path:
        """The health file the running bot refreshes and `loa health` reads."""
        return self.health_file or self.db_path.parent / "health.json"

    @property
    def web_enabled(self) -> bool:
        """The console is served when a port or a public URL is configured."""
        return self.web_port is not None or self.web_url is not None

    @property
    def web_bind_port(self) -> int:
        """The port the console listens on (8080 when only LOA_WEB_URL is set)."""
        return 8080 if self.web_port is None else self.web_port

    def token(self) -> str:
        """The bot token; raises SettingsError when it is not set."""
        if self.bot_token is None:
            raise SettingsError(
                "LOA_BOT_TOKEN is not set: create a bot with @BotFather and export its token"
            )
        return self.bot_token.get_secret_value().strip()

    def is_owner(self, user_id: int | None) -> bool:
        """Owners are the ids in LOA_ADMIN_IDS."""
        return user_id is not None and user_id in self.admin_ids


def load_settings(**overrides: Any) -> Settings:
    """Build Settings once; turn validation errors into one clear line, never the values."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(p) for p in err.get("loc", ()))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if not field:  # a rule across settings: its message names the setting itself
            raise SettingsError(message) from None
        raise SettingsError(f"LOA_{field.upper()}: {message}") from None
