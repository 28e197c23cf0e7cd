"""Announcements and the broadcast admin views: compose, preview, audience, send or
schedule, the two-person rule, /broadcasts, /broadcast and the actions on sent broadcasts
(stop, retry failed, edit, recall).

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

import contextlib
import html
import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ConversationHandler,
)

from bot.actions import broadcasts as broadcast_actions
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.broadcasts import parse_id
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.text import pack_html_lines, shorten
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
from bot.services import Services
from bot.store import drafts, message_ops, outbox, units
from bot.store import subscriptions as subs
from bot.workers.dispatcher import Dispatcher, ack_markup, summary_text

log = logging.getLogger(__name__)

TEXT, WHEN, EDIT = range(3)

# Every user-facing constant below is Telegram HTML: a literal "<" must be "&lt;"
# (tests/test_broadcast_texts.py runs each through the strict parser).
ASK_TEXT = (
    "✍️ Gửi nội dung thông báo trong tin nhắn tiếp theo.\n"
    "Định dạng HTML của Telegram: &lt;b&gt;đậm&lt;/b&gt;, &lt;i&gt;nghiêng&lt;/i&gt;, "
    '&lt;a href="https://…"&gt;liên kết&lt;/a&gt;. Gõ /huy để hủy.'
)
USAGE_BROADCAST = "Cú pháp: /xembantin &lt;số bản tin&gt;, xem /bantin."
APPROVAL_REQUESTED = "🔐 Bản tin #{id} sẽ tới nhóm cán bộ: đã chuyển quản trị viên duyệt."


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


# --- preview and audience ---------------------------------------------------------------


async def _control(svc: Services, b: drafts.Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    audience = rules.parse_audience(b.audience)
    count = await subs.count_recipients(svc.db, audience)
    kind = rules.KIND_LABELS_VI.get(b.kind, b.kind)
    unit_names = await units.names_by_code(svc.db)  # units are shown by name (issue 16)
    label = audience.label_vi(unit_names, topic_names=svc.settings.topic_names)
    text = (
        f"👆 Xem trước {kind.lower()} #{b.id} ({len(b.parts)} tin nhắn),"
        " đúng như người nhận sẽ thấy.\n"
        f"Đối tượng: <b>{html.escape(label)}</b>\n"
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
    codes = await subs.list_units(svc.db)
    unit_buttons = [button(unit_names.get(u, f"Đơn vị {u}"), f"unit:{u}") for u in codes[:8]]
    rows.extend(unit_buttons[i : i + 2] for i in range(0, len(unit_buttons), 2))
    if b.kind == "announcement":
        topic_buttons = [
            button(f"Chủ đề: {svc.settings.topic_name(t)}", f"topic:{t}")
            for t in svc.settings.topics[:6]
        ]
        rows.extend(topic_buttons[i : i + 2] for i in range(0, len(topic_buttons), 2))
    rows.append(
        [
            InlineKeyboardButton("📤 Gửi ngay", callback_data=f"bc:go:{b.id}"),
            InlineKeyboardButton("⏰ Hẹn giờ", callback_data=f"bc:at:{b.id}"),
            InlineKeyboardButton("✖️ Hủy", callback_data=f"bc:x:{b.id}"),
        ]
    )
    return text, InlineKeyboardMarkup(rows)


async def send_preview(context: Context, chat_id: int, b: drafts.Broadcast) -> None:
    """The parts exactly as recipients get them, then the control message."""
    svc = services(context)
    for i, part in enumerate(b.parts):
        markup = ack_markup(b.id) if b.with_ack and i == len(b.parts) - 1 else None
        await context.bot.send_message(chat_id, part, reply_markup=markup)
    text, markup = await _control(svc, b)
    await context.bot.send_message(chat_id, text, reply_markup=markup)


async def _new_announcement(update: Update, context: Context, source: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert chat is not None
    b = await broadcast_actions.create_announcement(
        services(context), source, actor_id=user.id if user else None, report_chat_id=chat.id
    )
    await send_preview(context, chat.id, b)


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
        await reply(update, f"{exc.user_message}\nHãy gửi lại nội dung đã sửa, hoặc /huy.")
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
    b = await drafts.get_broadcast(svc.db, parse_id(raw_id))
    await drafts.set_draft_audience(svc.db, b.id, rules.parse_audience(key), b.kind)
    text, markup = await _control(svc, await drafts.get_broadcast(svc.db, b.id))
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=markup)


async def _announce_start(
    context: Context, b: drafts.Broadcast, total: int, when: int | None
) -> str:
    """Post the progress message of queued deliveries and wake the worker; the reply text."""
    svc = services(context)
    if when is not None and when > clock.now():
        return (
            f"⏰ Đã hẹn gửi bản tin #{b.id} lúc {clock.format_local(when, svc.settings.tz)} "
            f"đến {total} cuộc trò chuyện. Dừng: /xembantin {b.id}"
        )
    if b.report_chat_id is not None and total:
        try:
            message = await context.bot.send_message(
                b.report_chat_id, f"📤 Bắt đầu gửi bản tin #{b.id} đến {total} cuộc trò chuyện…"
            )
            await drafts.set_report_message(svc.db, b.id, b.report_chat_id, message.message_id)
        except TelegramError as exc:
            log.warning("no progress message for %s: %s", b.id, exc)
    _dispatcher(context).wake()
    return (
        f"📤 Đã bắt đầu gửi bản tin #{b.id} đến {total} cuộc trò chuyện; tiến độ ở tin nhắn"
        f" bên dưới. Dừng: /xembantin {b.id}"
    )


async def ask_approval(bot: Bot, svc: Services, b: drafts.Broadcast, who: str) -> None:
    """Show an editor's cadre broadcast to the admin chat with [Duyệt] [Từ chối] (the web
    console calls it too, through svc.features["ask_broadcast_approval"])."""
    admin_chat = svc.settings.admin_chat_id
    if admin_chat is None:
        return
    for i, part in enumerate(b.parts):
        markup = ack_markup(b.id) if b.with_ack and i == len(b.parts) - 1 else None
        await bot.send_message(admin_chat, part, reply_markup=markup)
    audience = rules.parse_audience(b.audience)
    count = await subs.count_recipients(svc.db, audience)
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
    await bot.send_message(
        admin_chat,
        f"🔐 {html.escape(who)} đề nghị gửi bản tin #{b.id} (ở trên) tới "
        f"<b>{html.escape(audience.label_vi(topic_names=svc.settings.topic_names))}</b>"
        f" ({count} cuộc trò chuyện).{when}\n"
        "Cần một quản trị viên duyệt.",
        reply_markup=keyboard,
    )


@requires("broadcast")
@user_errors
async def send_now_button(update: Update, context: Context) -> None:
    """[Gửi ngay]: admins send; an editor's cadre broadcast goes to an admin for approval."""
    await _confirm(update, context, when=None)


async def _confirm(update: Update, context: Context, when: int | None) -> None:
    """Send or schedule the draft (bot.actions.broadcasts.confirm holds the rule)."""
    bid = (
        _id_from(update)
        if update.callback_query
        else parse_id(str(_user_data(context).get("bc_at", "")))
    )
    await confirm_broadcast(update, context, bid, when)


async def confirm_broadcast(
    update: Update, context: Context, bid: int, when: int | None, *, edit_control: bool = True
) -> None:
    """Send or schedule draft `bid` for the sender, or hand it to the admins (two-person
    rule in bot.actions.broadcasts.confirm); reply how it went. Newsroom notices use it too
    (edit_control=False: their button's message stays as the newsroom wrote it)."""
    svc = services(context)
    user = update.effective_user
    done = await broadcast_actions.confirm(svc, bid, user.id if user else None, when)
    if done.awaiting_approval:
        # An editor's broadcast reaching cadre chats: to the admins for [Duyệt].
        await ask_approval(context.bot, svc, done.broadcast, user.full_name if user else "?")
        await answer_query(update)
        await reply(update, APPROVAL_REQUESTED.format(id=done.broadcast.id))
        return
    message = await _announce_start(context, done.broadcast, done.total, when)
    await answer_query(update)
    query = update.callback_query
    if edit_control and query is not None and query.message is not None:
        # The draft's control message becomes the summary: its buttons (audience, [Gửi
        # ngay], [Hủy]) would now act on a broadcast that is already on its way.
        try:
            await query.edit_message_text(message, reply_markup=None)
            return
        except TelegramError as exc:
            log.info("control message of #%s not edited: %s", done.broadcast.id, exc)
    await reply(update, message)


@requires("broadcast")
@private_or_admin_chat
@user_errors
async def schedule_button(update: Update, context: Context) -> int:
    """[Hẹn giờ]: ask for dd/mm/yyyy hh:mm."""
    svc = services(context)
    b = await drafts.get_broadcast(svc.db, _id_from(update))
    if b.state != rules.B_DRAFT:
        raise InvalidInput("Bản tin này đã được xử lý rồi.")
    _user_data(context)["bc_at"] = b.id
    await answer_query(update)
    await reply(
        update,
        "⏰ Nhập thời gian gửi dạng dd/mm/yyyy hh:mm (giờ Việt Nam), ví dụ "
        f"{clock.format_local(clock.now() + 3600, svc.settings.tz)}. /huy để hủy.",
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
        await _confirm(update, context, when)
    except NotFound as exc:  # the draft is gone (or the conversation lost its id)
        _user_data(context).pop("bc_at", None)
        await reply(update, exc.user_message)
        return ConversationHandler.END
    except InvalidInput as exc:
        await reply(update, f"{exc.user_message}\nNhập lại, hoặc /huy.")
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
    ok = await drafts.set_broadcast_state(
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
    user = update.effective_user
    b, total = await broadcast_actions.decide_approval(
        svc, bid, approve=verdict != "no", actor_id=user.id if user else None
    )
    if total is None:
        line = f"❌ Bản tin #{bid} bị từ chối."
    else:
        when = b.scheduled_at if b.scheduled_at and b.scheduled_at > clock.now() else None
        line = "✅ Đã duyệt. " + await _announce_start(context, b, total, when)
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
    for b in await drafts.recent_broadcasts(svc.db, 15):
        stats = await drafts.broadcast_stats(svc.db, b.id)
        sent = stats.counts.get(rules.SENT, 0)
        title = html.escape(shorten(b.title or rules.visible_text(b.body), 40))
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
    lines.append("Chi tiết: /xembantin &lt;số&gt;")
    for text in pack_html_lines(lines):
        await reply(update, text)


def _actions(b: drafts.Broadcast, stats: drafts.BroadcastStats) -> InlineKeyboardMarkup | None:
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
    b = await drafts.get_broadcast(svc.db, parse_id(arg))
    stats = await drafts.broadcast_stats(svc.db, b.id)
    await reply(update, summary_text(b, stats, svc.settings.tz), reply_markup=_actions(b, stats))


@requires("broadcast")
@user_errors
async def stop_button(update: Update, context: Context) -> None:
    """[Dừng]: cancel what is not sent yet (stays cancelled across restarts)."""
    svc = services(context)
    actor = await _actor(update, context)
    n = await drafts.cancel_broadcast(
        svc.db, _id_from(update), actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    await answer_query(update, f"Đã dừng; {n} người nhận chưa gửi đã được hủy.", alert=True)


@requires("broadcast")
@user_errors
async def retry_button(update: Update, context: Context) -> None:
    """[Gửi lại phần lỗi]: only the failed recipients go back to the queue."""
    svc = services(context)
    actor = await _actor(update, context)
    n = await outbox.retry_failed(
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
    await broadcast_actions.check_editable(services(context), bid)
    _user_data(context)["bc_edit"] = bid
    await answer_query(update)
    await reply(update, f"✏️ Gửi nội dung mới cho bản tin #{bid} (cùng số tin nhắn). /huy để hủy.")
    return EDIT


@private_or_admin_chat
@requires("admin", refused=ConversationHandler.END)
async def edit_text(update: Update, context: Context) -> int:
    """The new text: validated, then queued as one durable edit per sent message."""
    svc = services(context)
    message = update.effective_message
    user, chat = update.effective_user, update.effective_chat
    assert chat is not None
    try:
        bid = parse_id(str(_user_data(context).get("bc_edit", "")))
        n = await broadcast_actions.edit_sent(
            svc,
            bid,
            message.text or "" if message else "",
            actor_id=user.id if user else None,
            report_chat_id=chat.id,
        )
    except (InvalidInput, NotFound) as exc:
        await reply(update, f"{exc.user_message}\nGửi lại, hoặc /huy.")
        return EDIT
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
    _action, n, cancelled = await message_ops.request_delete(
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
