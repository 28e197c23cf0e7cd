"""The broadcast admin views and the actions on sent broadcasts: /bantin (/broadcasts),
/xembantin (/broadcast) and its buttons — stop, retry the failed deliveries, edit the text
recipients already have (a dialog, previewed with [Xác nhận]/[Hủy] first), recall.

Every button carries the version of the broadcast its presser was shown
(bot.actions.broadcast_guard); composing and sending are bot.handlers.announcements.
"""

from __future__ import annotations

import contextlib
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.actions.broadcast_guard import check_version, version_of
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.broadcasts import parse_id
from bot.domain.errors import InvalidInput, LoaError
from bot.domain.text import pack_html_lines, shorten
from bot.handlers import dialogs
from bot.handlers.announcements import (
    EDIT_EXPIRED,
    FEATURE,
    RECALLED,
    USAGE_BROADCAST,
    _actor,
    _button,
    _current,
    _dispatcher,
    _fields,
    _id_from,
)
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.store import drafts, message_ops, outbox, polls
from bot.workers.dispatcher import summary_text


@requires("broadcast")
async def broadcasts_command(update: Update, context: Context) -> None:
    """/broadcasts: recent broadcasts with their state and counts."""
    svc = services(context)
    lines = ["<b>Bản tin gần đây</b>"]
    for b in await drafts.recent_broadcasts(svc.db, 15):
        stats = await drafts.broadcast_stats(svc.db, b.id)
        sent = stats.counts.get(rules.SENT, 0)
        failed = stats.counts.get(rules.FAILED, 0)
        title = html.escape(shorten(b.title or rules.visible_text(b.body), 40))
        when = (
            f" — gửi lúc {clock.format_local(b.scheduled_at, svc.settings.tz)}"
            if b.auto and b.state == rules.B_AWAITING and b.scheduled_at
            else ""
        )
        errors = f", {failed} lỗi" if failed else ""
        lines.append(
            f"#{b.id} {rules.KIND_LABELS_VI.get(b.kind, b.kind)} — "
            f"{html.escape(b.state_label)}{when}, {sent}/{b.total}{errors} — {title}"
        )
    if len(lines) == 1:
        lines.append("Chưa có bản tin nào.")
    lines.append("Chi tiết: /xembantin &lt;số&gt;")
    for text in pack_html_lines(lines):
        await reply(update, text)


def _actions(
    b: drafts.Broadcast, stats: drafts.BroadcastStats, *, may_act_for: bool
) -> InlineKeyboardMarkup | None:
    """The buttons /broadcast offers for `b` as it is now (each carrying its version)."""
    rows: list[list[InlineKeyboardButton]] = []
    row = []
    if b.state == rules.B_DRAFT and may_act_for:
        rows.append(
            [
                _button("📤 Gửi thay người soạn", "go", b, "o"),
                _button("✖️ Hủy thay người soạn", "x", b, "o"),
            ]
        )
    if b.state == rules.B_AWAITING and not b.auto:
        row.append(_button("✅ Duyệt", "ok", b))
        row.append(_button("❌ Từ chối", "no", b))
    if b.state in (rules.B_QUEUED, rules.B_SENDING, rules.B_AWAITING):
        row.append(_button("⏹ Dừng", "stop", b))
    if b.revoked_at is None:
        # Recalled means recalled: no retry, edit or second recall (issue 10, item 3).
        if stats.counts.get(rules.FAILED):
            row.append(_button("🔁 Gửi lại phần lỗi", "retry", b))
        if stats.counts.get(rules.SENT):
            row.append(_button("✏️ Sửa", "edit", b))
            row.append(_button("🗑 Thu hồi", "del", b))
    if row:
        rows.append(row)
    return InlineKeyboardMarkup(rows) if rows else None


@requires("broadcast")
@user_errors
async def broadcast_command(update: Update, context: Context) -> None:
    """/broadcast <id>: counts per state, reasons, timing, actions."""
    svc = services(context)
    arg = command_text(update).lstrip("#")
    if not (arg.isascii() and arg.isdigit()):
        raise InvalidInput(USAGE_BROADCAST)
    b = await drafts.get_broadcast(svc.db, parse_id(arg))
    stats = await drafts.broadcast_stats(svc.db, b.id)
    user = update.effective_user
    may_act_for = await svc.may(user.id if user else None, "admin")
    await reply(
        update,
        summary_text(b, stats, svc.settings.tz),
        reply_markup=_actions(b, stats, may_act_for=may_act_for),
    )


@requires("broadcast")
@user_errors
async def stop_button(update: Update, context: Context) -> None:
    """[Dừng]: cancel what is not sent yet (stays cancelled across restarts). Stopping is
    always safe, so an older version of the button still stops."""
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
    b, _rest = await _current(svc, update)
    actor = await _actor(update, context)
    n = await outbox.retry_failed(
        svc.db, b.id, actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    _dispatcher(context).wake()
    await answer_query(update, f"Đã xếp gửi lại {n} người nhận bị lỗi.", alert=True)


@requires("admin")
@user_errors
async def edit_button(update: Update, context: Context) -> None:
    """[Sửa]: ask for the new text of a sent broadcast."""
    svc = services(context)
    b, _rest = await _current(svc, update)
    if b.revoked_at is not None:
        raise InvalidInput(RECALLED)
    if b.kind == "directive" and b.title:
        raise InvalidInput("Chỉ đạo được sửa trong tệp nội dung, không sửa tại đây.")
    if await polls.poll_of_broadcast(svc.db, b.id) is not None:
        # Telegram cannot edit a sent poll (issue 16): only stop or recall it.
        raise InvalidInput("Không sửa được khảo sát đã gửi; có thể đóng hoặc thu hồi.")
    await answer_query(update)
    await dialogs.ask(
        update,
        context,
        f"✏️ Gửi nội dung mới cho bản tin #{b.id} (cùng số tin nhắn: {len(b.parts)}). "
        "Loa sẽ cho xem trước và hỏi lại trước khi thay. /huy để hủy.",
        feature=FEATURE,
        step="edit",
        label_vi=f"sửa bản tin #{b.id}",
        placeholder=f"Nội dung mới cho bản tin #{b.id}",
        bid=b.id,
        version=version_of(b),
    )


@requires("admin")
async def edit_text(update: Update, context: Context) -> None:
    """The new text: validated, previewed, and only replaced after [Xác nhận]."""
    svc = services(context)
    message = update.effective_message
    dialog = dialogs.current(update, context, FEATURE, "edit")
    chat = update.effective_chat
    if dialog is None or chat is None:
        return
    try:
        b = await drafts.get_broadcast(svc.db, int(dialog.data["bid"]))
        check_version(b, str(dialog.data["version"]))
    except LoaError as exc:
        dialogs.end(update, context)
        await reply(update, exc.user_message)
        return
    try:
        sender = svc.settings.sender_line if b.kind == "announcement" else ""
        body, parts = rules.prepare_text(message.text or "" if message else "", sender=sender)
        if len(parts) != len(b.parts):
            raise InvalidInput(f"Nội dung mới phải vừa {len(b.parts)} tin nhắn như bản cũ.")
    except InvalidInput as exc:
        await reply(update, f"{exc.user_message}\nGửi lại, hoặc /huy.")
        return
    for part in parts:
        await context.bot.send_message(chat.id, part)
    sent = (await drafts.broadcast_stats(svc.db, b.id)).counts.get(rules.SENT, 0)
    confirm = await context.bot.send_message(
        chat.id,
        f"👆 Nội dung mới của bản tin #{b.id}. Xác nhận để thay nội dung ở {sent} cuộc trò "
        "chuyện đã nhận (người nhận thấy bản đã sửa).",
        reply_markup=InlineKeyboardMarkup(
            [[_button("✅ Xác nhận sửa", "ec", b), _button("✖️ Hủy", "en", b)]]
        ),
    )
    dialogs.continue_at(
        context, dialog, "edit_confirm", body=body, parts=parts, confirm_id=confirm.message_id
    )


@requires("admin")
@user_errors
async def edit_confirm_button(update: Update, context: Context) -> None:
    """[Xác nhận sửa]/[Hủy] under the preview of a new text."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    dialog = dialogs.current(update, context, FEATURE, "edit_confirm")
    bid, _version, _rest = _fields(update)
    if (
        dialog is None
        or dialog.data.get("bid") != bid
        or (query.message is not None and dialog.data.get("confirm_id") != query.message.message_id)
    ):
        await answer_query(update, EDIT_EXPIRED, alert=True)
        return
    dialogs.end(update, context)
    if query.data.split(":")[1] == "en":
        await answer_query(update, "Đã hủy, bản tin giữ nguyên.")
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(f"✖️ Đã hủy sửa bản tin #{bid}; nội dung giữ nguyên.")
        return
    b, _rest = await _current(svc, update)
    if b.revoked_at is not None:
        raise InvalidInput(RECALLED)
    actor = await _actor(update, context)
    chat = update.effective_chat
    assert chat is not None
    _action, n = await message_ops.request_edit(
        svc.db,
        bid,
        str(dialog.data["body"]),
        list(dialog.data["parts"]),
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=chat.id,
        now=clock.now(),
    )
    _dispatcher(context).forget(bid)
    _dispatcher(context).wake()
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(f"✏️ Đang sửa bản tin #{bid} ở {n} tin nhắn đã gửi…")


@requires("admin")
@user_errors
async def delete_button(update: Update, context: Context) -> None:
    """[Thu hồi]: stop what is pending and delete the message wherever Telegram allows.

    Durable: one deletion per sent message is queued in the outbox (message_ops) and
    processed by the dispatcher with the same pacing; the report lists what Telegram
    refused (messages older than 48 hours in groups) with the reason.
    """
    svc = services(context)
    b, _rest = await _current(svc, update)
    actor = await _actor(update, context)
    chat = update.effective_chat
    assert chat is not None
    _action, n, cancelled = await message_ops.request_delete(
        svc.db,
        b.id,
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=chat.id,
        now=clock.now(),
    )
    _dispatcher(context).wake()
    note = f"; đã dừng {cancelled} người nhận chưa gửi" if cancelled else ""
    await answer_query(update, f"Đang thu hồi {n} tin nhắn{note}.", alert=True)
