"""Settings, read once from the environment (prefix LOA_) and an optional .env file."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import casework, workdays
from bot.domain.summary import SUMMARY_SENTENCES

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

    # Each field's description is its documentation: `python3 tasks.py docs` writes the
    # README settings table and .env.example from them (tests/test_docs.py keeps them in step).
    bot_token: SecretStr | None = Field(
        None, description="The bot's token from @BotFather (required to run; never logged)."
    )
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(),
        description="Owners: comma-separated Telegram user ids with every right"
        " (cannot be removed from Telegram).",
    )
    admin_chat_id: int | None = Field(
        None,
        description="Group where moderators and admins work (notifications, approvals); optional.",
    )
    db_path: Path = Field(
        Path("data/loa.db"),
        description="SQLite database file (one file; WAL mode). The folder is created if"
        " missing; in Docker it must be writable by uid 10001.",
    )
    content_dir: Path = Field(Path("content"), description="Folder with articles/ and directives/.")
    timezone: str = Field(
        "Asia/Ho_Chi_Minh",
        description="Time zone for everything shown and typed (dd/mm/yyyy hh:mm), log lines"
        " and file names included.",
    )
    bot_api_url: str = Field(
        TELEGRAM_API_URL,
        description="Bot API base URL; point it at a local Bot API server or the fake one"
        " for tests.",
    )
    bot_api_file_url: str | None = Field(
        None, description="File download base URL for a local Bot API server (optional)."
    )

    # Telegram's sending limits (Bot API FAQ "My bot is hitting limits"); the pacer keeps
    # every outgoing message inside them, broadcasts and replies alike.
    global_rate: float = Field(
        30.0,
        gt=0,
        le=100_000,  # high values: benchmarks only
        description="Telegram's limit on messages per second in total (every outgoing"
        " message is paced).",
    )
    group_rate: float = Field(
        20.0, gt=0, le=1000, description="Telegram's limit on messages per minute in one group."
    )
    chat_rate: float = Field(
        1.0, gt=0, le=100, description="Telegram's limit on messages per second in one chat."
    )
    max_retry_after: float = Field(
        60.0,
        ge=0,
        description="A 429 asking to wait at most this many seconds is waited out for"
        " replies to people.",
    )

    webhook_url: str | None = Field(
        None,
        description="Public HTTPS address Telegram posts updates to; set = webhook mode,"
        " empty = long polling.",
    )
    webhook_listen: str = Field(
        "0.0.0.0",
        description="Address the webhook server listens on (behind your TLS proxy).",
    )
    webhook_port: int = Field(
        8443,
        ge=1,
        le=65535,
        description="Port the webhook server listens on (the Docker image EXPOSEs 8443).",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Required with LOA_WEBHOOK_URL: Telegram sends it in every request,"
        " others cannot forge updates without it (1-256 characters of A-Z a-z 0-9 _ -).",
    )

    update_concurrency: int = Field(
        64,
        ge=1,
        le=1024,
        description="Updates processed at once (different chats; one chat's updates stay"
        " in order).",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")

    # Articles (issue 3).
    summary_sentences: int = Field(
        SUMMARY_SENTENCES, ge=1, le=3, description="Sentences in an article card's summary (1-3)."
    )

    # Feedback (issue 5).
    feedback_per_hour: int = Field(
        5, ge=0, le=10000, description="Comments one person may send per hour (0 = no limit)."
    )
    feedback_per_day: int = Field(
        20,
        ge=0,
        le=100000,
        description="Comments one person may send per 24 hours (0 = no limit).",
    )
    feedback_keep_original: bool = Field(
        False,
        description="1 = also store the unmasked text of each comment (phones, ID numbers,"
        " emails, bank accounts). Moderators and exports always see the masked text;"
        " citizens are told.",
    )

    # Reports and operations (issue 6).
    log_json: bool = Field(
        False,
        description="1 = log JSON lines (one object per event) instead of plain text; the"
        " token is redacted either way.",
    )
    backup_dir: Path | None = Field(
        None,
        description="Folder for the automatic daily backup (empty = no automatic backup)."
        " `loa backup PATH` works anyway.",
    )
    backup_keep: int = Field(
        7,
        ge=1,
        le=365,
        description="How many daily backups to keep in LOA_BACKUP_DIR (older ones are deleted).",
    )
    backup_time: str = Field(
        "03:00",
        pattern=r"^([01]?\d|2[0-3]):[0-5]\d$",
        description="Local time (LOA_TIMEZONE) of the daily backup, HH:MM.",
    )
    health_file: Path | None = Field(
        None,
        description="Health file refreshed by the running bot while polling and dispatching"
        " make progress; `loa health` (the Docker HEALTHCHECK) reads it. Empty ="
        " health.json beside the database.",
    )
    health_interval: float = Field(
        15.0, gt=0, le=600, description="Seconds between health checks inside the bot."
    )
    health_max_age: float = Field(
        90.0,
        gt=0,
        description="`loa health` fails when the bot was last healthy longer ago than this"
        " (seconds).",
    )
    health_stall: float = Field(
        120.0,
        gt=0,
        description="Polling or a worker without progress for this long (seconds) counts"
        " as stalled.",
    )

    # Broadcasts (issue 4).
    dispatcher_concurrency: int = Field(
        8,
        ge=1,
        le=512,
        description="Deliveries sent at once by the dispatcher. After a crash (SIGKILL) at"
        " most this many recipients may receive a message twice (they were in flight);"
        " nobody is ever skipped.",
    )
    dispatcher_max_attempts: int = Field(
        5,
        ge=1,
        le=100,
        description="Tries per recipient for timeouts / 5xx before the delivery is marked"
        " failed (429 never counts).",
    )
    dispatcher_batch: int = Field(
        200, ge=1, le=10000, description="Due deliveries read from the outbox per query."
    )
    progress_interval: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="Seconds between edits of the admin's progress message while a"
        " broadcast is sent (0 = none).",
    )
    # Safety (issue 10).
    conversation_timeout: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Seconds a conversation (waiting for a text, a time or an answer) stays"
        " open without a step; then it lapses and the user is told. /huy ends it at once.",
    )
    topics: Annotated[tuple[str, ...], NoDecode] = Field(
        ("tuyen-truyen", "quoc-phong-an-ninh", "kinh-te-xa-hoi"),
        description="Topics chats may subscribe to with /dangky <topic> (comma-separated"
        " labels; names shown in Telegram come from LOA_TOPIC_NAMES).",
    )

    # Rough edges (issue 11): what Telegram shows.
    topic_names: Annotated[dict[str, str], NoDecode] = Field(
        {
            "tuyen-truyen": "Tuyên truyền",
            "quoc-phong-an-ninh": "Quốc phòng – An ninh",
            "kinh-te-xa-hoi": "Kinh tế – Xã hội",
        },
        description="Vietnamese names of the topics, as `label=Name` pairs separated by"
        " `;` (a topic without a name is shown by its label).",
    )
    sender_line: str = Field(
        "",
        max_length=200,
        description="Bold first line of every announcement, naming the office (e.g."
        " `📢 Ban Tuyên giáo Thành ủy Lạng Sơn`); empty = no sender line.",
    )

    # Web console (issue 14): the Mini App served by the bot process. Off unless
    # LOA_WEB_PORT or LOA_WEB_URL is set (LOA_WEB_URL alone listens on 8080).
    web_listen: str = Field(
        "127.0.0.1",
        description="Address the web console listens on (put your TLS proxy in front).",
    )
    web_port: int | None = Field(
        None,
        ge=0,
        le=65535,  # 0: any free port (tests)
        description="Port of the web console; empty = off (unless LOA_WEB_URL is set: then 8080).",
    )
    web_url: str | None = Field(
        None,
        description="Public HTTPS address of the console: staff menu buttons and /quantri"
        " open it (Telegram opens Mini Apps over HTTPS only).",
    )
    web_auth_max_age: int = Field(
        86400,
        ge=10,
        le=30 * 86400,
        description="Seconds a Mini App's signed initData stays valid (its auth_date).",
    )

    # Newsroom (issue 12): the bounded fetch of web pages and feeds, the feeds worker's
    # interval, and the largest Word/text file an editor may send (Bot API getFile: 20 MB).
    fetch_allow_private: bool = Field(
        False,
        description="1 = fetching web pages and feeds may reach private and loopback addresses"
        " (tests, an intranet site); 0 refuses them (every resolved address is checked,"
        " redirects included).",
    )
    fetch_max_bytes: int = Field(
        3_000_000,
        ge=10_000,
        le=50_000_000,
        description="Largest web page or feed fetched, in bytes.",
    )
    fetch_timeout: float = Field(
        20.0, gt=0, le=300, description="Seconds one fetch (redirects included) may take."
    )
    feed_interval: float = Field(
        900.0,
        ge=1,
        le=86_400,
        description="Seconds between two polls of one RSS/Atom feed (`/nguontin`).",
    )
    upload_max_bytes: int = Field(
        5_000_000,
        ge=1_000,
        le=20_000_000,
        description="Largest .docx/.txt file an editor may send to start a draft, in bytes"
        " (Bot API: 20 MB).",
    )

    # Casework (issue 15): categories (buttons carry these names), deadlines in working
    # days (default and per category), the office's make-up working days and extra days
    # off, reminders within office hours, and the public channel for published answers.
    feedback_categories: Annotated[tuple[str, ...], NoDecode] = Field(
        casework.DEFAULT_CATEGORIES,
        description="Categories citizens pick by button (comma-separated; «khác» is always added).",
    )
    feedback_deadline_days: int = Field(
        10, ge=1, le=365, description="Working days the office has to answer a comment."
    )
    feedback_category_deadlines: str = Field(
        "", description="Per-category deadlines, e.g. `đất đai=15, y tế=5`."
    )
    feedback_remind_days: int = Field(
        2,
        ge=0,
        le=60,
        description="Remind the holder and the category's topic when this many working days"
        " (or fewer) are left.",
    )
    makeup_workdays: Annotated[frozenset[date], NoDecode] = Field(
        frozenset(),
        description="The office's make-up working days (weekend days worked), dd/mm/yyyy,"
        " comma-separated.",
    )
    extra_days_off: Annotated[frozenset[date], NoDecode] = Field(
        frozenset(),
        description="The office's extra days off beyond Vietnam's public holidays (lunar"
        " ones included), dd/mm/yyyy, comma-separated.",
    )
    office_hours: str = Field(
        "07:30-17:00",
        description="Reminders and escalations go out only on working days within these"
        " local hours.",
    )
    casework_check_interval: float = Field(
        300.0, gt=0, le=86400, description="Seconds between passes of the reminder worker."
    )
    public_channel_id: str | None = Field(
        None,
        description="Public channel (-100… id or @name) for published answers; empty ="
        " `/hoidap` only.",
    )

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

    # Outreach (issue 16): polls, session reports (/baocao), directive follow-up.
    poll_default_hours: float = Field(
        72.0,
        gt=0,
        le=24 * 90,
        description='Hours a poll stays open when /khaosat names no "hạn:" (closing time).',
    )
    poll_check_interval: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds between checks for polls whose closing time has come (they are"
        " then stopped in every chat).",
    )
    outreach_topics: Annotated[tuple[str, ...], NoDecode] = Field(
        (
            "chỉ thị, nghị quyết",
            "kinh tế – xã hội",
            "quốc phòng – an ninh",
            "phòng chống dịch",
            "giáo dục lịch sử, truyền thống",
        ),
        description="Topics a cadre picks from in the /baocao form (names separated by `;`).",
    )
    report_edit_days: int = Field(
        3,
        ge=0,
        le=365,
        description="Days a cadre may still correct or delete their own session report"
        " (staff: always).",
    )
    report_reminder_days: int = Field(
        7,
        ge=0,
        le=45,
        description="Units with no session report this quarter are reminded once, in the"
        " quarter's last N days.",
    )
    ack_reminder_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 60,
        description="Hours after a directive (or its last reminder) before chats that have not"
        " acknowledged it are reminded automatically.",
    )
    ack_reminder_max: int = Field(
        2,
        ge=0,
        le=20,
        description="At most this many reminders per directive (0 = no automatic reminders).",
    )
    # Reminders go out only in LOA_OFFICE_HOURS on working days (casework's setting).

    @field_validator("outreach_topics", mode="before")
    @classmethod
    def _parse_outreach_topics(cls, value: Any) -> Any:
        """Accept "a; b; c" (names may contain commas, so ';' separates them)."""
        if isinstance(value, str):
            value = [p.strip() for p in value.split(";") if p.strip()]
        value = tuple(str(v).strip() for v in value)
        if not value:
            raise ValueError("must name at least one topic (separated by ';')")
        for topic in value:
            if len(topic) > 60:
                raise ValueError(f"topic {topic[:20]!r}... is longer than 60 characters")
        return value

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

    @field_validator("topic_names", mode="before")
    @classmethod
    def _parse_topic_names(cls, value: Any) -> Any:
        """Accept "label=Name; label=Name" (names NFC, labels as in LOA_TOPICS)."""
        if isinstance(value, str):
            pairs = [p.partition("=") for p in value.split(";") if p.strip()]
            if any(not sep or not name.strip() for _label, sep, name in pairs):
                raise ValueError("must be label=Name pairs separated by ;")
            return {
                label.strip().lower(): unicodedata.normalize("NFC", name.strip())
                for label, _sep, name in pairs
            }
        return value

    @field_validator("sender_line")
    @classmethod
    def _nfc_sender(cls, value: str) -> str:
        """Stored and sent in NFC like every Vietnamese text."""
        return unicodedata.normalize("NFC", value.strip())

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
            # BotFather tokens are digits, a colon, then letters, digits, _ and - only.
            if not head.isdigit() or not re.fullmatch(r"[A-Za-z0-9_-]+", tail):
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

    def topic_name(self, label: str) -> str:
        """A topic's Vietnamese name for Telegram (its label when none is configured)."""
        return self.topic_names.get(label, label)

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
