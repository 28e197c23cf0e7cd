"""The Telegram side of conversations (bot.domain.dialogs), one mechanism for every
feature (issue 10, item 2):

- `ask` sends the prompt and opens the dialog; in a group the prompt is a ForceReply
  and only a message *replying to it* continues the dialog (`InDialog`), so ordinary
  chatter in the admin group is never taken as an announcement's new text or as the
  office's answer to a citizen.
- every dialog lapses after LOA_CONVERSATION_TIMEOUT seconds; the sweeper tells the user.
- /cancel (/huy) ends this user's dialog in this chat, whichever feature owns it.
- one open dialog per user and chat: a prompt of another feature ends the older dialog and
  says so in the new prompt.
- a feature that holds something while a dialog is open (a draft being collected) cleans
  it up in the hook it gives `on_close`, run however the dialog ended.
- in a forum group the prompt, the notices and the dialog stay in the topic they began in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import ForceReply, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.domain.dialogs import CANCELLED, LAPSED, REPLACED, Dialog, Dialogs
from bot.domain.text import escape, quote
from bot.handlers.base import Context, reply
from bot.handlers.persistence import keep
from bot.services import Services

log = logging.getLogger(__name__)

KEY = "dialogs"
_HOOKS = "dialog_hooks"  # bot_data: feature → what to do when one of its dialogs ends

# (application, the dialog that ended, LAPSED / REPLACED / CANCELLED)
CloseHook = Callable[[Any, Dialog, str], Awaitable[None]]

REPLACED_NOTICE = "⏹ Việc đang dở «{label}» đã dừng (chưa có gì thay đổi)."


def registry(context: Context) -> Dialogs:
    """This Application's open dialogs."""
    return registry_of(context.application)


def registry_of(app: Any) -> Dialogs:
    """The open dialogs of `app` (features' filters need it when they register)."""
    return app.bot_data[KEY]


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


def _thread(update: Update) -> int | None:
    """The forum topic the update came from (a button's message counts), if any."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


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
    carry_on: bool = False,
    **data: Any,
) -> Dialog | None:
    """Send `text` as the prompt and open the sender's dialog at `step` (with `carry_on`, move
    the sender's open dialog of `feature` to `step`, keeping its data and earlier prompts).

    In a group the prompt is a ForceReply to the sender, and the dialog only accepts
    replies to it; a prompt with buttons keeps them (a message has one reply_markup) and
    is replied to by hand. An open dialog of another feature ends, and the prompt says so."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    dialogs = registry(context)
    old = dialogs.get(chat.id, user.id, now())
    if old is not None and old.feature != feature:
        text = REPLACED_NOTICE.format(label=escape(old.label_vi)) + "\n" + text
    markup = reply_markup
    if chat.type != ChatType.PRIVATE:
        if markup is None:
            markup = ForceReply(selective=True, input_field_placeholder=placeholder)
        text += f"\n↩️ {quote(user.first_name, 64)}: hãy <b>trả lời (reply)</b> tin nhắn này."
    message = update.effective_message
    thread = _thread(update)
    kwargs: dict[str, Any] = {"reply_markup": markup, "message_thread_id": thread}
    if message is not None and update.callback_query is None and chat.type != ChatType.PRIVATE:
        kwargs["reply_to_message_id"] = message.message_id
    prompt = await context.bot.send_message(chat.id, text, **kwargs)
    if carry_on and old is not None and old.feature == feature:
        old.label_vi = label_vi
        dialogs.advance(old, step, now(), prompt_id=prompt.message_id, **data)
        return old
    dialog = dialogs.open(
        chat.id,
        user.id,
        feature,
        step,
        label_vi,
        now(),
        prompt_id=prompt.message_id,
        thread_id=thread,
        **data,
    )
    await settle(context.application, told=old)
    return dialog


def hold(
    update: Update, context: Context, *, feature: str, step: str, label_vi: str, **data: Any
) -> Dialog | None:
    """Open the sender's dialog at a step that waits for a button, not a text (a preview
    waiting for [Gửi]/[Hủy]): it lapses, ends with /huy and replaces like any other."""
    where = _where(update)
    if where is None:
        return None
    return registry(context).open(
        where[0], where[1], feature, step, label_vi, now(), thread_id=_thread(update), **data
    )


def continue_at(context: Context, dialog: Dialog, step: str, **data: Any) -> None:
    """Move an open dialog to its next step (deadline restarts)."""
    registry(context).advance(dialog, step, now(), **data)


def end(update: Update, context: Context) -> Dialog | None:
    """Close the sender's dialog in this chat (its feature finished it: no hook runs)."""
    where = _where(update)
    return registry(context).close(*where) if where else None


def on_close(app: Any, feature: str, hook: CloseHook) -> None:
    """Run `hook` whenever a dialog of `feature` ends unfinished (lapsed, replaced, /huy)."""
    app.bot_data.setdefault(_HOOKS, {})[feature] = hook


async def _closed(app: Any, dialog: Dialog, why: str) -> None:
    hook = app.bot_data.get(_HOOKS, {}).get(dialog.feature)
    if hook is None:
        return
    try:
        await hook(app, dialog, why)
    except Exception:  # one feature's clean-up must not stop the others' notices
        log.exception("closing a %s dialog failed", dialog.feature)


async def _notify(app: Any, dialog: Dialog, text: str) -> None:
    """Tell the user in the dialog's chat (and topic), replying to its prompt in groups."""
    kwargs: dict[str, Any] = {"message_thread_id": dialog.thread_id}
    if dialog.prompt_id is not None and dialog.chat_id < 0:
        kwargs["reply_to_message_id"] = dialog.prompt_id
    try:
        await app.bot.send_message(dialog.chat_id, text, **kwargs)
    except TelegramError as exc:
        log.info("could not tell chat %s about a dialog: %s", dialog.chat_id, exc)


async def settle(app: Any, told: Dialog | None = None) -> None:
    """Run the hooks of the dialogs that were replaced; tell the users of those another
    feature's dialog replaced (except `told`, whose user the new prompt told)."""
    dialogs = registry_of(app)
    for dialog, why in dialogs.take_ended():
        await _closed(app, dialog, why)
        if why == REPLACED and dialog is not told:
            newer = dialogs.get(dialog.chat_id, dialog.user_id, now())
            if newer is not None and newer.feature != dialog.feature:
                label = escape(dialog.label_vi)
                await _notify(app, dialog, REPLACED_NOTICE.format(label=label))


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
        return ref is not None and dialog.answers(ref.message_id)


_CANCELLED = "dialogs_cancelled"  # bot_data: update id → what /cancel ended (group -2)


async def end_on_cancel(update: Update, context: Context) -> None:
    """Group -2, /cancel or /huy: end this user's dialog here before any feature sees the
    command, so a feature's own conversation (a PTB ConversationHandler with a /cancel
    fallback) ends too in group 0. What was ended is remembered for `cancel_command`."""
    dialog = end(update, context)
    if dialog is not None:
        await _closed(context.application, dialog, CANCELLED)
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
        try:
            gone = dialogs.expired(now())
            if gone:
                app.mark_data_for_update_persistence(user_ids=[d.user_id for d in gone])
            for dialog in gone:
                await _closed(app, dialog, LAPSED)
                minutes = _minutes(dialogs.timeout)
                await _notify(
                    app, dialog, EXPIRED.format(minutes=minutes, label=escape(dialog.label_vi))
                )
            await settle(app)  # dialogs replaced outside `ask` (a feature's own open)
        except Exception:  # the sweeper must outlive any one failure
            log.exception("dialog sweep failed")


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
