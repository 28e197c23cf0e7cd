"""Handlers every bot has: tracking chats and users, /start, /help, fallbacks, errors."""

from __future__ import annotations

import contextlib
import html
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from telegram import (
    Chat,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.domain import clock
from bot.domain.roles import ROLE_LABELS_VI
from bot.domain.text import nfc, quote
from bot.handlers import menus
from bot.handlers.base import EXPIRED_BUTTON, Context, answer_query, reply, services
from bot.store import people

log = logging.getLogger(__name__)

# Refresh a chat's or user's row at most this often (seconds): every update would
# otherwise cost a write transaction, and last_seen needs no finer grain.
_TOUCH_INTERVAL = 300
_SEEN_MAX = 20_000  # chats and users remembered as recently touched

StartPayloadHandler = Callable[[Update, Context, str], Awaitable[Any]]


def _title(chat: Chat) -> str | None:
    """A group's title or a private chat's user name, in NFC like all stored text."""
    title = chat.title or chat.full_name
    return nfc(title) if title else None


async def track_update(update: Update, context: Context) -> None:
    """Group -1: keep the chats and users tables up to date (runs before every handler)."""
    svc = services(context)
    seen: dict[tuple[str, int], float] = context.application.bot_data.setdefault("seen", {})
    now = clock.now()
    chat = update.effective_chat
    chat_row = None
    if chat is not None and now - seen.get(("chat", chat.id), 0) > _TOUCH_INTERVAL:
        chat_row = (chat.id, chat.type, _title(chat), chat.username)
    user = update.effective_user
    if update.inline_query is not None or update.chosen_inline_result is not None:
        # Inline mode works in any chat for anyone, including people who never started
        # the bot: they are not Loa's users and get no row (issue 10).
        user = None
    user_row = None
    stale = user is not None and now - seen.get(("user", user.id), 0) > _TOUCH_INTERVAL
    if user is not None and not user.is_bot and stale:
        user_row = (user.id, nfc(user.full_name), user.username, user.language_code)
    if chat_row is None and user_row is None:
        return
    await people.touch(svc.db, now, chat=chat_row, user=user_row)
    if chat_row is not None:
        seen[("chat", chat_row[0])] = now
    if user_row is not None:
        seen[("user", user_row[0])] = now
    if len(seen) > _SEEN_MAX:  # bounded (issue 10): entries past the interval are useless
        for key in [k for k, at in seen.items() if now - at > _TOUCH_INTERVAL]:
            del seen[key]
        while len(seen) > _SEEN_MAX:
            seen.pop(next(iter(seen)))


EDITED_HINT = "✏️ Loa không xử lý tin nhắn đã sửa. Vui lòng gửi lại nội dung bằng một tin nhắn mới."


async def first_look(update: Update, context: Context) -> None:
    """Group -1: record the chat and user, then stop edited messages from going further.

    Telegram delivers a user's edit as a new update; PTB's command and message handlers
    accept edits by default, so an edited "/ykien …" or a moderator's corrected answer
    would run a second time. Edits are ignored (with a hint in private chats).
    """
    await track_update(update, context)
    if update.edited_message is not None or update.edited_channel_post is not None:
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            await context.bot.send_message(chat.id, EDITED_HINT)
        raise ApplicationHandlerStop


def forget_seen(
    context: Context, *, chat_id: int | None = None, user_id: int | None = None
) -> None:
    """Make the next update re-write a chat or user row (after it was deleted or changed)."""
    seen: dict[tuple[str, int], float] = context.application.bot_data.setdefault("seen", {})
    if chat_id is not None:
        seen.pop(("chat", chat_id), None)
    if user_id is not None:
        seen.pop(("user", user_id), None)


def _membership_change(update: ChatMemberUpdated) -> tuple[bool, bool]:
    """(was a member, is a member) for the bot in this my_chat_member update."""
    present = {ChatMember.MEMBER, ChatMember.OWNER, ChatMember.ADMINISTRATOR}

    def member(m: ChatMember) -> bool:
        if m.status in present:
            return True
        return m.status == ChatMember.RESTRICTED and bool(getattr(m, "is_member", False))

    return member(update.old_chat_member), member(update.new_chat_member)


async def on_my_chat_member(update: Update, context: Context) -> None:
    """The bot was added to, removed from, blocked or unblocked in a chat."""
    change = update.my_chat_member
    if change is None:
        return
    svc = services(context)
    was, now_member = _membership_change(change)
    chat = change.chat
    await people.upsert_chat(svc.db, chat.id, chat.type, _title(chat), chat.username, clock.now())
    if was and not now_member:
        reason = "blocked" if chat.type == ChatType.PRIVATE else "removed"
        await people.set_chat_active(svc.db, chat.id, False, reason)
        log.info("bot %s in chat %s", reason, chat.id)
    elif now_member and not was:
        await people.set_chat_active(svc.db, chat.id, True, None)
        log.info("bot added to / unblocked in chat %s", chat.id)
    for hook in svc.features.get("membership_hooks", []):
        await hook(update, context, was, now_member)
    if now_member and not was:
        await introduce_in_group(update, context)


WELCOME = (
    "👋 Xin chào {name}!\n\n"
    "Tôi là <b>Loa</b> — kênh thông tin của Ban Tuyên giáo trên Telegram. "
    "Tại đây bạn có thể đọc tin tức, nhận thông báo và gửi ý kiến đến cơ quan.\n\n"
    "Chọn một việc bên dưới, hoặc gõ /help để xem các lệnh."
)

GROUP_INTRO = (
    "👋 Xin chào cả nhóm! Tôi là <b>Loa</b> — kênh thông tin của Ban Tuyên giáo.\n\n"
    "Để nhóm nhận thông báo, một <b>quản trị viên của nhóm</b> gõ /dangky. "
    "Nhóm cán bộ, đảng viên được Ban Tuyên giáo duyệt sẽ nhận thêm chỉ đạo nội bộ "
    "và xác nhận bằng nút [✅ Đã nhận].\n"
    "Ý kiến cá nhân xin gửi trong tin nhắn riêng với Loa (/ykien) để bảo vệ thông tin "
    "của người gửi.\n\n"
    "<b>Lệnh dùng được trong nhóm</b>\n{commands}"
)

# /start's buttons: (label, command run by the button). The commands are registered by
# their features; a button press runs the same handler with no arguments.
START_BUTTONS = (
    ("📰 Tin mới", "tin"),
    ("🔔 Đăng ký nhận tin", "dangky"),
    ("💬 Gửi ý kiến", "ykien"),
    ("❓ Các lệnh", "help"),
)
StartButtonHandler = Callable[[Update, Context], Coroutine[Any, Any, Any]]


def start_keyboard() -> InlineKeyboardMarkup:
    """The main actions under the welcome; search opens inline mode in this chat."""
    buttons = [
        InlineKeyboardButton(label, callback_data=f"st:{cmd}") for label, cmd in START_BUTTONS
    ]
    buttons.insert(1, InlineKeyboardButton("🔎 Tìm bài", switch_inline_query_current_chat=""))
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def make_start_button(handlers: Mapping[str, StartButtonHandler]) -> StartButtonHandler:
    """Callback st:<command>: run that command's handler for the presser."""

    async def start_button(update: Update, context: Context) -> None:
        """One of /start's buttons."""
        data = update.callback_query.data if update.callback_query else None
        handler = handlers.get((data or "").partition(":")[2])
        if handler is None:
            await answer_query(update, EXPIRED_BUTTON, alert=True)
            return
        await answer_query(update)
        await handler(update, context)

    return start_button


async def introduce_in_group(update: Update, context: Context) -> None:
    """The bot was added to a group: say what it does and how the group subscribes."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE or change.chat.type == "channel":
        return
    svc = services(context)
    listed = menus.visible_commands(svc, None, private=False)
    commands = "\n".join(f"/{c.name} — {html.escape(c.description)}" for c in listed)
    try:
        await context.bot.send_message(change.chat.id, GROUP_INTRO.format(commands=commands))
    except TelegramError as exc:  # e.g. the group allows no messages from bots
        log.info("could not introduce the bot in chat %s: %s", change.chat.id, exc)


def make_start(payloads: Mapping[str, StartPayloadHandler]) -> Callable[[Update, Context], Any]:
    """/start, dispatching deep-link payloads (t.me/<bot>?start=<prefix><rest>) by prefix."""

    async def start(update: Update, context: Context) -> None:
        """Welcome the user, or open what the deep link points to."""
        payload = (context.args or [""])[0] if context.args else ""
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            # A new /start in a private chat means the user unblocked us.
            await people.set_chat_active(services(context).db, chat.id, True, None)
            for hook in services(context).features.get("start_hooks", []):
                await hook(update, context)
        for prefix, handler in payloads.items():
            if payload.startswith(prefix):
                await handler(update, context, payload[len(prefix) :])
                return
        user = update.effective_user
        name = quote(user.first_name, 64) if user else "bạn"
        private = chat is None or chat.type == ChatType.PRIVATE
        await reply(
            update, WELCOME.format(name=name), reply_markup=start_keyboard() if private else None
        )

    return start


async def help_command(update: Update, context: Context) -> None:
    """/help: what works here for this person (bot.handlers.menus.visible_commands)."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    role = await svc.role_of(user.id if user else None)
    private = chat is None or chat.type == ChatType.PRIVATE
    admin_chat = chat is not None and chat.id == svc.settings.admin_chat_id
    public: list[str] = []
    staff: list[str] = []
    for info in menus.visible_commands(svc, role, private=private, admin_chat=admin_chat):
        line = f"/{info.name} — {html.escape(info.description)}"
        (public if info.permission is None else staff).append(line)
    title = "Các lệnh của Loa" if private else "Các lệnh của Loa dùng được trong nhóm"
    text = f"<b>{title}</b>\n" + "\n".join(public)
    if staff and role is not None:
        text += f"\n\n<b>Dành cho {ROLE_LABELS_VI[role]}</b>\n" + "\n".join(staff)
    elif not private and role is not None:
        text += "\n\nCác lệnh quản trị dùng trong tin nhắn riêng với Loa hoặc nhóm quản trị."
    await reply(update, text)


async def unknown_command(update: Update, context: Context) -> None:
    """A command nobody handles: say so in private chats, stay quiet in groups."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        await reply(update, "❓ Lệnh không đúng. Gõ /help để xem các lệnh có thể dùng.")


async def private_text_fallback(update: Update, context: Context) -> None:
    """Plain text or media in a private chat that no conversation expects."""
    await reply(
        update,
        "Tôi chưa hiểu tin nhắn này. Bạn có thể:\n"
        "• /tin — đọc tin mới\n"
        "• /timkiem &lt;từ khóa&gt; — tìm bài viết\n"
        "• /ykien — gửi ý kiến đến Ban Tuyên giáo\n"
        "• /help — xem tất cả các lệnh",
    )


async def unknown_callback(update: Update, context: Context) -> None:
    """A button whose data no handler recognises (old message, forged data)."""
    await answer_query(update, EXPIRED_BUTTON, alert=True)


async def on_error(update: object, context: Context) -> None:
    """Log every unexpected error first, then tell the admin chat and the user briefly."""
    err = context.error
    if isinstance(err, BadRequest) and "not modified" in str(err).lower():
        # A double tap on a button asks for the same edit twice; Telegram refuses the
        # second one ("message is not modified"). Nothing went wrong for the user.
        log.debug("ignored 'message is not modified'")
        if isinstance(update, Update):
            with contextlib.suppress(TelegramError):
                await answer_query(update)
        return
    if isinstance(err, Forbidden):
        # The bot left the chat or was blocked while answering (a button pressed in a
        # group it has since left): nobody to tell; the pacer marked the chat inactive.
        log.info("reply not delivered (403): %s", err.message)
        if isinstance(update, Update):
            with contextlib.suppress(TelegramError):
                await answer_query(update)
        return
    log.error("unhandled error while processing an update", exc_info=err)
    svc = services(context)
    name = type(err).__name__ if err else "Error"
    admin_chat = svc.settings.admin_chat_id
    if admin_chat is not None and not isinstance(err, TelegramError):
        stamp = clock.format_local(time.time(), svc.settings.tz)
        try:
            await context.bot.send_message(
                admin_chat, f"⚠️ Lỗi {html.escape(name)} lúc {stamp}; chi tiết trong nhật ký."
            )
        except TelegramError:
            log.warning("could not tell the admin chat about an error")
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query is not None:
                await answer_query(update, "Đã có lỗi xảy ra, vui lòng thử lại.", alert=True)
            else:
                await reply(update, "⚠️ Đã có lỗi xảy ra. Vui lòng thử lại sau.")
        except TelegramError:
            pass
