"""Subscriptions: /subscribe, /unsubscribe, /topics, cadre approval, units, (de)activation."""

from __future__ import annotations

import contextlib
import html
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.broadcasts import APPROVAL_LABELS_VI, parse_chat_id
from bot.domain.errors import InvalidInput
from bot.domain.text import pack_html_lines, quote
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.services import CommandInfo, Services
from bot.store import people, units
from bot.store import subscriptions as subs

log = logging.getLogger(__name__)

_ADMIN_STATUSES = frozenset({"creator", "administrator"})
# Telegram HTML: a literal "<" must be "&lt;" (tests/test_broadcast_texts.py checks).
USAGE_SETUNIT = (
    "Cú pháp: /gandonvi &lt;mã nhóm&gt; &lt;đơn vị&gt;, ví dụ /gandonvi -100123 phuong-chi-lang"
    " (dùng - để xóa)."
)
USAGE_CHAT_ID = "Cần ghi mã nhóm, ví dụ /duyetnhom -1001234567890"


async def is_group_admin(update: Update, context: Context) -> bool:
    """Ask Telegram (getChatMember) at every call whether the sender administers this group."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None:
        return False
    if message is not None and message.sender_chat is not None:
        # An anonymous group admin posts as the group itself.
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("getChatMember failed in %s: %s", chat.id, exc)
        return False
    return member.status in _ADMIN_STATUSES


def _parse_topics(svc: Services, text: str) -> list[str]:
    words = [w.strip().lower() for w in text.replace(",", " ").split() if w.strip()]
    unknown = [w for w in words if w not in svc.settings.topics]
    if unknown:
        raise InvalidInput(
            f"Chủ đề không có: {quote(', '.join(unknown), 200)}. Gõ /chude để xem danh sách."
        )
    return words


@user_errors
async def subscribe_command(update: Update, context: Context) -> None:
    """/subscribe [topic …]: a private chat subscribes itself; a group needs one of its admins."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    topics = _parse_topics(svc, command_text(update))
    is_group = chat.type != ChatType.PRIVATE
    if is_group and not await is_group_admin(update, context):
        await reply(update, "⛔ Chỉ quản trị viên của nhóm mới được đăng ký nhận tin cho nhóm.")
        return
    now = clock.now()
    await people.upsert_chat(
        svc.db, chat.id, chat.type, chat.title or chat.full_name, chat.username, now
    )
    sub, _new = await subs.subscribe(svc.db, chat.id, user.id if user else None, topics, now)
    names = [svc.settings.topic_name(t) for t in sub.topics]
    topic_text = ", ".join(names) if names else "tất cả chủ đề"
    text = f"✅ Đã đăng ký nhận tin ({html.escape(topic_text)})."
    if is_group:
        if sub.approval in ("none", "rejected", "revoked"):
            await subs.set_approval(
                svc.db, chat.id, "pending", actor_id=None, actor_role=None, now=now
            )
            await _notify_admins(update, context, chat.id, chat.title or str(chat.id))
            text += "\nNhóm sẽ nhận tin công khai; Ban Tuyên giáo sẽ xét duyệt để nhận tin nội bộ."
        elif sub.approval == "approved":
            text += "\nNhóm đã được duyệt là nhóm cán bộ."
        else:
            text += "\nĐang chờ Ban Tuyên giáo duyệt nhận tin nội bộ."
    text += "\nHủy đăng ký: /huydangky"
    await reply(update, text)


async def _notify_admins(update: Update, context: Context, chat_id: int, title: str) -> None:
    admin_chat = services(context).settings.admin_chat_id
    if admin_chat is None:
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Duyệt", callback_data=f"sub:ok:{chat_id}"),
                InlineKeyboardButton("❌ Từ chối", callback_data=f"sub:no:{chat_id}"),
            ]
        ]
    )
    user = update.effective_user
    who = quote(user.full_name, 100) if user else "?"
    try:
        await context.bot.send_message(
            admin_chat,
            f"🆕 Nhóm <b>{quote(title, 128)}</b> (<code>{chat_id}</code>) vừa đăng ký nhận tin"
            f" (người đăng ký: {who}).\nDuyệt làm <b>nhóm cán bộ</b> để nhận chỉ đạo, thông báo"
            " nội bộ?",
            reply_markup=keyboard,
        )
    except TelegramError as exc:
        log.warning("could not notify the admin chat: %s", exc)


@user_errors
async def unsubscribe_command(update: Update, context: Context) -> None:
    """/unsubscribe: stop receiving (a group: only its admins)."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    if chat.type != ChatType.PRIVATE and not await is_group_admin(update, context):
        await reply(update, "⛔ Chỉ quản trị viên của nhóm mới được hủy đăng ký cho nhóm.")
        return
    if await subs.deactivate(svc.db, chat.id, "unsubscribed", clock.now()):
        await reply(update, "Đã hủy đăng ký nhận tin. Đăng ký lại: /dangky")
    else:
        await reply(update, "Cuộc trò chuyện này chưa đăng ký nhận tin. Đăng ký: /dangky")


async def topics_command(update: Update, context: Context) -> None:
    """/topics: the topics one may subscribe to, and this chat's choice."""
    svc = services(context)
    chat = update.effective_chat
    lines = ["<b>Các chủ đề có thể đăng ký</b>"]
    lines += [
        f"• {html.escape(svc.settings.topic_name(t))}: <code>{t}</code>"
        for t in svc.settings.topics
    ]
    lines.append("\nVí dụ: /dangky tuyen-truyen — không ghi chủ đề là nhận tất cả.")
    if chat is not None:
        sub = await subs.get_subscription(svc.db, chat.id)
        if sub is not None and sub.active:
            names = [svc.settings.topic_name(t) for t in sub.topics]
            chosen = ", ".join(names) if names else "tất cả"
            lines.append(f"Đang nhận: {html.escape(chosen)}.")
    await reply(update, "\n".join(lines))


def _chat_id_arg(update: Update) -> int:
    text = command_text(update).split()
    if not text:
        raise InvalidInput(USAGE_CHAT_ID)
    return parse_chat_id(text[0])


async def _decide(
    update: Update,
    context: Context,
    chat_id: int,
    approval: str,
    from_states: tuple[str, ...] | None = None,
) -> str:
    svc = services(context)
    user = update.effective_user
    role = await svc.role_of(user.id if user else None)
    sub = await subs.set_approval(
        svc.db,
        chat_id,
        approval,
        actor_id=user.id if user else None,
        actor_role=str(role) if role else None,
        now=clock.now(),
        from_states=from_states,
    )
    chat = await people.get_chat(svc.db, chat_id)
    title = quote(chat.title if chat and chat.title else str(chat_id), 128)
    notes = {
        "approved": "✅ Nhóm đã được Ban Tuyên giáo duyệt là nhóm cán bộ: sẽ nhận chỉ đạo và"
        " thông báo nội bộ.",
        "revoked": "Nhóm không còn là nhóm cán bộ; từ nay chỉ nhận tin công khai.",
    }
    if approval in notes and sub.active:
        try:
            await context.bot.send_message(chat_id, notes[approval])
        except TelegramError as exc:
            log.info("could not tell chat %s about its approval: %s", chat_id, exc)
    return f"{title} (<code>{chat_id}</code>): {APPROVAL_LABELS_VI[approval]}."


@requires("admin")
@user_errors
async def approve_command(update: Update, context: Context) -> None:
    """/approve <chat_id>: make a subscribed group a cadre chat."""
    await reply(update, await _decide(update, context, _chat_id_arg(update), "approved"))


@requires("admin")
@user_errors
async def revoke_command(update: Update, context: Context) -> None:
    """/revoke <chat_id>: the group is no longer a cadre chat (checked again at every send)."""
    await reply(update, await _decide(update, context, _chat_id_arg(update), "revoked"))


@requires("admin")
@user_errors
async def approval_button(update: Update, context: Context) -> None:
    """[Duyệt]/[Từ chối] under a subscription notice in the admin chat.

    Only a subscription still waiting (pending) is decided here: a stale notice must not
    turn an approved group into a rejected one (/revoke is the way to revoke).
    """
    query = update.callback_query
    assert query is not None and query.data is not None
    _, verdict, raw = query.data.split(":", 2)
    approval = "approved" if verdict == "ok" else "rejected"
    chat_id = parse_chat_id(raw)
    try:
        line = await _decide(update, context, chat_id, approval, ("pending",))
    except rules.StaleDecision as exc:
        label = APPROVAL_LABELS_VI.get(exc.current, exc.current)
        await answer_query(
            update,
            f"Nhóm này đã được quyết định trước đó (hiện: {label}). Nút này không còn hiệu lực;"
            " muốn thu hồi hãy dùng /thuhoinhom.",
            alert=True,
        )
        return
    await answer_query(update, "Đã duyệt." if approval == "approved" else "Đã từ chối.")
    user = update.effective_user
    by = quote(user.full_name, 100) if user else "?"
    if query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_text(f"{line}\nNgười quyết định: {by}.")


@requires("admin")
@user_errors
async def setunit_command(update: Update, context: Context) -> None:
    """/setunit <chat_id> <unit|->: label a chat with its ward/commune."""
    svc = services(context)
    args = command_text(update).split(maxsplit=1)
    if len(args) != 2:
        raise InvalidInput(USAGE_SETUNIT)
    chat_id = _chat_id_arg(update)
    user = update.effective_user
    role = await svc.role_of(user.id if user else None)
    actor = (user.id if user else None, str(role) if role else None)
    # The unit comes from the directory (issue 16): a code, an old code or a name.
    found = (
        None
        if args[1] == "-"
        else await units.ensure_unit(svc.db, args[1], actor=actor, now=clock.now())
    )
    await subs.set_unit(
        svc.db,
        chat_id,
        found.code if found else None,
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
    )
    await reply(
        update,
        f"Đã gán đơn vị {quote(found.name if found else '(không)', 60)}"
        f" cho <code>{chat_id}</code>.",
    )


@requires("admin")
async def subscribers_command(update: Update, context: Context) -> None:
    """/subscribers: subscribed groups with their audience and unit (for /approve, /setunit).

    Every group is listed, in as many messages as needed (whole lines, under 4096). Only
    in a private chat with the bot or in the admin group: it names the cadre groups.
    """
    svc = services(context)
    private, groups = await subs.subscription_overview(svc.db)
    names = await units.names_by_code(svc.db)  # units by name, never by code (issue 16)
    lines = [f"<b>Đăng ký nhận tin</b>: {private} cá nhân, {len(groups)} nhóm"]
    for g in groups:
        state = APPROVAL_LABELS_VI.get(g.approval, g.approval)
        if not g.active:
            state += f", ngừng nhận ({html.escape(g.inactive_reason or '')})"
        unit = f", {html.escape(names.get(g.unit, g.unit))}" if g.unit else ""
        lines.append(f"• {quote(g.title or '?', 128)} <code>{g.chat_id}</code>: {state}{unit}")
    for text in pack_html_lines(lines):
        await reply(update, text)


async def on_membership(update: Update, context: Context, was: bool, is_member: bool) -> None:
    """my_chat_member: removal/blocking deactivates the subscription; re-adding reactivates."""
    change = update.my_chat_member
    if change is None:
        return
    svc = services(context)
    chat_id = change.chat.id
    if was and not is_member:
        reason = "blocked" if change.chat.type == ChatType.PRIVATE else "removed"
        if await subs.deactivate(svc.db, chat_id, reason, clock.now()):
            log.info("subscription of %s deactivated (%s)", chat_id, reason)
    elif is_member and not was and await subs.reactivate(svc.db, chat_id, clock.now()):
        log.info("subscription of %s reactivated", chat_id)


async def on_start(update: Update, context: Context) -> None:
    """A new /start in a private chat reactivates a subscription lost to blocking."""
    chat = update.effective_chat
    if chat is not None:
        await subs.reactivate(services(context).db, chat.id, clock.now())


async def on_migrate(update: Update, context: Context) -> None:
    """The group became a supergroup (service message): move its rows to the new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    old, new = message.chat.id, int(message.migrate_to_chat_id)
    await subs.migrate_chat(services(context).db, old, new, clock.now())
    log.info("chat %s migrated to %s (service message)", old, new)


def register(app: Any, svc: Services, start_payloads: dict[str, Any]) -> None:
    """Subscription handlers and hooks."""
    svc.commands.extend(
        [
            CommandInfo("dangky", "Đăng ký nhận thông báo", aliases=("subscribe",)),
            CommandInfo("huydangky", "Hủy đăng ký nhận thông báo", aliases=("unsubscribe",)),
            CommandInfo("chude", "Các chủ đề có thể đăng ký", aliases=("topics",)),
            CommandInfo(
                "dsdangky", "Danh sách nhóm đăng ký", aliases=("subscribers",), permission="admin"
            ),
            CommandInfo(
                "duyetnhom",
                "Duyệt nhóm cán bộ: /duyetnhom <mã nhóm>",
                aliases=("approve",),
                permission="admin",
            ),
            CommandInfo(
                "thuhoinhom",
                "Thu hồi nhóm cán bộ: /thuhoinhom <mã nhóm>",
                aliases=("revoke",),
                permission="admin",
            ),
            CommandInfo(
                "gandonvi",
                "Gán đơn vị: /gandonvi <mã nhóm> <đơn vị>",
                aliases=("setunit",),
                permission="admin",
            ),
        ]
    )
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate))
    app.add_handler(CommandHandler(["subscribe", "dangky"], subscribe_command))
    app.add_handler(CommandHandler(["unsubscribe", "huydangky"], unsubscribe_command))
    app.add_handler(CommandHandler(["chude", "topics"], topics_command))
    app.add_handler(CommandHandler(["dsdangky", "subscribers"], subscribers_command))
    app.add_handler(CommandHandler(["duyetnhom", "approve"], approve_command))
    app.add_handler(CommandHandler(["thuhoinhom", "revoke"], revoke_command))
    app.add_handler(CommandHandler(["gandonvi", "setunit"], setunit_command))
    app.add_handler(CallbackQueryHandler(approval_button, pattern=r"^sub:(ok|no):-?\d+$"))
    svc.features.setdefault("membership_hooks", []).append(on_membership)
    svc.features.setdefault("start_hooks", []).append(on_start)
    svc.forgetters.append(subs.forget_user)
