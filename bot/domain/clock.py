"""Time helpers: unix seconds in storage, dd/mm/yyyy hh:mm in the local zone on screen."""

from __future__ import annotations

import re
import time
from datetime import datetime, tzinfo

from bot.domain.errors import InvalidInput
from bot.domain.text import quote

DISPLAY_FORMAT = "%d/%m/%Y %H:%M"
_LOCAL = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2})[:h](\d{2})\s*$", re.ASCII)


def now() -> int:
    """Current unix time in whole seconds."""
    return int(time.time())


def format_local(ts: float, tz: tzinfo) -> str:
    """Unix seconds as dd/mm/yyyy hh:mm in the given zone."""
    return datetime.fromtimestamp(ts, tz).strftime(DISPLAY_FORMAT)


def format_date(ts: float, tz: tzinfo) -> str:
    """Unix seconds as dd/mm/yyyy in the given zone."""
    return datetime.fromtimestamp(ts, tz).strftime("%d/%m/%Y")


def parse_local(text: str, tz: tzinfo) -> int:
    """Parse dd/mm/yyyy hh:mm (local time) into unix seconds; InvalidInput if malformed."""
    match = _LOCAL.match(text)
    if not match:
        raise InvalidInput("Thời gian phải có dạng dd/mm/yyyy hh:mm, ví dụ 15/04/2026 08:00.")
    day, month, year, hour, minute = (int(g) for g in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=tz)
    except (ValueError, OverflowError):
        raise InvalidInput(f"Ngày giờ không tồn tại: {quote(text.strip(), 40)}.") from None
    return int(moment.timestamp())
