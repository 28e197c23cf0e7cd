"""Telegram Mini App sign-in: initData checked exactly as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app:
secret_key = HMAC-SHA256(key="WebAppData", msg=bot_token); the data-check string is every
field but `hash`, as `key=value` lines sorted by key and joined by "\\n" (a newer
`signature` field stays in it); hash = hex HMAC-SHA256(key=secret_key, msg=that string).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from bot.domain.errors import LoaError

# initData is a few hundred bytes; anything far larger is not from Telegram.
MAX_INIT_DATA = 8192


class AuthError(LoaError):
    """The request is not signed by Telegram for this bot (or the signature is too old)."""

    user_message = "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Hãy mở lại bảng quản trị."


@dataclass(frozen=True)
class WebUser:
    """The Telegram user a request comes from."""

    id: int
    first_name: str
    username: str | None = None


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def validate_init_data(init_data: str, bot_token: str, *, max_age: int, now: float) -> WebUser:
    """The user of a Mini App's initData; AuthError unless Telegram signed it recently."""
    if not init_data or len(init_data) > MAX_INIT_DATA:
        raise AuthError(detail="missing or oversized initData")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise AuthError(detail="malformed initData") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise AuthError(detail="repeated field in initData")
    received = fields.get("hash", "")
    expected = hmac.new(
        _secret(bot_token), _check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise AuthError(detail="bad initData hash")
    try:
        auth_date = int(fields.get("auth_date", ""))
    except ValueError as exc:
        raise AuthError(detail="initData without auth_date") from exc
    if now - auth_date > max_age or auth_date - now > 300:
        raise AuthError(detail="initData expired")
    try:
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError(detail="initData without a user") from exc
    return WebUser(user_id, str(user.get("first_name", "")), user.get("username"))


def sign_init_data(bot_token: str, user: dict[str, object], auth_date: int, **extra: str) -> str:
    """initData as Telegram would sign it for `user` (tests and benchmarks use it)."""
    fields = {
        "auth_date": str(auth_date),
        "query_id": extra.pop("query_id", "AAH-loa-test"),
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        **extra,
    }
    fields["hash"] = hmac.new(
        _secret(bot_token), _check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode(fields)
