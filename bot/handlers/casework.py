"""Casework, the office's side (issue 15): the case card (/hoso) and the case buttons
(claim, states, answers from templates — insert, edit, preview, send —, public answers);
and the registration of the whole casework feature. The notice's case lines are in
bot.handlers.casework_notice, the admins' commands in bot.handlers.casework_admin, the
citizen's side in bot.handlers.casework_intake.

Rules live in bot.domain.casework and bot.actions.casework; this module is Telegram.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.actions import casework as actions
from bot.actions.feedback import check_answer, check_unchanged_since_preview
from bot.domain import casework as rules
from bot.domain import clock
from bot.domain import feedback as feedback_rules
from bot.domain.errors import InvalidInput, LoaError
from bot.domain.text import escape
from bot.handlers import casework_intake as intake
from bot.handlers import dialogs
from bot.handlers.base import (
    EXPIRED_BUTTON,
    Context,
    alert_text,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.handlers.casework_admin import (
    assign_command,
    export_cases_command,
    route_command,
    staff_name,
    tell_citizen,
    templates_command,
    transfer_command,
)
from bot.handlers.casework_notice import notice_lines, notice_row
from bot.handlers.feedback_state import (
    ANSWER,
    STATE_KEY,
    FeedbackState,
    _short,
    _staff_chat,
)
from bot.handlers.moderation import _moderation_keyboard, _notice_text
from bot.services import CommandInfo, Services
from bot.store import case_office, cases
from bot.store import feedback as feedback_store
from bot.workers.casework import CaseReminder, CaseRouter

log = logging.getLogger(__name__)
FEATURE = "casework"  # the dialogs' feature name: an answer being written, then previewed
STATE_BUTTONS = (
    (rules.REFUSED, "⛔ Từ chối"),
    (rules.DUPLICATE, "♊ Trùng lặp"),
    (rules.CLOSED, "🔒 Đóng"),
    (rules.IN_PROGRESS, "🔄 Mở lại"),
)


# --------------------------------------------------------------------------- the case card


async def card_text(svc: Services, case: cases.Case) -> str:
    """The case card: everything about a case and its history."""
    tz = svc.settings.tz
    lines = [
        f"🗂 <b>Hồ sơ ý kiến #{case.id}</b> · nhận {clock.format_local(case.created_at, tz)}",
        *await notice_lines(svc, case.id),
    ]
    if case.transferred_to:
        lines.append(f"📤 Chuyển đến: {escape(case.transferred_to)}")
    lines.append(f"<blockquote>{escape(_short(case.text, 1200))}</blockquote>")
    if case.answer:
        lines.append(f"💬 Đã trả lời: {escape(_short(case.answer, 600))}")
    if case.rating:
        lines.append(f"⭐ Đánh giá của người gửi: {rules.RATING_VI[case.rating]}")
    lines.append(
        "🌐 Người gửi "
        + ("cho phép" if case.allow_publish else "không cho phép")
        + " công bố ẩn danh."
    )
    published = await case_office.public_answer(svc.db, case.id)
    if published is not None and published.withdrawn_at is None:
        lines.append("📢 Đã công bố (/hoidap).")
    history = await cases.history(svc.db, case.id)
    if history:
        lines.append("<b>Lịch sử:</b>")
        names: dict[int | None, str] = {}
        for h in history[-8:]:
            if h.actor_id not in names:
                names[h.actor_id] = (
                    "hệ thống/người gửi"
                    if h.actor_id is None
                    else await staff_name(svc, h.actor_id)
                )
            what = _EVENT_VI.get(h.event, h.event)
            if h.to_state and h.event in ("state", "claim", "assign", "answer", "migrate"):
                what += f" → {rules.STATE_VI.get(h.to_state, h.to_state)}"
            if h.note and h.event in ("state", "rate"):
                what += f" ({rules.RATING_VI.get(h.note, h.note)})"
            lines.append(
                f"• {clock.format_local(h.at, tz)} · {escape(names[h.actor_id])}: {escape(what)}"
            )
    return "\n".join(lines)


_EVENT_VI = {
    "state": "đổi trạng thái",
    "claim": "nhận xử lý",
    "assign": "được giao",
    "answer": "trả lời",
    "rate": "đánh giá",
    "publish": "công bố",
    "withdraw": "gỡ công bố",
    "remind": "nhắc hạn",
    "escalate": "báo quá hạn",
    "migrate": "chuyển từ dữ liệu cũ",
}


def card_markup(case: cases.Case, published: bool) -> InlineKeyboardMarkup:
    """The buttons a case card offers in its state."""
    cid = case.id
    rows = [
        [*notice_row(cid)[:1], InlineKeyboardButton("📝 Mẫu trả lời", callback_data=f"cw:t:{cid}")]
    ]
    allowed = rules.TRANSITIONS.get(case.state, frozenset())
    states = [
        InlineKeyboardButton(label, callback_data=f"cw:s:{cid}:{state}")
        for state, label in STATE_BUTTONS
        if state in allowed
    ]
    rows += [states[i : i + 2] for i in range(0, len(states), 2)]
    if case.answer and case.allow_publish:
        rows.append(
            [InlineKeyboardButton("↩️ Gỡ công bố", callback_data=f"cw:w:{cid}")]
            if published
            else [InlineKeyboardButton("📢 Công bố ẩn danh", callback_data=f"cw:p:{cid}")]
        )
    return InlineKeyboardMarkup(rows)


async def _show_card(update: Update, context: Context, case_id: int, *, edit: bool) -> None:
    svc = services(context)
    case = await cases.get(svc.db, case_id)
    published = await case_office.public_answer(svc.db, case_id)
    live = published is not None and published.withdrawn_at is None
    text, markup = await card_text(svc, case), card_markup(case, live)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text, reply_markup=markup)
            return
    await _send_here(update, context, text, markup)


@requires("moderate")
@user_errors
async def case_command(update: Update, context: Context) -> None:
    """/hoso <số>: the case card."""
    svc = services(context)
    if not _staff_chat(svc, update):
        await reply(update, "Dùng lệnh này trong nhóm quản trị hoặc tin nhắn riêng với Loa.")
        return
    case_id = feedback_rules.parse_id(command_text(update).lstrip("#"))
    if case_id is None:
        await reply(update, "Cú pháp: /hoso &lt;số ý kiến&gt;, ví dụ /hoso 12")
        return
    await _show_card(update, context, case_id, edit=False)


@requires("moderate")
@user_errors
async def case_button(update: Update, context: Context) -> None:
    """cw:<action>:<id>[:<arg>] on a notice or a case card."""
    svc = services(context)
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    case_id = feedback_rules.parse_id(parts[2]) if len(parts) >= 3 else None
    if case_id is None or len(parts) > 4:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    if not _staff_chat(svc, update):
        await answer_query(update, "Chỉ xử lý trong nhóm quản trị hoặc tin nhắn riêng.", alert=True)
        return
    action, arg = parts[1], (parts[3] if len(parts) == 4 else None)
    now = clock.now()
    if action == "v":
        await answer_query(update)
        await _show_card(update, context, case_id, edit=False)
    elif action == "k":
        case, holder = await actions.claim(svc, case_id, actor_id=user.id, now=now)
        if holder is not None and holder != user.id:
            await answer_query(
                update,
                f"Ý kiến #{case_id} đang do {await staff_name(svc, holder)} xử lý.",
                alert=True,
            )
            return
        await answer_query(update, f"Bạn đã nhận xử lý ý kiến #{case_id}")
        if holder is None:
            await tell_citizen(context, case, None)
        await _refresh_from(update, context, case_id)
    elif action == "s" and arg in rules.STATE_VI:
        case, changed = await actions.change_state(svc, case_id, arg, actor_id=user.id, now=now)
        await answer_query(
            update,
            f"Ý kiến #{case_id}: {case.state_vi}" if changed else "Không có gì thay đổi",
        )
        if changed:
            await tell_citizen(context, case, None)
        await _refresh_from(update, context, case_id)
    elif action == "t":
        await _offer_templates(update, context, case_id)
    elif action == "u" and arg is not None:
        template_id = feedback_rules.parse_id(arg)
        if template_id is None:
            await answer_query(update, EXPIRED_BUTTON, alert=True)
            return
        template = await case_office.template(svc.db, template_id)
        await answer_query(update)
        await _start_draft(update, context, case_id, template.body.replace("{so}", str(case_id)))
    elif action == "e":
        await _ask_edit(update, context, case_id)
    elif action == "a":
        await _send_draft(update, context, case_id)
    elif action == "x":
        if _draft(update, context, case_id) is not None:
            dialogs.end(update, context)
        await answer_query(update, "Đã hủy bản nháp")
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
    elif action == "p":
        await _publish(update, context, case_id)
    elif action == "w":
        await _withdraw(update, context, case_id)
    else:
        await answer_query(update, EXPIRED_BUTTON, alert=True)


async def _refresh_from(update: Update, context: Context, case_id: int) -> None:
    """After a change pressed on a card, redraw the card; on a notice, its case lines."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    text = getattr(query.message, "text", "") or ""
    if text.startswith("🗂"):
        await _show_card(update, context, case_id, edit=True)
        return
    svc = services(context)
    comment = await feedback_store.get(svc.db, case_id)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(
            await _notice_text(svc, comment), reply_markup=_moderation_keyboard(comment)
        )


# --------------------------------------------------------------------------- answers from templates


async def _offer_templates(update: Update, context: Context, case_id: int) -> None:
    svc = services(context)
    case = await cases.get(svc.db, case_id)
    if case.chat_id is None:
        await answer_query(
            update, "Người gửi đã xóa dữ liệu cá nhân; không thể gửi câu trả lời.", alert=True
        )
        return
    found = await case_office.templates(svc.db, case.category)
    await answer_query(update)
    rows = [
        [InlineKeyboardButton(f"📄 {_short(t.body, 40)}", callback_data=f"cw:u:{case_id}:{t.id}")]
        for t in found[:10]
    ]
    rows.append([InlineKeyboardButton("✍️ Tự soạn", callback_data=f"cw:e:{case_id}")])
    head = (
        f"📝 Mẫu trả lời lĩnh vực <b>{escape(case.category)}</b> cho ý kiến #{case_id}:"
        if found
        else f"Chưa có mẫu trả lời cho lĩnh vực <b>{escape(case.category)}</b> "
        "(quản trị viên thêm bằng /mautraloi). Bạn có thể tự soạn:"
    )
    lines = [head] + [f"{i}. {escape(_short(t.body, 300))}" for i, t in enumerate(found[:10], 1)]
    await _send_here(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


async def _send_here(update: Update, context: Context, text: str, markup: Any = None) -> Message:
    """Send in the chat (and forum topic) the update came from."""
    chat = update.effective_chat
    assert chat is not None
    source = update.effective_message
    thread = source.message_thread_id if source is not None and source.is_topic_message else None
    return await context.bot.send_message(
        chat.id, text, reply_markup=markup, message_thread_id=thread
    )


def _label(case_id: int) -> str:
    return f"trả lời ý kiến #{case_id}"


def _draft(update: Update, context: Context, case_id: int) -> dialogs.Dialog | None:
    """The sender's answer to this case waiting for [Gửi trả lời] here, if any."""
    dialog = dialogs.current(update, context, FEATURE, "confirm")
    return dialog if dialog is not None and dialog.data.get("case_id") == case_id else None


async def _start_draft(update: Update, context: Context, case_id: int, text: str) -> None:
    """A template chosen: the answer waits, previewed, for [Gửi]/[Sửa]/[Hủy] (a dialog:
    it lapses, ends with /huy, and another dialog of the sender here replaces it)."""
    dialog = dialogs.hold(
        update, context, feature=FEATURE, step="confirm", label_vi=_label(case_id), case_id=case_id
    )
    await dialogs.settle(context.application)
    if dialog is not None:
        await _show_draft(update, context, dialog, text)


async def _show_draft(update: Update, context: Context, dialog: dialogs.Dialog, text: str) -> None:
    """The preview, exactly as the citizen will read the answer, with Gửi / Sửa / Hủy."""
    case_id = int(dialog.data["case_id"])
    comment = await feedback_store.get(services(context).db, case_id)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📨 Gửi trả lời", callback_data=f"cw:a:{case_id}"),
                InlineKeyboardButton("✏️ Sửa", callback_data=f"cw:e:{case_id}"),
                InlineKeyboardButton("✖️ Hủy", callback_data=f"cw:x:{case_id}"),
            ]
        ]
    )
    preview = await _send_here(
        update,
        context,
        f"👁 <b>Xem trước câu trả lời cho ý kiến #{case_id}</b> (người gửi sẽ nhận đúng như sau):"
        f"\n\n<blockquote>{escape(text)}</blockquote>",
        markup,
    )
    # [Gửi trả lời] sends this text only when pressed under this preview, and only if
    # nobody answered the citizen since it was drawn.
    dialogs.continue_at(
        context,
        dialog,
        "confirm",
        text=text,
        confirm_id=preview.message_id,
        answered_at=comment.answered_at,
    )


async def _ask_edit(update: Update, context: Context, case_id: int) -> None:
    """[✍️ Tự soạn] or [✏️ Sửa]: ask for the answer's text (in a group: a reply to the
    prompt, in the case's topic)."""
    user = update.effective_user
    assert user is not None
    draft = _draft(update, context, case_id)
    await answer_query(update)
    if draft is not None:
        current = f"\nBản hiện tại:\n<code>{escape(_short(str(draft.data['text']), 3000))}</code>"
    else:
        current = ""
    await dialogs.ask(
        update,
        context,
        f"✏️ {escape(user.first_name)}, hãy gửi nội dung câu trả lời cho ý kiến <b>#{case_id}</b>;"
        f" Loa sẽ cho xem trước khi gửi. /huy để thôi.{current}",
        feature=FEATURE,
        step="answer",
        label_vi=_label(case_id),
        placeholder=f"Trả lời ý kiến #{case_id}",
        case_id=case_id,
    )


@requires("moderate")
async def edited_answer(update: Update, context: Context) -> None:
    """The moderator's answer to the prompt becomes the draft, previewed again."""
    message = update.effective_message
    dialog = dialogs.current(update, context, FEATURE, "answer")
    if message is None or dialog is None:
        return
    try:
        text = check_answer(message.text or "")  # the one answer rule (bot.actions.feedback)
    except InvalidInput as exc:
        dialogs.continue_at(context, dialog, "answer")  # a step: the deadline restarts
        await reply(update, exc.user_message)
        return
    await _show_draft(update, context, dialog, text)


async def _send_draft(update: Update, context: Context, case_id: int) -> None:
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    draft = _draft(update, context, case_id)
    shown = query.message.message_id if query.message is not None else None
    if draft is None or draft.data.get("confirm_id") != shown:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    dialogs.end(update, context)
    try:
        current = await feedback_store.get(svc.db, case_id)
        check_unchanged_since_preview(current, draft.data.get("answered_at"))
    except LoaError as exc:
        await answer_query(update, alert_text(exc.user_message), alert=True)
        return
    role = await svc.role_of(user.id)
    comment = await feedback_store.set_answer(
        svc.db,
        case_id,
        str(draft.data["text"]),
        actor_id=user.id,
        actor_role=str(role) if role else None,
        now=clock.now(),
        answered_in=chat.id,
    )
    # Stored first, delivered by the feedback worker (retries, outcome told in this chat).
    feedback_state: FeedbackState = context.application.bot_data[STATE_KEY]
    feedback_state.queue.put_nowait((ANSWER, comment.id))
    await answer_query(update, f"Đã lưu câu trả lời cho ý kiến #{case_id}")
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)


# --------------------------------------------------------------------------- public answers


async def _publish(update: Update, context: Context, case_id: int) -> None:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    case = await cases.get(svc.db, case_id)
    if not case.allow_publish:
        await answer_query(update, "Người gửi không cho phép công bố ý kiến này.", alert=True)
        return
    if not case.answer:
        await answer_query(update, "Ý kiến chưa có câu trả lời để công bố.", alert=True)
        return
    current = await case_office.public_answer(svc.db, case_id)
    if current is not None and current.withdrawn_at is None:
        await answer_query(update, "Ý kiến này đã được công bố.", alert=True)
        return
    text = rules.public_text(case.id, case.category, case.text, case.answer)
    channel = svc.settings.public_channel
    message_id: int | None = None
    chat_id: int | None = None
    if channel is not None:
        try:
            sent = await context.bot.send_message(channel, escape(text))
        except TelegramError as exc:
            await answer_query(
                update, alert_text(f"Không đăng được lên kênh công khai: {exc}"), alert=True
            )
            return
        message_id, chat_id = sent.message_id, sent.chat.id
    role = await svc.role_of(user.id)
    await case_office.record_published(
        svc.db,
        case_id,
        text,
        chat_id=chat_id,
        message_id=message_id,
        actor_id=user.id,
        actor_role=str(role) if role else None,
        now=clock.now(),
    )
    await answer_query(update, f"Đã công bố ý kiến #{case_id} (ẩn danh)")
    await _refresh_from(update, context, case_id)


async def _withdraw(update: Update, context: Context, case_id: int) -> None:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    current = await case_office.public_answer(svc.db, case_id)
    if current is None or current.withdrawn_at is not None:
        await answer_query(update, "Ý kiến này không đang được công bố.", alert=True)
        return
    if current.chat_id is not None and current.message_id is not None:
        try:
            await context.bot.delete_message(current.chat_id, current.message_id)
        except TelegramError as exc:  # too old to delete, or removed by hand: still withdrawn
            log.info("could not delete public answer %s: %s", case_id, exc)
    role = await svc.role_of(user.id)
    await case_office.record_withdrawn(
        svc.db, case_id, actor_id=user.id, actor_role=str(role) if role else None, now=clock.now()
    )
    await answer_query(update, f"Đã gỡ công bố ý kiến #{case_id}")
    await _refresh_from(update, context, case_id)


# --------------------------------------------------------------------------- registration

COMMANDS = [
    CommandInfo("hoso", "Hồ sơ một ý kiến: /hoso <số>", aliases=("case",), permission="moderate"),
    CommandInfo(
        "chuyen", "Chuyển ý kiến sang cơ quan khác: /chuyen <số> <cơ quan>", permission="moderate"
    ),
    CommandInfo("giaoviec", "Giao ý kiến cho người xử lý: /giaoviec <số> <mã>", permission="admin"),
    CommandInfo("phancong", "Phân công kiểm duyệt viên theo lĩnh vực", permission="admin"),
    CommandInfo("mautraloi", "Mẫu trả lời theo lĩnh vực", permission="moderate"),
    CommandInfo(
        "xuathoso", "Xuất hồ sơ ý kiến (.xlsx/CSV): /xuathoso [kỳ] [csv]", permission="admin"
    ),
    CommandInfo("hoidap", "Các câu hỏi – trả lời đã công bố"),
]


def register(app: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    """Casework: routing, the reminder worker, citizen and office buttons, commands."""
    svc.commands.extend(COMMANDS)
    svc.features["case_policy"] = actions.policy_of(svc.settings)
    router = CaseRouter(app, svc)
    svc.features["case_router"] = router
    reminder = CaseReminder(router, interval=svc.settings.casework_check_interval)
    svc.features["case_reminder"] = reminder
    svc.starters.append(reminder.start)
    svc.stoppers.append(reminder.stop)
    svc.forgetters.append(cases.forget_user)

    # The answer a moderator types (bot.handlers.dialogs: in a group only a reply to the
    # prompt; lapses with a notice; /huy ends it; survives a restart).
    in_dialog = dialogs.InDialog(dialogs.registry_of(app), FEATURE, "answer")
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & in_dialog, edited_answer))
    app.add_handler(
        CallbackQueryHandler(intake.intake_button, pattern=r"^(ykg|ykd|ykq):\d+$|^ykh$")
    )
    app.add_handler(CallbackQueryHandler(intake.rate_button, pattern=r"^cwr:"))
    app.add_handler(CallbackQueryHandler(intake.follow_up_button, pattern=r"^cwf:"))
    app.add_handler(CallbackQueryHandler(case_button, pattern=r"^cw:"))
    app.add_handler(CommandHandler(["hoso", "case"], case_command))
    app.add_handler(CommandHandler("chuyen", transfer_command))
    app.add_handler(CommandHandler("giaoviec", assign_command))
    app.add_handler(CommandHandler("phancong", route_command))
    app.add_handler(CommandHandler("mautraloi", templates_command))
    app.add_handler(CommandHandler("xuathoso", export_cases_command))
    app.add_handler(CommandHandler("hoidap", intake.hoidap_command))
