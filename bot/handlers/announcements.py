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

Issue 10: every button carries the version of the broadcast its presser was shown and
a draft belongs to its author (bot.actions.broadcast_guard); the steps that wait for a
text (the announcement, a time, a new text) are dialogs (bot.handlers.dialogs), and a
new text for messages recipients already have is previewed with [Xác nhận]/[Hủy].

Composing and the admin views (/thongbao, /directive, /broadcast(s), /acks) work only in
a private chat with the bot or in the admin group: previews of internal texts must never
appear in a public group.
"""

from __future__ import annotations

import contextlib
import html
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot.actions import broadcasts as actions
from bot.actions.broadcast_guard import authorize_draft, check_version, version_of
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.broadcasts import parse_id
from bot.domain.errors import InvalidInput, LoaError
from bot.domain.roles import Role
from bot.domain.text import pack_html_lines, quote, shorten
from bot.handlers import dialogs
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.services import Services
from bot.store import drafts, message_ops, outbox, polls, reports, units
from bot.store import subscriptions as subs
from bot.workers.dispatcher import Dispatcher, ack_markup, summary_text

log = logging.getLogger(__name__)

FEATURE = "broadcast"  # the dialogs' feature name

# Every user-facing constant below is Telegram HTML: a literal "<" must be "&lt;"
# (tests/test_broadcast_texts.py runs each through the strict parser).
ASK_TEXT = (
    "✍️ Gửi nội dung thông báo trong tin nhắn tiếp theo.\n"
    "Định dạng HTML của Telegram: &lt;b&gt;đậm&lt;/b&gt;, &lt;i&gt;nghiêng&lt;/i&gt;, "
    '&lt;a href="https://…"&gt;liên kết&lt;/a&gt;. Gõ /huy để hủy.'
)
USAGE_BROADCAST = "Cú pháp: /xembantin &lt;số bản tin&gt;, xem /bantin."
APPROVAL_REQUESTED = "🔐 Bản tin #{id} sẽ tới nhóm cán bộ: đã chuyển quản trị viên duyệt."
APPROVAL_NOBODY = (
    "⚠️ Bản tin #{id} cần quản trị viên duyệt nhưng Loa chưa gửi được đề nghị cho ai "
    "(chưa có nhóm quản trị, quản trị viên chưa nhắn cho bot). Bản tin đang chờ duyệt: "
    "/xembantin {id}"
)
RECALLED = "Bản tin này đã bị thu hồi; không sửa, gửi lại hay thu hồi thêm được nữa."
EDIT_EXPIRED = "Thao tác sửa này đã hết hạn hoặc đã xong. Bấm [✏️ Sửa] lại nếu cần."


def _dispatcher(context: Context) -> Dispatcher:
    return services(context).features["dispatcher"]


async def _actor(update: Update, context: Context) -> tuple[int | None, str | None]:
    user = update.effective_user
    role = await services(context).role_of(user.id if user else None)
    return (user.id if user else None), (str(role) if role else None)


def _button(label: str, action: str, b: drafts.Broadcast, *extra: str) -> InlineKeyboardButton:
    """A button acting on `b` as shown now: bc:<action>:<id>:<version>[:extra…]."""
    data = ":".join(["bc", action, str(b.id), version_of(b), *extra])
    return InlineKeyboardButton(label, callback_data=data)


def _fields(update: Update) -> tuple[int, str | None, list[str]]:
    """(broadcast id, version carried, the rest) of a bc:<action>:<id>:<version>… button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    fields = query.data.split(":")
    bid = parse_id(fields[2] if len(fields) > 2 else "")
    version = fields[3] if len(fields) > 3 else None
    return bid, version, fields[4:]


def _id_from(update: Update, index: int = 2) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    fields = query.data.split(":")
    return parse_id(fields[index] if index < len(fields) else "")


async def _current(svc: Services, update: Update) -> tuple[drafts.Broadcast, list[str]]:
    """The broadcast a button acts on, refused (StaleVersion) if it changed since shown."""
    bid, version, rest = _fields(update)
    b = await drafts.get_broadcast(svc.db, bid)
    check_version(b, version)
    return b, rest


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
        return _button(mark + label, "a", b, key)

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
            _button("📤 Gửi ngay", "go", b),
            _button("⏰ Hẹn giờ", "at", b),
            _button("✖️ Hủy", "x", b),
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
    b = await actions.create_announcement(
        services(context), source, actor_id=user.id if user else None, report_chat_id=chat.id
    )
    await send_preview(context, chat.id, b)


@requires("broadcast")
@user_errors
async def announce_command(update: Update, context: Context) -> None:
    """/announce <text> (or /announce, then the text)."""
    text = command_text(update)
    if not text:
        await dialogs.ask(
            update, context, ASK_TEXT, feature=FEATURE, step="text", label_vi="soạn thông báo"
        )
        return
    await _new_announcement(update, context, text)


@requires("broadcast")
async def announce_text(update: Update, context: Context) -> None:
    """The announcement text after a bare /announce (role re-checked)."""
    message = update.effective_message
    try:
        await _new_announcement(update, context, message.text if message and message.text else "")
    except InvalidInput as exc:
        await reply(update, f"{exc.user_message}\nHãy gửi lại nội dung đã sửa, hoặc /huy.")
        return
    dialogs.end(update, context)


@requires("broadcast")
@user_errors
async def audience_button(update: Update, context: Context) -> None:
    """[Tất cả]/[Công khai]/[Cán bộ]/[Đơn vị …]/[Chủ đề …] on a draft's control message."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    b, rest = await _current(svc, update)
    actor = await _actor(update, context)
    await authorize_draft(svc, b, actor[0], explicit=False, now=clock.now(), action="audience")
    await drafts.set_draft_audience(svc.db, b.id, rules.parse_audience(":".join(rest)), b.kind)
    text, markup = await _control(svc, await drafts.get_broadcast(svc.db, b.id))
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=markup)


async def _started(context: Context, b: drafts.Broadcast, total: int, when: int | None) -> str:
    """After the deliveries were created: post the progress message, wake the worker; the
    line for the actor."""
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


async def start_sending(
    update: Update,
    context: Context,
    b: drafts.Broadcast,
    actor: tuple[int | None, str | None],
    when: int | None,
    *,
    admin_approved: bool,
) -> str | None:
    """Create the deliveries (bot.actions.broadcasts.start), post the progress message and
    wake the worker: the line for the actor. None when the two-person rule handed the
    broadcast to the admins instead (they were asked and the actor told)."""
    done = await actions.start(services(context), b, actor, when, admin_approved=admin_approved)
    if done.awaiting_approval:
        await request_approval(update, context, done.broadcast)
        return None
    return await _started(context, done.broadcast, done.total, when)


async def _approvers(svc: Services) -> list[int]:
    """Where approval requests go: the admin group, else every owner and admin privately."""
    if svc.settings.admin_chat_id is not None:
        return [svc.settings.admin_chat_id]
    admins = [m.user_id for m in await reports.list_staff(svc.db) if m.role is Role.ADMIN]
    return sorted(set(svc.settings.admin_ids) | set(admins))


async def _ask_approval(context: Context, b: drafts.Broadcast, who: str) -> int:
    """Show the exact parts, audience and count to the approvers; how many were reached."""
    return await ask_approval(context.bot, services(context), b, f"🔐 {quote(who, 100)} đề nghị")


async def ask_approval(bot: Any, svc: Services, b: drafts.Broadcast, lead: str) -> int:
    """The approval request (`lead` names who asks, or why it is asked again) with the
    exact parts, audience and count, to every approver; how many were reached."""
    audience = rules.parse_audience(b.audience)
    count = await subs.count_recipients(svc.db, audience)
    keyboard = InlineKeyboardMarkup(
        [[_button("✅ Duyệt", "ok", b), _button("❌ Từ chối", "no", b)]]
    )
    when = (
        f"\nHẹn gửi: {clock.format_local(b.scheduled_at, svc.settings.tz)}"
        if b.scheduled_at
        else ""
    )
    request = (
        f"{lead} gửi bản tin #{b.id} (ở trên) tới "
        f"<b>{html.escape(audience.label_vi(topic_names=svc.settings.topic_names))}</b>"
        f" ({count} cuộc trò chuyện).{when}\n"
        "Cần một quản trị viên duyệt. Bản tin đổi sau đề nghị này thì nút không còn hiệu lực."
    )
    reached = 0
    for chat_id in await _approvers(svc):
        try:
            for i, part in enumerate(b.parts):
                markup = ack_markup(b.id) if b.with_ack and i == len(b.parts) - 1 else None
                await bot.send_message(chat_id, part, reply_markup=markup)
            await bot.send_message(chat_id, request, reply_markup=keyboard)
            reached += 1
        except TelegramError as exc:
            log.info("approval request for %s not delivered to %s: %s", b.id, chat_id, exc)
    return reached


@requires("broadcast")
@user_errors
async def send_now_button(update: Update, context: Context) -> None:
    """[Gửi ngay]: admins send; an editor's cadre broadcast goes to an admin for approval."""
    svc = services(context)
    b, rest = await _current(svc, update)
    await _confirm(update, context, b, when=None, explicit=rest == ["o"])


async def _confirm(
    update: Update, context: Context, b: drafts.Broadcast, when: int | None, *, explicit: bool
) -> None:
    """Send or schedule `b` (already checked to be the version the actor was shown); the
    rules (author, two-person) are bot.actions.broadcasts.confirm's."""
    svc = services(context)
    actor = await _actor(update, context)
    done = await actions.confirm(svc, b.id, actor[0], when, explicit=explicit)
    if done.awaiting_approval:
        await request_approval(update, context, done.broadcast)
        return
    message = await _started(context, done.broadcast, done.total, when)
    await answer_query(update)
    query = update.callback_query
    if query is not None and query.message is not None:
        # The draft's control message becomes the summary: its buttons (audience, [Gửi
        # ngay], [Hủy]) would now act on a broadcast that is already on its way.
        try:
            await query.edit_message_text(message, reply_markup=None)
            return
        except TelegramError as exc:
            log.info("control message of #%s not edited: %s", b.id, exc)
    await reply(update, message)


async def request_approval(update: Update, context: Context, b: drafts.Broadcast) -> None:
    """Show an editor's broadcast (already awaiting approval) to the admins for [Duyệt] and
    tell the editor whether anyone was reached."""
    user = update.effective_user
    reached = await _ask_approval(context, b, user.full_name if user else "?")
    await answer_query(update)
    await reply(
        update,
        APPROVAL_REQUESTED.format(id=b.id) if reached else APPROVAL_NOBODY.format(id=b.id),
    )


@requires("broadcast")
@user_errors
async def schedule_button(update: Update, context: Context) -> None:
    """[Hẹn giờ]: ask for dd/mm/yyyy hh:mm."""
    svc = services(context)
    b, _rest = await _current(svc, update)
    if b.state != rules.B_DRAFT:
        raise InvalidInput(actions.ALREADY_HANDLED)
    actor = await _actor(update, context)
    await authorize_draft(svc, b, actor[0], explicit=False, now=clock.now(), action="schedule")
    await answer_query(update)
    await dialogs.ask(
        update,
        context,
        "⏰ Nhập thời gian gửi dạng dd/mm/yyyy hh:mm (giờ Việt Nam), ví dụ "
        f"{clock.format_local(clock.now() + 3600, svc.settings.tz)}. /huy để hủy.",
        feature=FEATURE,
        step="when",
        label_vi=f"hẹn giờ gửi bản tin #{b.id}",
        placeholder="dd/mm/yyyy hh:mm",
        bid=b.id,
        version=version_of(b),
    )


@requires("broadcast")
async def schedule_text(update: Update, context: Context) -> None:
    """The time typed after [Hẹn giờ]; the past is refused."""
    svc = services(context)
    message = update.effective_message
    dialog = dialogs.current(update, context, FEATURE, "when")
    if dialog is None:
        return
    try:
        when = clock.parse_local(message.text or "" if message else "", svc.settings.tz)
        actions.check_future(when)
    except InvalidInput as exc:
        await reply(update, f"{exc.user_message}\nNhập lại, hoặc /huy.")
        return
    dialogs.end(update, context)
    try:
        b = await drafts.get_broadcast(svc.db, int(dialog.data["bid"]))
        check_version(b, str(dialog.data["version"]))
        await _confirm(update, context, b, when, explicit=False)
    except LoaError as exc:
        await reply(update, exc.user_message)


@requires("broadcast")
@user_errors
async def discard_button(update: Update, context: Context) -> None:
    """[Hủy] on a draft (its author, or an admin explicitly from /broadcast)."""
    svc = services(context)
    b, rest = await _current(svc, update)
    actor = await _actor(update, context)
    await authorize_draft(
        svc, b, actor[0], explicit=rest == ["o"], now=clock.now(), action="discard"
    )
    ok = await drafts.set_broadcast_state(
        svc.db,
        b.id,
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
            await query.edit_message_text(f"✖️ Đã hủy bản nháp #{b.id}.")


@requires("admin")
@user_errors
async def approve_button(update: Update, context: Context) -> None:
    """[Duyệt]/[Từ chối] an editor's cadre broadcast (admins only, second person), for
    exactly the version the request showed."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    verdict = query.data.split(":")[1]
    b, _rest = await _current(svc, update)
    actor = await _actor(update, context)
    b, total = await actions.decide_approval(svc, b.id, approve=verdict != "no", actor_id=actor[0])
    if total is None:
        line = f"❌ Bản tin #{b.id} bị từ chối."
    else:
        line = "✅ Đã duyệt. " + await _started(context, b, total, actions.approved_time(b))
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
