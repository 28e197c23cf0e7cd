"""Bot API calls whose answer is not used: the raw JSON, no PTB objects built from it.

PTB's `send_message` turns every answer into a Message (`Message.de_json`, ~0.3-0.5 ms
of CPU per call on the 2-core machine); the outbox worker and plain replies never look
at it. With the bot's own transport (bot.tg.transport.AiohttpRequest) a call goes
straight to it through the rate limiter (bot.tg.pacer): PTB's request layers in between
(`Bot.do_api_request`: parameter objects, a json.dumps per parameter, a warning per call)
cost ~0.1 ms per call, a sixth of a bulk delivery's CPU (issue 17). Other transports
(tests' stand-ins) go through `Bot.do_api_request`, PTB's public way to get the raw
result. Neither applies the Application's Defaults, so callers pass parse_mode themselves.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram.warnings import PTBUserWarning

from bot.tg.transport import AiohttpRequest

# PTB warns when do_api_request names a method it has a wrapper for; these calls use it
# on purpose (above). Only these methods' warnings are silenced.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText|deleteMessage|answerCallbackQuery)'",
    category=PTBUserWarning,
)

HTML = "HTML"


async def call(
    bot: Any, method: str, params: dict[str, Any], *, rate_limit_args: dict[str, Any] | None = None
) -> Any:
    """One Bot API call (camelCase method name); the raw `result` (a dict for messages).

    Parameter values are JSON values or PTB objects (a reply_markup)."""
    request = getattr(bot, "request", None)
    if not isinstance(request, AiohttpRequest):
        return await bot.do_api_request(method, api_kwargs=params, rate_limit_args=rate_limit_args)
    url = f"{bot.base_url}/{method}"
    limiter = bot.rate_limiter
    if limiter is None:
        return await request.call(url, params)
    # What ExtBot does with every call: the limiter gets the parameters (it may change
    # chat_id for a migrated group's retry, hence encoded only when sent).
    return await limiter.process_request(
        callback=request.call,
        args=(url, params),
        kwargs={},
        endpoint=method,
        data=params,
        rate_limit_args=rate_limit_args,
    )


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
