"""Logging set-up that can never print the bot token."""

from __future__ import annotations

import datetime as dt
import json
import logging
from datetime import tzinfo


class RedactingFormatter(logging.Formatter):
    """Formats a record (traceback included) and replaces every secret with ***."""

    def __init__(self, fmt: str, secrets: list[str], tz: tzinfo | None = None) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]
        # LOA_TIMEZONE, like every time Loa shows and every file name it makes (a
        # container's local time is UTC, which would disagree with the backup names).
        self._tz = tz or dt.UTC

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time in LOA_TIMEZONE, with milliseconds."""
        when = dt.datetime.fromtimestamp(record.created, self._tz)
        return when.strftime(datefmt or "%Y-%m-%d %H:%M:%S") + f",{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


# Record attributes copied into JSON lines when a call passes them in `extra=`
# (e.g. log.info("sent", extra={"chat_id": c, "broadcast_id": b})).
JSON_EXTRA_FIELDS = ("chat_id", "user_id", "broadcast_id", "article_id", "comment_id", "event")


class JsonFormatter(RedactingFormatter):
    """One JSON object per line (LOA_LOG_JSON=1); secrets redacted in the final line."""

    def __init__(self, secrets: list[str], tz: tzinfo | None = None) -> None:
        super().__init__("%(message)s", secrets, tz)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            # ISO 8601 with the LOA_TIMEZONE offset (UTC when none is given).
            "ts": dt.datetime.fromtimestamp(record.created, self._tz).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in JSON_EXTRA_FIELDS:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        text = json.dumps(entry, ensure_ascii=False, default=str)
        for secret in self._secrets:
            text = text.replace(secret, "***")
            # The same secret as it appears inside a JSON string (escaped characters).
            text = text.replace(json.dumps(secret)[1:-1], "***")
        return text


def setup_logging(
    level: str, secrets: list[str], *, json_lines: bool = False, tz: tzinfo | None = None
) -> None:
    """One line per event on stderr; httpx quietened (it logs URLs, which hold the token)."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter(secrets, tz))
    else:
        handler.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets, tz)
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Libraries' DEBUG output carries whole updates and requests (comment texts, names,
    # the webhook secret header): LOA_LOG_LEVEL=DEBUG is for Loa's own loggers only.
    floor = max(logging.getLevelName(level) if isinstance(level, str) else level, logging.INFO)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(floor)


# Third-party loggers never below INFO (issue 10).
QUIET_LIBRARIES = ("telegram", "aiohttp", "aiosqlite", "asyncio", "hpack", "urllib3")
