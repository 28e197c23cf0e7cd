"""Announcements: compose, preview, audience, send or schedule, the two-person rule. The
admin views and the actions on sent broadcasts (/bantin, /xembantin: stop, retry failed,
edit, recall) are bot.handlers.sent_broadcasts.

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
from bot.domain.text import quote
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
from bot.store import drafts, reports, units
from bot.store import subscriptions as subs
from bot.workers.dispatcher import Dispatcher, ack_markup

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
