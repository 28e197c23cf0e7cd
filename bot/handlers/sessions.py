"""Outreach session reports (issue 16): /baocao, a short guided form in a private chat
(or opened from the [📝 Báo cáo] button in an approved cadre group), /baocaocuatoi to
correct or delete one's reports, /tonghop for staff totals by unit, topic and format.
"""

from __future__ import annotations

import contextlib
import html
import logging
import warnings
from datetime import datetime, timedelta
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

from bot.actions import outreach
from bot.domain import clock, spreadsheets
from bot.domain import sessions as rules
from bot.domain.errors import InvalidInput, LoaError
from bot.domain.periods import date_range, parse_period, quarter_of
from bot.handlers.base import (
    NO_PERMISSION,
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.services import CommandInfo, Services
from bot.store import sessions as store
from bot.store import subscriptions as subs
from bot.store import units

log = logging.getLogger(__name__)

DAY, UNIT, TOPICS, FORMAT, LISTENERS, NOTE, CONFIRM = range(10, 17)
_MEMBER = frozenset({"creator", "administrator", "member", "restricted"})
_KEY = "bcao"


def _form(context: Context) -> dict[str, Any]:
    data = context.user_data
    assert data is not None
    form: dict[str, Any] = data.setdefault(_KEY, {})
    return form


def _today(svc: Services) -> Any:
    return datetime.now(svc.settings.tz).date()


# --- the steps -------------------------------------------------------------------------------


async def _ask_day(update: Update) -> int:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Hôm nay", callback_data="bcao:d:hom nay"),
                InlineKeyboardButton("Hôm qua", callback_data="bcao:d:hom qua"),
            ]
        ]
    )
    await reply(
        update,
        "📝 <b>Báo cáo buổi tuyên truyền</b> (gõ /cancel để hủy)\n"
        "1/6. Buổi tuyên truyền tổ chức ngày nào? Ghi dd/mm/yyyy hoặc bấm nút.",
        reply_markup=keyboard,
    )
    return DAY


async def _ask_unit(update: Update, context: Context) -> int:
    svc = services(context)
    all_units = await units.all_units(svc.db)
    rows = [
        [InlineKeyboardButton(u.name[:60], callback_data=f"bcao:u:{u.id}")] for u in all_units[:12]
    ]
    more = " hoặc gõ tên đơn vị" if len(all_units) > 12 else " (hoặc gõ tên đơn vị)"
    await reply(
        update,
        f"2/6. Đơn vị tổ chức? Chọn{more}.",
        reply_markup=InlineKeyboardMarkup(rows) if rows else None,
    )
    return UNIT


def _topics_markup(topics: tuple[str, ...], chosen: list[int]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if i in chosen else "▫️ ") + t[:50], callback_data=f"bcao:t:{i}"
            )
        ]
        for i, t in enumerate(topics)
    ]
    rows.append([InlineKeyboardButton("Xong ➡️", callback_data="bcao:t:ok")])
    return InlineKeyboardMarkup(rows)


async def _ask_topics(update: Update, context: Context) -> int:
    svc = services(context)
    form = _form(context)
    form.setdefault("topics", [])
    await reply(
        update,
        "3/6. Nội dung tuyên truyền? Chọn một hay nhiều mục rồi bấm «Xong».",
        reply_markup=_topics_markup(svc.settings.outreach_topics, form["topics"]),
    )
    return TOPICS


async def _ask_format(update: Update) -> int:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label.capitalize(), callback_data=f"bcao:f:{key}")]
            for key, label in rules.FORMATS.items()
        ]
    )
    await reply(update, "4/6. Hình thức tuyên truyền?", reply_markup=keyboard)
    return FORMAT


async def _ask_listeners(update: Update) -> int:
    await reply(update, "5/6. Bao nhiêu lượt người nghe? Gõ một số, ví dụ 120.")
    return LISTENERS


async def _ask_note(update: Update) -> int:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Bỏ qua", callback_data="bcao:n:-")]])
    await reply(
        update,
        "6/6. Ghi chú thêm (không bắt buộc)? Gõ ghi chú hoặc bấm «Bỏ qua».",
        reply_markup=keyboard,
    )
    return NOTE


async def _ask_confirm(update: Update, context: Context) -> int:
    svc = services(context)
    form = _form(context)
    unit = await units.unit_by_id(svc.db, form["unit_id"])
    topics = [svc.settings.outreach_topics[i] for i in form["topics"]]
    text = rules.summary_html(
        datetime.fromisoformat(form["day"]).date(),
        unit.name,
        topics,
        form["format"],
        form["listeners"],
        form.get("note"),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("💾 Lưu", callback_data="bcao:ok"),
                InlineKeyboardButton("✖️ Hủy", callback_data="bcao:x"),
            ]
        ]
    )
    verb = "Sửa báo cáo" if form.get("edit") else "Kiểm tra lại"
    await reply(update, f"<b>{verb}</b>\n{text}", reply_markup=keyboard)
    return CONFIRM


# --- entry points -----------------------------------------------------------------------------


async def _start(update: Update, context: Context, unit_id: int | None, chat_id: int | None) -> int:
    data = context.user_data
    assert data is not None
    data[_KEY] = {"unit_id": unit_id, "chat_id": chat_id, "topics": []}
    return await _ask_day(update)


@user_errors
async def report_command(update: Update, context: Context) -> int | None:
    """/baocao: in private, the form; in an approved cadre group, a button that opens it."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return ConversationHandler.END
    if chat.type != ChatType.PRIVATE:
        sub = await subs.get_subscription(svc.db, chat.id)
        if sub is None or not sub.is_cadre:
            await reply(
                update, "Lệnh /baocao dùng trong nhóm cán bộ đã duyệt hoặc nhắn riêng với bot."
            )
            return ConversationHandler.END
        url = rules.report_link(context.bot.username, chat.id)
        name = await units.unit_name(svc.db, sub.unit) if sub.unit else None
        where = f" của {html.escape(name)}" if name else ""
        await reply(
            update,
            f"📝 Báo cáo buổi tuyên truyền{where}: bấm nút để điền phiếu ngắn"
            " trong tin nhắn riêng.",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("📝 Báo cáo buổi tuyên truyền", url=url)]]
            ),
        )
        return ConversationHandler.END
    return await _start(update, context, None, None)


@user_errors
async def start_from_group(update: Update, context: Context) -> int | None:
    """/start bcao_<group>: the form with the group's unit filled in."""
    svc = services(context)
    payload = (context.args or [""])[0]
    raw = payload.removeprefix(rules.START_PREFIX)
    unit_id = group = None
    if raw.isdigit() and len(raw) < 20:
        sub = await subs.get_subscription(svc.db, -int(raw))
        if sub is not None and sub.is_cadre:
            group = sub.chat_id
            if sub.unit:
                unit = await units.find_unit(svc.db, sub.unit)
                unit_id = unit.id if unit else None
    return await _start(update, context, unit_id, group)


# --- answers ------------------------------------------------------------------------------------


async def _after_day(update: Update, context: Context) -> int:
    form = _form(context)
    if form.get("unit_id") is None:
        return await _ask_unit(update, context)
    return await _ask_topics(update, context)


async def day_text(update: Update, context: Context) -> int:
    """The date typed."""
    message = update.effective_message
    try:
        day = rules.parse_day(message.text or "" if message else "", _today(services(context)))
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return DAY
    _form(context)["day"] = day.isoformat()
    return await _after_day(update, context)


@user_errors
async def day_button(update: Update, context: Context) -> int:
    """[Hôm nay] / [Hôm qua]."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_query(update)
    day = rules.parse_day(query.data.split(":", 2)[2], _today(services(context)))
    _form(context)["day"] = day.isoformat()
    return await _after_day(update, context)


async def unit_text(update: Update, context: Context) -> int:
    """A unit typed by name or code."""
    message = update.effective_message
    unit = await units.find_unit(services(context).db, message.text or "" if message else "")
    if unit is None:
        await reply(update, "Không tìm thấy đơn vị này. Gõ lại tên (xem /donvi) hoặc chọn nút.")
        return UNIT
    _form(context)["unit_id"] = unit.id
    return await _ask_topics(update, context)


@user_errors
async def unit_button(update: Update, context: Context) -> int:
    """A unit's button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_query(update)
    unit = await units.unit_by_id(services(context).db, int(query.data.split(":")[2]))
    _form(context)["unit_id"] = unit.id
    return await _ask_topics(update, context)


async def topic_button(update: Update, context: Context) -> int:
    """Toggle a topic, or [Xong]."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    form = _form(context)
    chosen: list[int] = form.setdefault("topics", [])
    value = query.data.split(":")[2]
    if value == "ok":
        if not chosen:
            await answer_query(update, "Chọn ít nhất một nội dung.", alert=True)
            return TOPICS
        await answer_query(update)
        return await _ask_format(update)
    index = int(value)
    if not 0 <= index < len(svc.settings.outreach_topics):
        await answer_query(update, "Nút này đã cũ.", alert=True)
        return TOPICS
    if index in chosen:
        chosen.remove(index)
    else:
        chosen.append(index)
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(_topics_markup(svc.settings.outreach_topics, chosen))
    return TOPICS


async def format_button(update: Update, context: Context) -> int:
    """A format's button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    value = query.data.split(":")[2]
    await answer_query(update)
    if value not in rules.FORMATS:
        return FORMAT
    _form(context)["format"] = value
    return await _ask_listeners(update)


async def listeners_text(update: Update, context: Context) -> int:
    """The head count."""
    message = update.effective_message
    try:
        _form(context)["listeners"] = rules.parse_listeners(message.text or "" if message else "")
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return LISTENERS
    return await _ask_note(update)


async def note_text(update: Update, context: Context) -> int:
    """The note typed."""
    message = update.effective_message
    try:
        _form(context)["note"] = rules.parse_note(message.text or "" if message else "")
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return NOTE
    return await _ask_confirm(update, context)


async def note_skip(update: Update, context: Context) -> int:
    """[Bỏ qua] the note."""
    await answer_query(update)
    _form(context)["note"] = None
    return await _ask_confirm(update, context)


async def confirm_button(update: Update, context: Context) -> int:
    """[Lưu] (who may report for the unit is checked now) or [Hủy]."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    data = context.user_data
    assert data is not None
    form = _form(context)
    if query.data == "bcao:x":
        data.pop(_KEY, None)
        await answer_query(update, "Đã hủy.")
        with contextlib.suppress(BadRequest):
            await query.edit_message_text("✖️ Đã hủy báo cáo.")
        return ConversationHandler.END
    user = update.effective_user
    uid = user.id if user else None
    unit = await units.unit_by_id(svc.db, form["unit_id"])

    async def is_member(chat_id: int) -> bool:
        if uid is None:
            return False
        try:
            member = await context.bot.get_chat_member(chat_id, uid)
        except TelegramError:
            return False
        return str(member.status) in _MEMBER

    try:
        if form.get("edit"):
            report = await store.get_report(svc.db, form["edit"])
            if not await outreach.may_change_report(svc, uid, report, clock.now()):
                raise InvalidInput("Đã quá hạn sửa báo cáo này.")
        if not await outreach.may_report(svc, uid, unit.code, is_member):
            raise InvalidInput(
                f"⛔ Chỉ cán bộ trong nhóm của {html.escape(unit.name)} (hoặc cán bộ Ban)"
                " mới báo cáo cho đơn vị này."
            )
        rid = await store.save_report(
            svc.db,
            unit_id=unit.id,
            held_on=datetime.fromisoformat(form["day"]).date(),
            topics=[svc.settings.outreach_topics[i] for i in form["topics"]],
            fmt=form["format"],
            listeners=form["listeners"],
            note=form.get("note"),
            reporter_id=uid,
            chat_id=form.get("chat_id"),
            now=clock.now(),
            report_id=form.get("edit"),
        )
    except LoaError as exc:
        data.pop(_KEY, None)
        await answer_query(update)
        await reply(update, exc.user_message)
        return ConversationHandler.END
    data.pop(_KEY, None)
    await answer_query(update, "Đã lưu.")
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
    days = svc.settings.report_edit_days
    await reply(
        update,
        f"✅ Đã lưu báo cáo #{rid}. Cảm ơn đồng chí! Có thể sửa hoặc xóa trong {days} ngày:"
        " /baocaocuatoi",
    )
    return ConversationHandler.END


async def cancel_command(update: Update, context: Context) -> int:
    """/cancel inside the form."""
    data = context.user_data
    if data is not None:
        data.pop(_KEY, None)
    await reply(update, "Đã hủy báo cáo.")
    return ConversationHandler.END


async def stale_button(update: Update, context: Context) -> int | None:
    """A form button pressed with no form open (an old message)."""
    await answer_query(update, "Phiếu này đã kết thúc. Gõ /baocao để báo cáo mới.", alert=True)
    return None


# --- one's own reports ----------------------------------------------------------------------


async def my_reports_command(update: Update, context: Context) -> None:
    """/baocaocuatoi: my latest reports with [Sửa] and [Xóa] while allowed."""
    svc = services(context)
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        await reply(update, "Dùng lệnh này trong tin nhắn riêng với bot.")
        return
    reports = await store.reports_of(svc.db, user.id)
    if not reports:
        await reply(update, "Đồng chí chưa có báo cáo nào. Báo cáo mới: /baocao")
        return
    now = clock.now()
    for r in reports:
        text = f"<b>#{r.id}</b>\n" + rules.summary_html(
            r.held_on, r.unit_name, r.topics, r.format, r.listeners, r.note
        )
        markup = None
        if await outreach.may_change_report(svc, user.id, r, now):
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton("✏️ Sửa", callback_data=f"bcao:e:{r.id}"),
                        InlineKeyboardButton("🗑 Xóa", callback_data=f"bcao:del:{r.id}"),
                    ]
                ]
            )
        await reply(update, text, reply_markup=markup)


@user_errors
async def edit_button(update: Update, context: Context) -> int | None:
    """[Sửa]: the form again, the report replaced when saved."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    report = await store.get_report(svc.db, int(query.data.split(":")[2]))
    user = update.effective_user
    if report.deleted_at or not await outreach.may_change_report(
        svc, user.id if user else None, report, clock.now()
    ):
        await answer_query(update, "Không thể sửa báo cáo này (đã xóa hoặc quá hạn).", alert=True)
        return ConversationHandler.END
    await answer_query(update)
    data = context.user_data
    assert data is not None
    data[_KEY] = {"unit_id": report.unit_id, "chat_id": None, "topics": [], "edit": report.id}
    return await _ask_day(update)


@user_errors
async def delete_button(update: Update, context: Context) -> None:
    """[Xóa] a report (the reporter within the window; staff always)."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    report = await store.get_report(svc.db, int(query.data.split(":")[2]))
    user = update.effective_user
    uid = user.id if user else None
    if not await outreach.may_change_report(svc, uid, report, clock.now()):
        await answer_query(update, NO_PERMISSION, alert=True)
        return
    await store.delete_report(svc.db, report.id, actor_id=uid, now=clock.now())
    await answer_query(update, "Đã xóa.")
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(f"🗑 Đã xóa báo cáo #{report.id}.")


# --- staff totals -------------------------------------------------------------------------------


@requires("staff")
@user_errors
async def totals_command(update: Update, context: Context) -> None:
    """/tonghop [kỳ]: sessions and listeners by unit, topic and format, with an export."""
    svc = services(context)
    period = parse_period(command_text(update), _today(svc))
    t = await store.totals(svc.db, period.start, period.end, period.label)
    span = f"{period.start:%Y%m%d}:{period.end:%Y%m%d}"
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("⬇️ Excel", callback_data=f"th:xl:{span}")]]
    )
    await reply(update, rules.totals_html(t), reply_markup=keyboard if t.sessions else None)


@requires("staff")
@user_errors
async def totals_export_button(update: Update, context: Context) -> None:
    """[Excel] under the totals."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, first, end = query.data.split(":")
    start_day = datetime.strptime(first, "%Y%m%d").date()
    end_day = datetime.strptime(end, "%Y%m%d").date()
    period = quarter_of(start_day)
    if (period.start, period.end) != (start_day, end_day):
        period = date_range(start_day, end_day - timedelta(days=1))
    t = await store.totals(svc.db, period.start, period.end, period.label)
    await answer_query(update)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        document=spreadsheets.render(rules.totals_table(t), "xlsx", tz=svc.settings.tz),
        filename=f"tuyen-truyen-{period.key}.xlsx",
        caption=f"📋 Tuyên truyền {period.label}.",
    )


# --- registration -------------------------------------------------------------------------------


def register(app: Any, svc: Services) -> None:
    """The form (a conversation, before /start so its deep link is caught), the rest."""
    svc.forgetters.append(store.forget_reporter)
    svc.commands.extend(
        [
            CommandInfo("baocao", "Báo cáo buổi tuyên truyền (cán bộ)", aliases=("report",)),
            CommandInfo("baocaocuatoi", "Sửa, xóa báo cáo tuyên truyền của bạn"),
            CommandInfo("tonghop", "Tổng hợp buổi tuyên truyền: /tonghop [kỳ]", permission="staff"),
        ]
    )
    with warnings.catch_warnings():
        # CallbackQuery handlers with per_message=False are intended: the form is per
        # user and chat, its buttons are on several messages.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = _conversation()
    app.add_handler(conversation)
    app.add_handler(CommandHandler("baocaocuatoi", my_reports_command))
    app.add_handler(CommandHandler("tonghop", totals_command))
    app.add_handler(CallbackQueryHandler(delete_button, pattern=r"^bcao:del:\d+$"))
    app.add_handler(CallbackQueryHandler(totals_export_button, pattern=r"^th:xl:\d{8}:\d{8}$"))
    app.add_handler(CallbackQueryHandler(stale_button, pattern=r"^bcao:"))


def _conversation() -> ConversationHandler[Any]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    return ConversationHandler(
        entry_points=[
            CommandHandler(["baocao", "report"], report_command),
            CommandHandler(
                "start",
                start_from_group,
                filters=private & filters.Regex(rf"^/start {rules.START_PREFIX}"),
            ),
            CallbackQueryHandler(edit_button, pattern=r"^bcao:e:\d+$"),
        ],
        states={
            DAY: [
                MessageHandler(text, day_text),
                CallbackQueryHandler(day_button, pattern=r"^bcao:d:"),
            ],
            UNIT: [
                MessageHandler(text, unit_text),
                CallbackQueryHandler(unit_button, pattern=r"^bcao:u:\d+$"),
            ],
            TOPICS: [CallbackQueryHandler(topic_button, pattern=r"^bcao:t:(\d+|ok)$")],
            FORMAT: [CallbackQueryHandler(format_button, pattern=r"^bcao:f:")],
            LISTENERS: [MessageHandler(text, listeners_text)],
            NOTE: [
                MessageHandler(text, note_text),
                CallbackQueryHandler(note_skip, pattern=r"^bcao:n:-$"),
            ],
            CONFIRM: [CallbackQueryHandler(confirm_button, pattern=r"^bcao:(ok|x)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel_command)],
        allow_reentry=True,
        name="session_report",
    )
