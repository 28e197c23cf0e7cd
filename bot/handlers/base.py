"""Helpers every handler uses: the services, replies, and the role check."""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.domain.errors import LoaError
from bot.domain.text import nfc
from bot.services import Services
from bot.tg import raw

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Awaitable[Any]]
F = TypeVar("F", bound=Callback)

NO_PERMISSION = "⛔ Bạn không có quyền dùng chức năng này."
PLACE_REFUSAL = (
    "🔒 Việc này chỉ làm trong cuộc trò chuyện riêng với bot hoặc trong nhóm quản trị,"
    " để nội dung nội bộ không hiện ra ở nhóm khác."
)
EXPIRED_BUTTON = "Nút này đã hết hạn hoặc không hợp lệ."


def services(context: Context) -> Services:
    """The Services object of this Application."""
    return context.application.bot_data["services"]


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    """Reply in the chat of the update (message or button press)."""
    chat = update.effective_chat
    if chat is None:
        return
    message = update.effective_message
    if (
        chat.type == ChatType.PRIVATE
        and kwargs.keys() <= {"reply_markup"}
        and (message is None or not (message.is_topic_message or message.direct_messages_topic))
    ):
        # What reply_text does in a private chat (no quote, no topic), without building a
        # Message from the answer nobody reads (bot.tg.raw; issue 17).
        await raw.send_text(
            update.get_bot(), chat.id, text, reply_markup=kwargs.get("reply_markup")
        )
        return
    if update.effective_message is not None and update.callback_query is None:
        await update.effective_message.reply_text(text, **kwargs)
    else:
        await update.get_bot().send_message(chat.id, text, **kwargs)


async def answer_query(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press (Telegram shows a spinner until it is answered).

    The answer is `true`; bot.tg.raw skips PTB's request layers for it (issue 17)."""
    query = update.callback_query
    if query is None:
        return
    params: dict[str, Any] = {"callback_query_id": query.id}
    if text is not None:
        params["text"] = text
    if alert:
        params["show_alert"] = True
    await raw.call(update.get_bot(), "answerCallbackQuery", params)


def in_staff_place(update: Update, svc: Services) -> bool:
    """True in a private chat with the bot or in the admin group (LOA_ADMIN_CHAT_ID): the
    only places staff output (names, ids, internal texts, figures) may appear."""
    chat = update.effective_chat
    return chat is None or chat.type == "private" or chat.id == svc.settings.admin_chat_id


async def refuse_place(update: Update) -> None:
    """Say (or alert) that this is done only in private or in the admin group."""
    if update.callback_query is not None:
        await answer_query(update, PLACE_REFUSAL, alert=True)
    else:
        await reply(update, PLACE_REFUSAL)


def requires(permission: str, *, refused: Any = None, anywhere: bool = False) -> Callable[[F], F]:
    """Check the sender's role at every call; refuse with a Vietnamese message otherwise.

    Staff commands and buttons also run only in a private chat or the admin group
    (issue 10: /admins or /audit in a public group printed staff names and ids), unless
    `anywhere`. `refused` is what a refused call returns.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        async def wrapper(update: Update, context: Context) -> Any:
            user = update.effective_user
            if not await services(context).may(user.id if user else None, permission):
                log.info(
                    "refused %s to user %s (needs %s)",
                    func.__name__,
                    user.id if user else None,
                    permission,
                )
                if update.callback_query is not None:
                    await answer_query(update, NO_PERMISSION, alert=True)
                else:
                    await reply(update, NO_PERMISSION)
                return refused
            if not anywhere and not in_staff_place(update, services(context)):
                await refuse_place(update)
                return refused
            return await func(update, context)

        return cast(F, wrapper)

    return decorate


_TAG = re.compile(r"<[^>]*>")


def alert_text(message: str) -> str:
    """A LoaError message (Telegram HTML) as a button alert, which is plain text: tags
    dropped, entities (&lt; &amp;) decoded, at most 200 characters."""
    return plain_text(message)[:200]


def plain_text(message: str) -> str:
    """Telegram HTML as plain text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", message))


def user_errors(func: F) -> F:
    """Turn domain errors (LoaError) into their Vietnamese message instead of a crash."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: Context) -> Any:
        try:
            return await func(update, context)
        except LoaError as exc:
            if update.callback_query is not None:
                try:
                    await answer_query(update, alert_text(exc.user_message), alert=True)
                    return None
                except BadRequest:
                    # The handler had answered the button already (Telegram takes one
                    # answer per press): the message comes as a reply instead.
                    pass
            try:
                await reply(update, exc.user_message)
            except BadRequest as bad:
                if "parse entities" not in str(bad).lower():
                    raise
                # A message that echoes user text without quote() (bot.domain.text) must
                # still reach the user: send it as plain text rather than lose the reply.
                log.warning("error message with broken HTML (%s)", type(exc).__name__)
                await reply(update, plain_text(exc.user_message), parse_mode=None)
            return None

    return cast(F, wrapper)


def command_text(update: Update) -> str:
    """The text after the leading /command, newlines kept (NFC, trimmed)."""
    message = update.effective_message
    if message is None or not message.text or update.callback_query is not None:
        return ""  # a button (e.g. /start's) runs a command without arguments
    text = message.text
    if text.startswith("/"):
        # The command ends at the first space or newline, whichever comes first.
        cut = min((i for i in (text.find(" "), text.find("\n")) if i >= 0), default=len(text))
        text = text[cut:]
    return nfc(text).strip()
