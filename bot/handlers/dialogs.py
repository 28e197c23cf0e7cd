"""The Telegram side of conversations (bot.domain.dialogs), one mechanism for every
feature (issue 10, item 2):

- `ask` sends the prompt and opens the dialog; in a group the prompt is a ForceReply
  and only a message *replying to it* continues the dialog (`InDialog`), so ordinary
  chatter in the admin group is never taken as an announcement's new text or as the
  office's answer to a citizen.
- every dialog lapses after LOA_CONVERSATION_TIMEOUT seconds; the sweeper tells the user.
- /cancel (/huy) ends this user's dialog in this chat, whichever feature owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from telegram import ForceReply, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.domain.dialogs import Dialog, Dialogs
from bot.domain.text import escape, quote
from bot.handlers.base import Context, reply
from bot.handlers.persistence import keep
from bot.services import Services

log = logging.getLogger(__name__)

KEY = "dialogs"


def registry(context: Context) -> Dialogs:
    """This Application's open dialogs."""
    return context.application.bot_data[KEY]


def now() -> float:
    """Dialog deadlines are wall-clock seconds: they are persisted across restarts."""
    return time.time()


def _where(update: Update) -> tuple[int, int] | None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    return chat.id, user.id


def current(
    update: Update, context: Context, feature: str | None = None, *steps: str
) -> Dialog | None:
    """The live dialog of the sender in this chat (of `feature` at `steps`, if given)."""
    where = _where(update)
    if where is None:
        return None
    return registry(context).get(where[0], where[1], now(), feature, *steps)


async def ask(
    update: Update,
    context: Context,
    text: str,
    *,
    feature: str,
    step: str,
    label_vi: str,
    placeholder: str | None = None,
    reply_markup: Any = None,
    **data: Any,
) -> Dialog | None:
    """Send `text` as the prompt and open (or move) the sender's dialog to `step`.

    In a group the prompt is a ForceReply to the sender, and the dialog only accepts
    replies to it."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    markup = reply_markup
    if chat.type != ChatType.PRIVATE:
        markup = ForceReply(selective=True, input_field_placeholder=placeholder)
        text += f"\n↩️ {quote(user.first_name, 64)}: hãy <b>trả lời (reply)</b> tin nhắn này."
    message = update.effective_message
    kwargs: dict[str, Any] = {"reply_markup": markup}
    if message is not None and update.callback_query is None and chat.type != ChatType.PRIVATE:
        kwargs["reply_to_message_id"] = message.message_id
    prompt = await context.bot.send_message(chat.id, text, **kwargs)
    dialogs = registry(context)
    return dialogs.open(
        chat.id, user.id, feature, step, label_vi, now(), prompt_id=prompt.message_id, **data
    )


def continue_at(context: Context, dialog: Dialog, step: str, **data: Any) -> None:
    """Move an open dialog to its next step (deadline restarts)."""
    registry(context).advance(dialog, step, now(), **data)


def end(update: Update, context: Context) -> Dialog | None:
    """Close the sender's dialog in this chat."""
    where = _where(update)
    return registry(context).close(*where) if where else None


class InDialog(filters.MessageFilter):
    """The sender has a live dialog of `feature` at one of `steps` in this chat, and, in
    a group, the message replies to that dialog's prompt."""

    def __init__(self, dialogs: Dialogs, feature: str, *steps: str) -> None:
        super().__init__(name=f"InDialog({feature}, {steps})")
        self.dialogs = dialogs
        self.feature = feature
        self.steps = steps

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None:
            return False
        dialog = self.dialogs.get(message.chat.id, user.id, now(), self.feature, *self.steps)
        if dialog is None:
            return False
        if message.chat.type == ChatType.PRIVATE:
            return True
        ref = message.reply_to_message
        return ref is not None and ref.message_id == dialog.prompt_id


_CANCELLED = "dialogs_cancelled"  # bot_data: update id → what /cancel ended (group -2)


async def end_on_cancel(update: Update, context: Context) -> None:
    """Group -2, /cancel or /huy: end this user's dialog here before any feature sees the
    command, so a feature's own conversation (a PTB ConversationHandler with a /cancel
    fallback) ends too in group 0. What was ended is remembered for `cancel_command`."""
    dialog = end(update, context)
    ended: dict[int, str] = context.application.bot_data.setdefault(_CANCELLED, {})
    if len(ended) > 100:  # entries of updates another feature answered
        ended.clear()
    ended[update.update_id] = dialog.label_vi if dialog is not None else ""


async def cancel_command(update: Update, context: Context) -> None:
    """/cancel, /huy when no feature's conversation took it (registered after features)."""
    ended: dict[int, str] = context.application.bot_data.setdefault(_CANCELLED, {})
    label = ended.pop(update.update_id, "")
    if label:
        await reply(update, f"Đã hủy: {escape(label)}. Chưa có gì thay đổi.")
    else:
        await reply(update, "Không có thao tác nào đang chờ để hủy.")


def register_cancel(app: Any) -> None:
    """The reply to /cancel that no feature answered: after every feature's handlers."""
    app.add_handler(CommandHandler(["cancel", "huy"], cancel_command))


EXPIRED = (
    "⌛ Đã hết thời gian chờ ({minutes}) cho việc: {label}. Chưa có gì thay đổi; "
    "hãy bắt đầu lại khi cần."
)


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} giây"
    return f"{round(seconds / 60)} phút"


async def _sweep(app: Any, dialogs: Dialogs, interval: float) -> None:
    """Close lapsed dialogs and tell their users (forever, until cancelled)."""
    while True:
        await asyncio.sleep(interval)
        gone = dialogs.expired(now())
        if gone:
            app.mark_data_for_update_persistence(user_ids=[d.user_id for d in gone])
        for dialog in gone:
            text = EXPIRED.format(minutes=_minutes(dialogs.timeout), label=escape(dialog.label_vi))
            kwargs: dict[str, Any] = {}
            if dialog.prompt_id is not None and dialog.chat_id < 0:
                kwargs["reply_to_message_id"] = dialog.prompt_id
            try:
                await app.bot.send_message(dialog.chat_id, text, **kwargs)
            except TelegramError as exc:
                log.info("could not tell chat %s a dialog lapsed: %s", dialog.chat_id, exc)
            except Exception:  # the sweeper must outlive any one failure
                log.exception("dialog expiry notice failed")


def install(app: Any, svc: Services) -> None:
    """The registry, the sweeper and /cancel's first half (group -1); call before features
    register, and `register_cancel` after them."""
    timeout = svc.settings.conversation_timeout
    # In user_data, which PTB persists (bot.handlers.persistence): dialogs survive a restart.
    keep(Dialog)
    dialogs = Dialogs(timeout, app.user_data)
    app.bot_data[KEY] = dialogs
    svc.features["dialogs"] = dialogs
    tasks: list[asyncio.Task[None]] = []

    async def start(application: Any) -> None:
        interval = min(1.0, max(timeout / 4, 0.05))
        tasks.append(asyncio.create_task(_sweep(application, dialogs, interval)))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks.clear()

    svc.starters.append(start)
    svc.stoppers.append(stop)
    # /huy (/cancel) is listed by the broadcasts feature's command list.
    # group -2: group -1 is bot.handlers.common.first_look, which takes every update.
    app.add_handler(CommandHandler(["cancel", "huy"], end_on_cancel), group=-2)
