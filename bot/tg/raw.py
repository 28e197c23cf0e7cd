"""Bot API calls whose answer is not used: the raw JSON, no PTB objects built from it.

PTB's `send_message` turns every answer into a Message (`Message.de_json`, ~0.3-0.5 ms
of CPU per call on the 2-core machine); the outbox worker and plain replies never look
at it. `Bot.do_api_request` is PTB's public way to call a method and get the raw
result, still through the rate limiter (bot.tg.pacer) and the transport. It does not
apply the Application's Defaults, so callers pass parse_mode themselves.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram.warnings import PTBUserWarning

# PTB warns when do_api_request names a method it has a wrapper for; these calls use it
# on purpose (above). Only these methods' warnings are silenced.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText|deleteMessage)'",
    category=PTBUserWarning,
)

HTML = "HTML"


async def call(
    bot: Any, method: str, params: dict[str, Any], *, rate_limit_args: dict[str, Any] | None = None
) -> Any:
    """One Bot API call (camelCase method name); the raw `result` (a dict for messages)."""
    return await bot.do_api_request(method, api_kwargs=params, rate_limit_args=rate_limit_args)


async def send_text(
    bot: Any,
    chat_id: int,
    text: str,
    *,
    reply_markup: Any = None,
    rate_limit_args: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """sendMessage with HTML formatting (the bot's default); the raw message JSON."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": HTML}
    if reply_markup is not None:
        params["reply_markup"] = reply_markup
    result: dict[str, Any] = await call(bot, "sendMessage", params, rate_limit_args=rate_limit_args)
    return result
