"""Announcements, directives, acknowledgements and the broadcast admin views.

Admins write announcements in Telegram's HTML subset; it is validated before anything
is stored (bot.domain.broadcasts.validate_html). Every command and button re-checks the
sender's role when it runs. Two-person rule (issue 6): an editor may prepare any
announcement, but one whose recipients include an approved cadre chat (cadre/unit
audiences and directives always; "all" and topics when a cadre chat subscribed) waits
for an admin's [Duyệt]; owners and admins send directly. The rule is checked when the
editor confirms, again when the deliveries are created, and at the moment of sending.

Composing and the admin views (/thongbao, /directive, /broadcast(s), /acks) work only in
a private chat with the bot or in the admin group: previews of internal texts must never
appear in a public group.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import warnings
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.dispatcher import AutoCheck, Dispatcher, ack_markup, summary_text
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.broadcasts import parse_id
from bot.domain.directives import (
    Directive,
    load_directives,
    load_directives_with_hashes,
    read_directive,
)
from bot.domain.errors import ContentError, InvalidInput, NotFound
from bot.domain.text import pack_html_lines
from bot.handlers import subscriptions
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.handlers.subscriptions import private_or_admin_chat
from bot.services import CommandInfo, Services
from bot.store import broadcasts as store

log = logging.getLogger(__name__)

TEXT, WHEN, EDIT = range(3)

# Every user-facing constant below is Telegram HTML: a literal "<" must be "&lt;"
# (tests/test_broadcast_texts.py runs each through the strict parser).
ASK_TEXT = (
    "✍️ Gửi nội dung thông báo trong tin nhắn tiếp theo.\n"
    "Định dạng HTML của Telegram: &lt;b&gt;đậm&lt;/b&gt;, &lt;i&gt;nghiêng&lt;/i&gt;, "
    '&lt;a href="https://…"&gt;liên kết&lt;/a&gt;. Gõ /cancel để hủy.'
)
USAGE_BROADCAST = "Cú pháp: /broadcast &lt;số bản tin&gt;, xem /broadcasts."
USAGE_ACKS = "Cú pháp: /acks &lt;số bản tin&gt;"
USAGE_DIRECTIVE = "Cú pháp: /directive 2022-Q2 [đơn vị]"
APPROVAL_REQUESTED = "🔐 Bản tin #{id} sẽ tới nhóm cán bộ: đã chuyển quản trị viên duyệt."
CHIDAO_INTERNAL = (
    "🔒 Chỉ đạo là tài liệu nội bộ, chỉ xem được trong nhóm cán bộ đã được Ban Tuyên giáo"
    " duyệt. Nhóm của đồng chí có thể đăng ký bằng /dangky rồi chờ duyệt."
)


def _dispatcher(context: Context) -> Dispatcher:
    return services(context).features["dispatcher"]


def _user_data(context: Context) -> dict[Any, Any]:
    """The sender's user_data: these handlers only run for button presses and messages in
    the broadcast conversations, which always have a user (PTB types it Optional)."""
    data = context.user_data
    assert data is not None
    return data


async def _actor(update: Update, context: Context) -> tuple[int | None, str | None]:
    user = update.effective_user
    role = await services(context).role_of(user.id if user else None)
    return (user.id if user else None), (str(role) if role else None)


def _folder(svc: Services) -> Path:
    return svc.settings.content_dir / "directives"


def _directives(svc: Services) -> dict[str, Directive]:
    found, problems = load_directives(_folder(svc), svc.settings.tz)
    for problem in problems:
        log.warning("directive file problem: %s", problem)
    return found


def _audience_of(directive: Directive) -> rules.Audience:
    if directive.units:
        return rules.Audience("unit", ",".join(directive.units))
    return rules.Audience("cadre")


# --- preview and audience ---------------------------------------------------------------


async def _control(svc: Services, b: store.Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    audience = rules.parse_audience(b.audience)
    count = await store.count_recipients(svc.db, audience)
    kind = rules.KIND_LABELS_VI.get(b.kind, b.kind)
    text = (
        f"👆 Xem trước {kind.lower()} #{b.id} ({len(b.parts)} tin nhắn),"
        " đúng như người nhận sẽ thấy.\n"
        f"Đối tượng: <b>{html.escape(audience.label_vi())}</b>\n"
        f"Số cuộc trò chuyện sẽ nhận: <b>{count}</b>"
    )
    if b.scheduled_at:
        text += f"\nHẹn gửi: {clock.format_local(b.scheduled_at, svc.settings.tz)}"
    if audience.cadre_only:
        text += "\n🔒 Nội bộ: chỉ gửi tới nhóm cán bộ đã duyệt (kiểm tra lại lúc gửi)."

    def button(label: str, key: str) -> InlineKeyboardButton:
        mark = "✓ " if key == b.audience else ""
        return InlineKeyboardButton(mark + label, callback_data=f"bc:a:{b.id}:{key}")

    rows: list[list[InlineKeyboardButton]] = []
    if b.kind == "announcement":
        rows.append(
            [button("Tất cả", "all"), button("Công khai", "public"), button("Cán bộ", "cadre")]
        )
    else:
        rows.append([button("Mọi nhóm cán bộ", "cadre")])
    units = await store.list_units(svc.db)
    unit_buttons = [button(f"Đơn vị {u}", f"unit:{u}") for u in units[:8]]
    rows.extend(unit_buttons[i : i + 2] for i in range(0, len(unit_buttons), 2))
    if b.kind == "announcement":
        topic_buttons = [button(f"Chủ đề {t}", f"topic:{t}") for t in svc.settings.topics[:6]]
        rows.extend(topic_buttons[i : i + 2] for i in range(0, len(topic_buttons), 2))
    rows.append(
        [
            InlineKeyboardButton("📤 Gửi ngay", callback_data=f"bc:go:{b.id}"),
            InlineKeyboardButton("⏰ Hẹn giờ", callback_data=f"bc:at:{b.id}"),
            InlineKeyboardButton("✖️ Hủy", callback_data=f"bc:x:{b.id}"),
        ]
    )
    return text, InlineKeyboardMarkup(rows)


async def send_preview(context: Context, chat_id: int, b: store.Broadcast) -> None:
    """The parts exactly as recipients get them, then the control message."""
    svc = services(context)
    for i, part in enumerate(b.parts):
        markup = ack_markup(b.id) if b.with_ack and i == len(b.parts) - 1 else None
        await context.bot.send_message(chat_id, part, reply_markup=markup)
    text, markup = await _control(svc, b)
    await context.bot.send_message(chat_id, text, reply_markup=markup)


async def _new_announcement(update: Update, context: Context, source: str) -> None:
    svc = services(context)
    body, parts = rules.prepare_text(source)
    user, chat = update.effective_user, update.effective_chat
    assert chat is not None
    bid = await store.create_draft(
        svc.db,
        kind="announcement",
        body=body,
        parts=parts,
        audience=rules.Audience("all"),
        created_by=user.id if user else None,
        now=clock.now(),
        report_chat_id=chat.id,
    )
    await send_preview(context, chat.id, await store.get_broadcast(svc.db, bid))


@requires("broadcast")
@private_or_admin_chat
@user_errors
async def announce_command(update: Update, context: Context) -> int:
    """/announce <text> (or /announce, then the text)."""
    text = command_text(update)
    if not text:
        await reply(update, ASK_TEXT)
        return TEXT
    await _new_announcement(update, context, text)
    return ConversationHandler.END


@private_or_admin_chat
@requires("broadcast", refused=ConversationHandler.END)
async def announce_text(update: Update, context: Context) -> int | None:
    """The announcement text after a bare /announce (role re-checked)."""
    message = update.effective_message
    try:
        await _new_announcement(update, context, message.text if message and message.text else "")
    except InvalidInput as exc:
        await reply(update, f"{exc.user_message}\nHãy gửi lại nội dung đã sửa, hoặc /cancel.")
        return TEXT
    return ConversationHandler.END


async def cancel_command(update: Update, context: Context) -> int:
    """/cancel inside the announcement conversation."""
    _user_data(context).pop("bc_at", None)
    _user_data(context).pop("bc_edit", None)
    await reply(update, "Đã hủy.")
    return ConversationHandler.END


def _id_from(update: Update, index: int = 2) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    fields = query.data.split(":")
    return parse_id(fields[index] if index < len(fields) else "")


@requires("broadcast")
@user_errors
async def audience_button(update: Update, context: Context) -> None:
    """[Tất cả]/[Công khai]/[Cán bộ]/[Đơn vị …]/[Chủ đề …] on a draft's control message."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, raw_id, key = query.data.split(":", 3)
    b = await store.get_broadcast(svc.db, parse_id(raw_id))
    await store.set_draft_audience(svc.db, b.id, rules.parse_audience(key), b.kind)
    text, markup = await _control(svc, await store.get_broadcast(svc.db, b.id))
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=markup)


async def _start_sending(
    context: Context,
    b: store.Broadcast,
    actor: tuple[int | None, str | None],
    when: int | None,
    *,
    admin_approved: bool,
) -> str:
    """Create the deliveries (one transaction), post the progress message, wake the worker.

    NeedsAdminApproval (from the store) when not `admin_approved` and a recipient is an
    approved cadre chat.
    """
    svc = services(context)
    total = await store.queue_broadcast(
        svc.db,
        b.id,
        scheduled_at=when,
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
        admin_approved=admin_approved,
    )
    if when is not None and when > clock.now():
        return (
            f"⏰ Đã hẹn gửi bản tin #{b.id} lúc {clock.format_local(when, svc.settings.tz)} "
            f"đến {total} cuộc trò chuyện. Dừng: /broadcast {b.id}"
        )
    if b.report_chat_id is not None and total:
        try:
            message = await context.bot.send_message(
                b.report_chat_id, f"📤 Bắt đầu gửi bản tin #{b.id} đến {total} cuộc trò chuyện…"
            )
            await store.set_report_message(svc.db, b.id, b.report_chat_id, message.message_id)
        except TelegramError as exc:
            log.warning("no progress message for %s: %s", b.id, exc)
    _dispatcher(context).wake()
    return f"📤 Đang gửi bản tin #{b.id} đến {total} cuộc trò chuyện."


async def _ask_approval(context: Context, b: store.Broadcast, who: str) -> None:
    svc = services(context)
    admin_chat = svc.settings.admin_chat_id
    if admin_chat is None:
        return
    for i, part in enumerate(b.parts):
        markup = ack_markup(b.id) if b.with_ack and i == len(b.parts) - 1 else None
        await context.bot.send_message(admin_chat, part, reply_markup=markup)
    audience = rules.parse_audience(b.audience)
    count = await store.count_recipients(svc.db, audience)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Duyệt", callback_data=f"bc:ok:{b.id}"),
                InlineKeyboardButton("❌ Từ chối", callback_data=f"bc:no:{b.id}"),
            ]
        ]
    )
    when = (
        f"\nHẹn gửi: {clock.format_local(b.scheduled_at, svc.settings.tz)}"
        if b.scheduled_at
        else ""
    )
    await context.bot.send_message(
        admin_chat,
        f"🔐 {html.escape(who)} đề nghị gửi bản tin #{b.id} (ở trên) tới "
        f"<b>{html.escape(audience.label_vi())}</b> ({count} cuộc trò chuyện).{when}\n"
        "Cần một quản trị viên duyệt.",
        reply_markup=keyboard,
    )


@requires("broadcast")
@user_errors
async def send_now_button(update: Update, context: Context) -> None:
    """[Gửi ngay]: admins send; an editor's cadre broadcast goes to an admin for approval."""
    await _confirm(update, context, when=None)


async def _confirm(update: Update, context: Context, when: int | None) -> None:
    svc = services(context)
    bid = (
        _id_from(update)
        if update.callback_query
        else parse_id(str(_user_data(context).get("bc_at", "")))
    )
    b = await store.get_broadcast(svc.db, bid)
    if b.state != rules.B_DRAFT:
        raise InvalidInput("Bản tin này đã được xử lý rồi.")
    actor = await _actor(update, context)
    if when is not None:
        await store.set_draft_schedule(svc.db, b.id, when)
        b = await store.get_broadcast(svc.db, b.id)
    is_admin = await svc.may(actor[0], "admin")
    if not is_admin and (
        b.cadre_only or await store.cadre_recipients(svc.db, rules.parse_audience(b.audience))
    ):
        await _request_approval(update, context, b, actor)
        return
    try:
        message = await _start_sending(context, b, actor, when, admin_approved=is_admin)
    except rules.NeedsAdminApproval:
        # A cadre chat subscribed (or was approved) between the check and the queueing.
        await _request_approval(update, context, b, actor)
        return
    await answer_query(update)
    await reply(update, message)


async def _request_approval(
    update: Update, context: Context, b: store.Broadcast, actor: tuple[int | None, str | None]
) -> None:
    """An editor's broadcast reaching cadre chats: to the admins for [Duyệt]."""
    svc = services(context)
    ok = await store.set_broadcast_state(
        svc.db,
        b.id,
        rules.B_AWAITING,
        (rules.B_DRAFT,),
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
        action="broadcast_request_approval",
    )
    if not ok:
        raise InvalidInput("Bản tin này đã được xử lý rồi.")
    user = update.effective_user
    await _ask_approval(context, b, user.full_name if user else "?")
    await answer_query(update)
    await reply(update, APPROVAL_REQUESTED.format(id=b.id))


@requires("broadcast")
@private_or_admin_chat
@user_errors
async def schedule_button(update: Update, context: Context) -> int:
    """[Hẹn giờ]: ask for dd/mm/yyyy hh:mm."""
    svc = services(context)
    b = await store.get_broadcast(svc.db, _id_from(update))
    if b.state != rules.B_DRAFT:
        raise InvalidInput("Bản tin này đã được xử lý rồi.")
    _user_data(context)["bc_at"] = b.id
    await answer_query(update)
    await reply(
        update,
        "⏰ Nhập thời gian gửi dạng dd/mm/yyyy hh:mm (giờ Việt Nam), ví dụ "
        f"{clock.format_local(clock.now() + 3600, svc.settings.tz)}. /cancel để hủy.",
    )
    return WHEN


@private_or_admin_chat
@requires("broadcast", refused=ConversationHandler.END)
async def schedule_text(update: Update, context: Context) -> int:
    """The time typed after [Hẹn giờ]; the past is refused."""
    svc = services(context)
    message = update.effective_message
    try:
        when = clock.parse_local(message.text or "" if message else "", svc.settings.tz)
        if when <= clock.now():
            raise InvalidInput("Thời gian này đã qua. Hãy nhập một thời điểm trong tương lai.")
        await _confirm(update, context, when)
    except NotFound as exc:  # the draft is gone (or the conversation lost its id)
        _user_data(context).pop("bc_at", None)
        await reply(update, exc.user_message)
        return ConversationHandler.END
    except InvalidInput as exc:
        await reply(update, f"{exc.user_message}\nNhập lại, hoặc /cancel.")
        return WHEN
    _user_data(context).pop("bc_at", None)
    return ConversationHandler.END


@requires("broadcast")
@user_errors
async def discard_button(update: Update, context: Context) -> None:
    """[Hủy] on a draft."""
    svc = services(context)
    actor = await _actor(update, context)
    bid = _id_from(update)
    ok = await store.set_broadcast_state(
        svc.db,
        bid,
        rules.B_CANCELLED,
        (rules.B_DRAFT,),
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
        action="broadcast_discard",
    )
    await answer_query(update, "Đã hủy bản nháp." if ok else "Bản tin này đã được xử lý rồi.")
    query = update.callback_query
    if ok and query is not None:
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(f"✖️ Đã hủy bản nháp #{bid}.")


@requires("admin")
@user_errors
async def approve_button(update: Update, context: Context) -> None:
    """[Duyệt]/[Từ chối] an editor's cadre broadcast (admins only, second person)."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    verdict, bid = query.data.split(":")[1], _id_from(update)
    b = await store.get_broadcast(svc.db, bid)
    actor = await _actor(update, context)
    if b.state != rules.B_AWAITING or b.auto:
        raise InvalidInput("Bản tin này không còn chờ duyệt.")
    if verdict == "no":
        await store.set_broadcast_state(
            svc.db,
            bid,
            rules.B_REJECTED,
            (rules.B_AWAITING,),
            actor_id=actor[0],
            actor_role=actor[1],
            now=clock.now(),
            action="broadcast_reject",
        )
        line = f"❌ Bản tin #{bid} bị từ chối."
    else:
        when = b.scheduled_at if b.scheduled_at and b.scheduled_at > clock.now() else None
        line = "✅ Đã duyệt. " + await _start_sending(context, b, actor, when, admin_approved=True)
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(line)
    if b.report_chat_id is not None and b.report_chat_id != (
        query.message.chat.id if query.message else None
    ):
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(b.report_chat_id, line)


# --- views and actions on sent broadcasts ----------------------------------------------------


@requires("broadcast")
@private_or_admin_chat
async def broadcasts_command(update: Update, context: Context) -> None:
    """/broadcasts: recent broadcasts with their state and counts."""
    svc = services(context)
    lines = ["<b>Bản tin gần đây</b>"]
    for b in await store.recent_broadcasts(svc.db, 15):
        stats = await store.broadcast_stats(svc.db, b.id)
        sent = stats.counts.get(rules.SENT, 0)
        title = html.escape((b.title or rules.visible_text(b.body))[:40])
        when = (
            f" — gửi lúc {clock.format_local(b.scheduled_at, svc.settings.tz)}"
            if b.auto and b.state == rules.B_AWAITING and b.scheduled_at
            else ""
        )
        lines.append(
            f"#{b.id} {rules.KIND_LABELS_VI.get(b.kind, b.kind)} — "
            f"{html.escape(b.state_label)}{when}, {sent}/{b.total} — {title}"
        )
    if len(lines) == 1:
        lines.append("Chưa có bản tin nào.")
    lines.append("Chi tiết: /broadcast &lt;số&gt;")
    for text in pack_html_lines(lines):
        await reply(update, text)


def _actions(b: store.Broadcast, stats: store.BroadcastStats) -> InlineKeyboardMarkup | None:
    row = []
    if b.state == rules.B_AWAITING and not b.auto:
        row.append(InlineKeyboardButton("✅ Duyệt", callback_data=f"bc:ok:{b.id}"))
        row.append(InlineKeyboardButton("❌ Từ chối", callback_data=f"bc:no:{b.id}"))
    if b.state in (rules.B_QUEUED, rules.B_SENDING, rules.B_AWAITING):
        row.append(InlineKeyboardButton("⏹ Dừng", callback_data=f"bc:stop:{b.id}"))
    if stats.counts.get(rules.FAILED):
        row.append(InlineKeyboardButton("🔁 Gửi lại phần lỗi", callback_data=f"bc:retry:{b.id}"))
    if stats.counts.get(rules.SENT):
        row.append(InlineKeyboardButton("✏️ Sửa", callback_data=f"bc:edit:{b.id}"))
        row.append(InlineKeyboardButton("🗑 Thu hồi", callback_data=f"bc:del:{b.id}"))
    return InlineKeyboardMarkup([row]) if row else None


@requires("broadcast")
@private_or_admin_chat
@user_errors
async def broadcast_command(update: Update, context: Context) -> None:
    """/broadcast <id>: counts per state, reasons, timing, actions."""
    svc = services(context)
    arg = command_text(update).lstrip("#")
    if not (arg.isascii() and arg.isdigit()):
        raise InvalidInput(USAGE_BROADCAST)
    b = await store.get_broadcast(svc.db, parse_id(arg))
    stats = await store.broadcast_stats(svc.db, b.id)
    await reply(update, summary_text(b, stats, svc.settings.tz), reply_markup=_actions(b, stats))


@requires("broadcast")
@user_errors
async def stop_button(update: Update, context: Context) -> None:
    """[Dừng]: cancel what is not sent yet (stays cancelled across restarts)."""
    svc = services(context)
    actor = await _actor(update, context)
    n = await store.cancel_broadcast(
        svc.db, _id_from(update), actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    await answer_query(update, f"Đã dừng; {n} người nhận chưa gửi đã được hủy.", alert=True)


@requires("broadcast")
@user_errors
async def retry_button(update: Update, context: Context) -> None:
    """[Gửi lại phần lỗi]: only the failed recipients go back to the queue."""
    svc = services(context)
    actor = await _actor(update, context)
    n = await store.retry_failed(
        svc.db, _id_from(update), actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    _dispatcher(context).wake()
    await answer_query(update, f"Đã xếp gửi lại {n} người nhận bị lỗi.", alert=True)


@requires("admin")
@private_or_admin_chat
@user_errors
async def edit_button(update: Update, context: Context) -> int:
    """[Sửa]: ask for the new text of a sent broadcast."""
    bid = _id_from(update)
    await store.get_broadcast(services(context).db, bid)
    _user_data(context)["bc_edit"] = bid
    await answer_query(update)
    await reply(
        update, f"✏️ Gửi nội dung mới cho bản tin #{bid} (cùng số tin nhắn). /cancel để hủy."
    )
    return EDIT


@private_or_admin_chat
@requires("admin", refused=ConversationHandler.END)
async def edit_text(update: Update, context: Context) -> int:
    """The new text: validated, then queued as one durable edit per sent message."""
    svc = services(context)
    message = update.effective_message
    try:
        bid = parse_id(str(_user_data(context).get("bc_edit", "")))
        b = await store.get_broadcast(svc.db, bid)
        if b.kind == "directive" and b.title:
            raise InvalidInput("Chỉ đạo được sửa trong tệp nội dung, không sửa tại đây.")
        body, parts = rules.prepare_text(message.text or "" if message else "")
        if len(parts) != len(b.parts):
            raise InvalidInput(f"Nội dung mới phải vừa {len(b.parts)} tin nhắn như bản cũ.")
    except (InvalidInput, NotFound) as exc:
        await reply(update, f"{exc.user_message}\nGửi lại, hoặc /cancel.")
        return EDIT
    actor = await _actor(update, context)
    chat = update.effective_chat
    assert chat is not None
    try:
        _action, n = await store.request_edit(
            svc.db,
            bid,
            body,
            parts,
            actor_id=actor[0],
            actor_role=actor[1],
            report_chat_id=chat.id,
            now=clock.now(),
        )
    except (InvalidInput, NotFound) as exc:
        _user_data(context).pop("bc_edit", None)
        await reply(update, exc.user_message)
        return ConversationHandler.END
    _dispatcher(context).forget(bid)
    _dispatcher(context).wake()
    _user_data(context).pop("bc_edit", None)
    await reply(update, f"✏️ Đang sửa bản tin #{bid} ở {n} tin nhắn đã gửi…")
    return ConversationHandler.END


@requires("admin")
@user_errors
async def delete_button(update: Update, context: Context) -> None:
    """[Thu hồi]: stop what is pending and delete the message wherever Telegram allows.

    Durable: one deletion per sent message is queued in the outbox (message_ops) and
    processed by the dispatcher with the same pacing; the report lists what Telegram
    refused (messages older than 48 hours in groups) with the reason.
    """
    svc = services(context)
    bid = _id_from(update)
    actor = await _actor(update, context)
    chat = update.effective_chat
    assert chat is not None
    _action, n, cancelled = await store.request_delete(
        svc.db,
        bid,
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=chat.id,
        now=clock.now(),
    )
    _dispatcher(context).wake()
    note = f"; đã dừng {cancelled} người nhận chưa gửi" if cancelled else ""
    await answer_query(update, f"Đang thu hồi {n} tin nhắn{note}.", alert=True)


# --- directives ------------------------------------------------------------------------------


@requires("broadcast")
@private_or_admin_chat
@user_errors
async def directive_command(update: Update, context: Context) -> None:
    """/directive <quarter> [unit]: preview a directive file for approved cadre chats."""
    svc = services(context)
    args = command_text(update).split()
    if not args:
        raise InvalidInput(USAGE_DIRECTIVE)
    unit_arg = None
    if len(args) >= 2 and not args[-1].startswith("20") and "/" not in args[-1]:
        unit_arg = rules.normalize_label(args[-1])
        args = args[:-1]
    quarter = rules.parse_quarter(" ".join(args))
    directive = _directives(svc).get(quarter)
    if directive is None:
        raise NotFound(f"Chưa có tệp chỉ đạo cho {rules.quarter_label_vi(quarter)}.")
    audience = rules.Audience("unit", unit_arg) if unit_arg else _audience_of(directive)
    body = directive.message_html()
    parts = rules.split_html(body)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    bid = await store.create_draft(
        svc.db,
        kind="directive",
        body=body,
        parts=parts,
        audience=audience,
        created_by=user.id if user else None,
        now=clock.now(),
        title=directive.title,
        with_ack=True,
        directive_key=quarter,
        report_chat_id=chat.id,
    )
    await send_preview(context, chat.id, await store.get_broadcast(svc.db, bid))


async def chidao_command(update: Update, context: Context) -> None:
    """/chidao: the latest published directive, in an approved cadre chat or to staff.

    In a group only a directive meant for it: published (publish_at not in the future)
    and, when the file names units, the chat's unit among them.
    """
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    allowed = False
    unit: str | None = None
    if chat.type == ChatType.PRIVATE:
        # Admins and editors (who send directives) read it in private; citizens and
        # moderators are told it is internal.
        allowed = await svc.may(user.id if user else None, "broadcast")
        in_group = False
    else:
        sub = await store.get_subscription(svc.db, chat.id)
        allowed = sub is not None and sub.active and sub.is_cadre
        unit = sub.unit if sub is not None else None
        in_group = True
    if not allowed:
        await reply(update, CHIDAO_INTERNAL)
        return
    now = clock.now()
    current = rules.quarter_of(now, svc.settings.tz)

    def meant_here(d: Directive) -> bool:
        if d.publish_at is not None and d.publish_at > now:
            return False
        return not (in_group and d.units and unit not in d.units)

    found = _directives(svc)
    candidates = sorted(q for q, d in found.items() if q <= current and meant_here(d))
    if not candidates:
        await reply(update, f"Chưa có chỉ đạo cho {rules.quarter_label_vi(current)}.")
        return
    directive = found[candidates[-1]]
    note = (
        ""
        if directive.quarter == current
        else (
            f"\n\n<i>(Chưa có chỉ đạo {rules.quarter_label_vi(current)};"
            " đây là chỉ đạo gần nhất.)</i>"
        )
    )
    for part in rules.split_html(directive.message_html() + note):
        await reply(update, part)


# --- directive files with publish_at -------------------------------------------------------


async def schedule_directives(svc: Services) -> list[str]:
    """Directive files with publish_at become scheduled broadcasts, once ever (at start and
    on /reload); waiting ones take a changed file's text, units and time.

    Never raises: a broken file is logged (and listed in the returned lines) and skipped.
    Returns Vietnamese lines (HTML) for /reload's answer.
    """
    lines: list[str] = []
    try:
        found, problems, hashes = load_directives_with_hashes(_folder(svc), svc.settings.tz)
    except Exception:  # defensive: load_directives_with_hashes turns files into problems
        log.exception("directive files could not be read")
        return ["⚠️ Không đọc được thư mục chỉ đạo."]
    for problem in problems:
        log.warning("directive file problem: %s", problem)
        lines.append(f"⚠️ Tệp chỉ đạo lỗi, bỏ qua: <code>{html.escape(problem[:300])}</code>")
    waiting = {b.directive_key: b for b in await store.waiting_auto_directives(svc.db)}
    now = clock.now()
    for quarter, directive in found.items():
        if directive.publish_at is None:
            continue
        try:
            line = await _schedule_one(svc, directive, hashes[quarter], waiting.get(quarter), now)
        except Exception:
            log.exception("directive %s could not be scheduled; skipped", directive.path)
            line = f"⚠️ Không hẹn gửi được chỉ đạo {html.escape(quarter)}."
        if line:
            lines.append(line)
    return lines


async def _schedule_one(
    svc: Services, d: Directive, digest: str, waiting: store.Broadcast | None, now: int
) -> str | None:
    assert d.publish_at is not None
    label = rules.quarter_label_vi(d.quarter)
    when = clock.format_local(d.publish_at, svc.settings.tz)
    if waiting is not None:
        if waiting.source_hash == digest:
            return None
        await _take_file(svc, waiting, d, digest, now)
        return f"🔄 Chỉ đạo {label} (#{waiting.id}): đã cập nhật theo tệp, gửi lúc {when}."
    if await store.auto_directive_exists(svc.db, d.quarter):
        return None
    if d.publish_at < now - 86400:
        log.warning(
            "directive %s: publish_at is more than a day ago; not sent automatically"
            " (use /directive %s)",
            d.quarter,
            d.quarter,
        )
        return None
    body = d.message_html()
    new_id = await store.schedule_auto_directive(
        svc.db,
        quarter=d.quarter,
        title=d.title,
        body=body,
        parts=rules.split_html(body),
        audience=_audience_of(d),
        scheduled_at=d.publish_at,
        now=now,
        report_chat_id=svc.settings.admin_chat_id,
        source_path=d.path,
        source_hash=digest,
    )
    if not new_id:
        return None
    log.info("directive %s scheduled as broadcast %s", d.quarter, new_id)
    return f"⏰ Chỉ đạo {label}: hẹn gửi tự động lúc {when} (#{new_id})."


async def _take_file(
    svc: Services, b: store.Broadcast, d: Directive, digest: str, now: int
) -> bool:
    """A waiting automatic directive takes the file's current text, units and time;
    True if what recipients get changed."""
    assert d.publish_at is not None
    body = d.message_html()
    audience = _audience_of(d)
    await store.update_auto_directive(
        svc.db,
        b.id,
        title=d.title,
        body=body,
        parts=rules.split_html(body),
        audience=audience,
        scheduled_at=d.publish_at,
        source_path=d.path,
        source_hash=digest,
        now=now,
    )
    return (body, audience.key(), d.title) != (b.body, b.audience, b.title)


async def reload_directives(svc: Services) -> list[str]:
    """For /reload (bot/handlers/articles.py calls the "reload_hooks"): pick up directive
    files with publish_at added or changed while the bot runs."""
    return await schedule_directives(svc)


async def refresh_auto_directive(svc: Services, b: store.Broadcast) -> AutoCheck:
    """Publish time of an automatic directive: re-read its file first.

    Gone, broken, no longer this quarter's or without publish_at: cancelled with the
    reason (told to the admin chat). Changed: the new text and units are used (and a
    later publish_at waits). Unchanged: sent as stored.
    """
    now = clock.now()
    quarter = b.directive_key or "?"
    label = rules.quarter_label_vi(quarter) if b.directive_key else quarter
    directive: Directive | None = None
    digest = ""
    reason: str | None = None
    path = Path(b.source_path) if b.source_path else None
    if path is not None and path.exists():
        try:
            directive, digest = read_directive(path, svc.settings.tz)
        except ContentError as exc:
            reason = f"tệp chỉ đạo có lỗi ({exc})"
    else:
        # Renamed (or scheduled without a path): the valid file of that quarter, if any.
        found, _problems, hashes = load_directives_with_hashes(_folder(svc), svc.settings.tz)
        directive = found.get(quarter)
        digest = hashes.get(quarter, "")
        if directive is None:
            reason = "tệp chỉ đạo không còn"
    if directive is not None and directive.quarter != quarter:
        reason, directive = f"tệp giờ là chỉ đạo {directive.quarter}, không phải {quarter}", None
    if directive is not None and digest != b.source_hash and directive.publish_at is None:
        reason, directive = "tệp đã bỏ thời điểm gửi (publish_at)", None
    if directive is None:
        why = reason or "tệp chỉ đạo không đọc được"
        await store.cancel_auto_directive(svc.db, b.id, why, now)
        log.warning("automatic directive %s (%s) cancelled: %s", b.id, quarter, why)
        return AutoCheck(
            send=False,
            note=(
                f"⚠️ Chỉ đạo {html.escape(label)} (#{b.id}) không được gửi tự động:"
                f" {html.escape(why)}. Sửa tệp rồi gửi bằng /directive {html.escape(quarter)}."
            ),
        )
    if digest == b.source_hash:
        return AutoCheck(send=True)
    changed = await _take_file(svc, b, directive, digest, now)
    assert directive.publish_at is not None
    if directive.publish_at > now:
        when = clock.format_local(directive.publish_at, svc.settings.tz)
        return AutoCheck(
            send=False,
            note=f"⏰ Chỉ đạo {html.escape(label)} (#{b.id}): tệp đã đổi giờ gửi sang {when}.",
        )
    if not changed:
        return AutoCheck(send=True)
    audience = _audience_of(directive)
    return AutoCheck(
        send=True,
        note=(
            f"ℹ️ Chỉ đạo {html.escape(label)} (#{b.id}): tệp đã sửa sau khi hẹn giờ; gửi"
            f" nội dung mới tới {html.escape(audience.label_vi())}."
        ),
    )


# --- acknowledgements ------------------------------------------------------------------------


async def ack_button(update: Update, context: Context) -> None:
    """[✅ Đã nhận]: record who acknowledged, update the count on the button (debounced)."""
    svc = services(context)
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    try:
        bid = _id_from(update, 1)
    except NotFound:
        await answer_query(update, "Nút này không hợp lệ.", alert=True)
        return
    pressed = query.message.message_id if query.message is not None else None
    if not await store.ack_allowed(svc.db, bid, chat.id, pressed):
        # A preview, or a forged button naming another broadcast than the message shows.
        await answer_query(update, "Nút xác nhận này không thuộc tin nhắn đã gửi tới nhóm.")
        return
    try:
        new, _count = await store.record_ack(svc.db, bid, chat.id, user.id, clock.now())
    except NotFound as exc:
        await answer_query(update, exc.user_message, alert=True)
        return
    await answer_query(update, "Cảm ơn, đã ghi nhận." if new else "Đồng chí đã xác nhận trước đó.")
    if new and query.message is not None:
        _schedule_count_edit(context, bid, chat.id, query.message.message_id)


def _schedule_count_edit(context: Context, bid: int, chat_id: int, message_id: int) -> None:
    pending: set[tuple[int, int]] = context.application.bot_data.setdefault("ack_edits", set())
    key = (chat_id, message_id)
    if key in pending:
        return
    pending.add(key)

    async def later() -> None:
        try:
            # Many presses → one edit; in a group at most ~17 edits/min (limit 20/min).
            await asyncio.sleep(3.5 if chat_id < 0 else 1.0)
            count = await store.ack_count(services(context).db, bid, chat_id)
            pending.discard(key)
            await context.bot.edit_message_reply_markup(
                chat_id, message_id, reply_markup=ack_markup(bid, count)
            )
        except TelegramError as exc:
            log.info("ack count edit failed: %s", exc)
        finally:
            pending.discard(key)

    context.application.create_task(later())


@requires("broadcast")
@private_or_admin_chat
@user_errors
async def acks_command(update: Update, context: Context) -> None:
    """/acks <id>: chats that received the directive and have not acknowledged it.

    Every chat is listed, in as many messages as needed (whole lines, under 4096).
    """
    svc = services(context)
    arg = command_text(update).lstrip("#")
    if not (arg.isascii() and arg.isdigit()):
        raise InvalidInput(USAGE_ACKS)
    b = await store.get_broadcast(svc.db, parse_id(arg))
    if not b.with_ack:
        raise InvalidInput("Bản tin này không có nút xác nhận.")
    missing = await store.unacked_chats(svc.db, b.id)
    stats = await store.broadcast_stats(svc.db, b.id)
    lines = [
        f"<b>Xác nhận bản tin #{b.id}</b>: {stats.acked_chats}/"
        f"{stats.counts.get(rules.SENT, 0)} nhóm đã xác nhận."
    ]
    if missing:
        lines.append(f"Chưa xác nhận ({len(missing)} nhóm):")
        lines += [
            f"• {html.escape(c.title or str(c.chat_id))}"
            + (f" ({html.escape(c.unit)})" if c.unit else "")
            for c in missing
        ]
    markup = (
        InlineKeyboardMarkup(
            [[InlineKeyboardButton("🔔 Nhắc lại", callback_data=f"bc:remind:{b.id}")]]
        )
        if missing
        else None
    )
    messages = pack_html_lines(lines)
    for i, text in enumerate(messages):
        await reply(update, text, reply_markup=markup if i == len(messages) - 1 else None)


@requires("admin")
@user_errors
async def remind_button(update: Update, context: Context) -> None:
    """[Nhắc lại]: a reminder only to the chats that have not acknowledged."""
    svc = services(context)
    parent = await store.get_broadcast(svc.db, _id_from(update))
    if not parent.with_ack or parent.kind == "reminder":
        raise InvalidInput("Chỉ nhắc lại được chỉ đạo có nút xác nhận.")
    actor = await _actor(update, context)
    title = html.escape(parent.title or f"bản tin #{parent.id}")
    body = (
        f"🔔 <b>Nhắc lại</b>: đề nghị đồng chí xác nhận đã nhận chỉ đạo «{title}» "
        f"(#{parent.id}) bằng nút bên dưới."
    )
    chat = update.effective_chat
    rid = await store.queue_reminder(
        svc.db,
        parent,
        body=body,
        parts=[body],
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
        report_chat_id=chat.id if chat else None,
    )
    _dispatcher(context).wake()
    b = await store.get_broadcast(svc.db, rid)
    await answer_query(update, f"Đã gửi nhắc lại tới {b.total} nhóm.", alert=True)


# --- registration ------------------------------------------------------------------------------


def register(app: Any, svc: Services, start_payloads: dict[str, Any]) -> None:
    """Subscriptions, announcements, directives, acks and the dispatcher."""
    settings = svc.settings
    dispatcher = Dispatcher(
        svc.db,
        concurrency=settings.dispatcher_concurrency,
        max_attempts=settings.dispatcher_max_attempts,
        batch_size=settings.dispatcher_batch,
        progress_interval=settings.progress_interval,
        tz=settings.tz,
    )
    svc.features["dispatcher"] = dispatcher
    svc.features.setdefault("heartbeats", {})["broadcasts"] = lambda: dispatcher.heartbeat

    async def refresh(b: store.Broadcast) -> AutoCheck:
        return await refresh_auto_directive(svc, b)

    dispatcher.refresh_auto = refresh
    svc.features.setdefault("reload_hooks", []).append(reload_directives)

    async def start(app: Any) -> None:
        try:
            await schedule_directives(svc)
        except Exception:  # a broken directive must never stop the bot from starting
            log.exception("scheduling directive files failed; the bot starts anyway")
        await dispatcher.start(app)

    svc.starters.append(start)
    svc.stoppers.append(dispatcher.stop)

    svc.commands.extend(
        [
            CommandInfo("chidao", "Chỉ đạo của quý này (nhóm cán bộ)"),
            CommandInfo(
                "announce",
                "Soạn thông báo gửi người đăng ký",
                aliases=("thongbao",),
                permission="broadcast",
            ),
            CommandInfo("directive", "Gửi chỉ đạo quý: /directive 2022-Q2", permission="broadcast"),
            CommandInfo("broadcasts", "Các bản tin gần đây", permission="broadcast"),
            CommandInfo(
                "broadcast", "Chi tiết một bản tin: /broadcast <số>", permission="broadcast"
            ),
            CommandInfo("acks", "Nhóm chưa xác nhận chỉ đạo: /acks <số>", permission="broadcast"),
            CommandInfo("cancel", "Hủy thao tác đang làm", in_menu=False),
        ]
    )
    with warnings.catch_warnings():
        # CallbackQuery entry points with per_message=False are intended here: the
        # conversation is per user and chat, started from a button of a draft.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = _conversation()
    app.add_handler(conversation)
    subscriptions.register(app, svc, start_payloads)
    _register_rest(app)


def _conversation() -> ConversationHandler[Any]:
    return ConversationHandler(
        entry_points=[
            CommandHandler(["announce", "thongbao"], announce_command),
            CallbackQueryHandler(schedule_button, pattern=r"^bc:at:\d+$"),
            CallbackQueryHandler(edit_button, pattern=r"^bc:edit:\d+$"),
        ],
        states={
            TEXT: [MessageHandler(filters.TEXT & ~filters.COMMAND, announce_text)],
            WHEN: [MessageHandler(filters.TEXT & ~filters.COMMAND, schedule_text)],
            EDIT: [MessageHandler(filters.TEXT & ~filters.COMMAND, edit_text)],
        },
        fallbacks=[CommandHandler("cancel", cancel_command)],
        allow_reentry=True,
        name="announce",
    )


def _register_rest(app: Any) -> None:
    app.add_handler(CommandHandler("broadcasts", broadcasts_command))
    app.add_handler(CommandHandler("broadcast", broadcast_command))
    app.add_handler(CommandHandler("directive", directive_command))
    app.add_handler(CommandHandler("chidao", chidao_command))
    app.add_handler(CommandHandler("acks", acks_command))
    app.add_handler(CallbackQueryHandler(audience_button, pattern=r"^bc:a:\d+:"))
    app.add_handler(CallbackQueryHandler(send_now_button, pattern=r"^bc:go:\d+$"))
    app.add_handler(CallbackQueryHandler(discard_button, pattern=r"^bc:x:\d+$"))
    app.add_handler(CallbackQueryHandler(approve_button, pattern=r"^bc:(ok|no):\d+$"))
    app.add_handler(CallbackQueryHandler(stop_button, pattern=r"^bc:stop:\d+$"))
    app.add_handler(CallbackQueryHandler(retry_button, pattern=r"^bc:retry:\d+$"))
    app.add_handler(CallbackQueryHandler(delete_button, pattern=r"^bc:del:\d+$"))
    app.add_handler(CallbackQueryHandler(remind_button, pattern=r"^bc:remind:\d+$"))
    app.add_handler(CallbackQueryHandler(ack_button, pattern=r"^ack:\d+$"))
