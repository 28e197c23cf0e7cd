"""Outreach session reports (issue 16): /baocao, a short guided form in a private chat
(or opened from the [📝 Báo cáo] button in an approved cadre group), /baocaocuatoi to
correct or delete one's reports; /tonghop (staff totals) is bot.handlers.session_totals.
"""

from __future__ import annotations

import contextlib
import functools
import html
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.actions import outreach
from bot.domain import clock
from bot.domain import sessions as rules
from bot.domain.errors import InvalidInput, LoaError
from bot.handlers import dialogs, session_totals
from bot.handlers.base import (
    NO_PERMISSION,
    Context,
    answer_query,
    reply,
    services,
    user_errors,
)
from bot.services import CommandInfo, Services
from bot.store import sessions as store
from bot.store import subscriptions as subs
from bot.store import units

log = logging.getLogger(__name__)

FEATURE = "session_report"  # the dialogs' feature name (bot.handlers.dialogs)
LABEL = "báo cáo buổi tuyên truyền"
# The form's steps; the answers so far are the dialog's data (persisted, lapses, /huy).
DAY, UNIT, TOPICS, FORMAT, LISTENERS, NOTE, CONFIRM = (
    "day",
    "unit",
    "topics",
    "format",
    "listeners",
    "note",
    "confirm",
)
_MEMBER = frozenset({"creator", "administrator", "member", "restricted"})
STALE = "Phiếu này đã kết thúc. Gõ /baocao để báo cáo mới."


def _form(update: Update, context: Context) -> dict[str, Any]:
    """The answers of the sender's open form (the step's handler checked it is open)."""
    dialog = dialogs.current(update, context, FEATURE)
    assert dialog is not None
    return dialog.data


async def _step(
    update: Update, context: Context, step: str, text: str, markup: Any = None, **data: Any
) -> None:
    """Ask the form's next question: the dialog moves to `step` (its deadline restarts)."""
    await dialogs.ask(
        update,
        context,
        text,
        feature=FEATURE,
        step=step,
        label_vi=LABEL,
        reply_markup=markup,
        carry_on=True,
        **data,
    )


Step = Callable[[Update, Context], Coroutine[Any, Any, None]]


def _at(*steps: str) -> Callable[[Step], Step]:
    """A form handler that runs only while the sender's form waits at one of `steps`; a
    button of a form that ended (lapsed, /huy, saved) gets an alert instead."""

    def decorate(func: Step) -> Step:
        @functools.wraps(func)
        async def wrapper(update: Update, context: Context) -> None:
            if dialogs.current(update, context, FEATURE, *steps) is None:
                if update.callback_query is not None:
                    await answer_query(update, STALE, alert=True)
                return
            await func(update, context)

        return wrapper

    return decorate


def _today(svc: Services) -> Any:
    return datetime.now(svc.settings.tz).date()


# --- the steps -------------------------------------------------------------------------------


async def _ask_day(update: Update, context: Context, **form: Any) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Hôm nay", callback_data="bcao:d:hom nay"),
                InlineKeyboardButton("Hôm qua", callback_data="bcao:d:hom qua"),
            ]
        ]
    )
    await dialogs.ask(
        update,
        context,
        "📝 <b>Báo cáo buổi tuyên truyền</b> (gõ /huy để hủy)\n"
        "1/6. Buổi tuyên truyền tổ chức ngày nào? Ghi dd/mm/yyyy hoặc bấm nút.",
        feature=FEATURE,
        step=DAY,
        label_vi=LABEL,
        reply_markup=keyboard,
        **form,
    )


async def _ask_unit(update: Update, context: Context) -> None:
    svc = services(context)
    all_units = await units.all_units(svc.db)
    rows = [
        [InlineKeyboardButton(u.name[:60], callback_data=f"bcao:u:{u.id}")] for u in all_units[:12]
    ]
    more = " hoặc gõ tên đơn vị" if len(all_units) > 12 else " (hoặc gõ tên đơn vị)"
    markup = InlineKeyboardMarkup(rows) if rows else None
    await _step(update, context, UNIT, f"2/6. Đơn vị tổ chức? Chọn{more}.", markup)


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


async def _ask_topics(update: Update, context: Context) -> None:
    svc = services(context)
    form = _form(update, context)
    form.setdefault("topics", [])
    await _step(
        update,
        context,
        TOPICS,
        "3/6. Nội dung tuyên truyền? Chọn một hay nhiều mục rồi bấm «Xong».",
        _topics_markup(svc.settings.outreach_topics, form["topics"]),
    )


async def _ask_format(update: Update, context: Context) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label.capitalize(), callback_data=f"bcao:f:{key}")]
            for key, label in rules.FORMATS.items()
        ]
    )
    await _step(update, context, FORMAT, "4/6. Hình thức tuyên truyền?", keyboard)


async def _ask_listeners(update: Update, context: Context) -> None:
    await _step(update, context, LISTENERS, "5/6. Bao nhiêu lượt người nghe? Gõ một số, ví dụ 120.")


async def _ask_note(update: Update, context: Context) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Bỏ qua", callback_data="bcao:n:-")]])
    text = "6/6. Ghi chú thêm (không bắt buộc)? Gõ ghi chú hoặc bấm «Bỏ qua»."
    await _step(update, context, NOTE, text, keyboard)


async def _ask_confirm(update: Update, context: Context) -> None:
    svc = services(context)
    form = _form(update, context)
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
    await _step(update, context, CONFIRM, f"<b>{verb}</b>\n{text}", keyboard)


# --- entry points -----------------------------------------------------------------------------


async def _start(
    update: Update, context: Context, unit_id: int | None, chat_id: int | None
) -> None:
    await _ask_day(update, context, unit_id=unit_id, group_id=chat_id, topics=[])


@user_errors
async def report_command(update: Update, context: Context) -> None:
    """/baocao: in private, the form; in an approved cadre group, a button that opens it."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        sub = await subs.get_subscription(svc.db, chat.id)
        if sub is None or not sub.is_cadre:
            await reply(
                update, "Lệnh /baocao dùng trong nhóm cán bộ đã duyệt hoặc nhắn riêng với bot."
            )
            return
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
        return
    await _start(update, context, None, None)


@user_errors
async def start_from_group(update: Update, context: Context) -> None:
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
    await _start(update, context, unit_id, group)


# --- answers ------------------------------------------------------------------------------------


async def _after_day(update: Update, context: Context) -> None:
    form = _form(update, context)
    if form.get("unit_id") is None:
        await _ask_unit(update, context)
    else:
        await _ask_topics(update, context)


@_at(DAY)
async def day_text(update: Update, context: Context) -> None:
    """The date typed."""
    message = update.effective_message
    try:
        day = rules.parse_day(message.text or "" if message else "", _today(services(context)))
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return
    _form(update, context)["day"] = day.isoformat()
    await _after_day(update, context)


@_at(DAY)
@user_errors
async def day_button(update: Update, context: Context) -> None:
    """[Hôm nay] / [Hôm qua]."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_query(update)
    day = rules.parse_day(query.data.split(":", 2)[2], _today(services(context)))
    _form(update, context)["day"] = day.isoformat()
    await _after_day(update, context)


@_at(UNIT)
async def unit_text(update: Update, context: Context) -> None:
    """A unit typed by name or code."""
    message = update.effective_message
    unit = await units.find_unit(services(context).db, message.text or "" if message else "")
    if unit is None:
        await reply(update, "Không tìm thấy đơn vị này. Gõ lại tên (xem /donvi) hoặc chọn nút.")
        return
    _form(update, context)["unit_id"] = unit.id
    await _ask_topics(update, context)


@_at(UNIT)
@user_errors
async def unit_button(update: Update, context: Context) -> None:
    """A unit's button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_query(update)
    unit = await units.unit_by_id(services(context).db, int(query.data.split(":")[2]))
    _form(update, context)["unit_id"] = unit.id
    await _ask_topics(update, context)


@_at(TOPICS)
async def topic_button(update: Update, context: Context) -> None:
    """Toggle a topic, or [Xong]."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    form = _form(update, context)
    chosen: list[int] = form.setdefault("topics", [])
    value = query.data.split(":")[2]
    if value == "ok":
        if not chosen:
            await answer_query(update, "Chọn ít nhất một nội dung.", alert=True)
            return
        await answer_query(update)
        await _ask_format(update, context)
        return
    index = int(value)
    if not 0 <= index < len(svc.settings.outreach_topics):
        await answer_query(update, "Nút này đã cũ.", alert=True)
        return
    if index in chosen:
        chosen.remove(index)
    else:
        chosen.append(index)
    await answer_query(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(_topics_markup(svc.settings.outreach_topics, chosen))


@_at(FORMAT)
async def format_button(update: Update, context: Context) -> None:
    """A format's button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    value = query.data.split(":")[2]
    await answer_query(update)
    if value not in rules.FORMATS:
        return
    _form(update, context)["format"] = value
    await _ask_listeners(update, context)


@_at(LISTENERS)
async def listeners_text(update: Update, context: Context) -> None:
    """The head count."""
    message = update.effective_message
    try:
        listeners = rules.parse_listeners(message.text or "" if message else "")
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return
    _form(update, context)["listeners"] = listeners
    await _ask_note(update, context)


@_at(NOTE)
async def note_text(update: Update, context: Context) -> None:
    """The note typed."""
    message = update.effective_message
    try:
        note = rules.parse_note(message.text or "" if message else "")
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return
    _form(update, context)["note"] = note
    await _ask_confirm(update, context)


@_at(NOTE)
async def note_skip(update: Update, context: Context) -> None:
    """[Bỏ qua] the note."""
    await answer_query(update)
    _form(update, context)["note"] = None
    await _ask_confirm(update, context)


@_at(CONFIRM)
async def confirm_button(update: Update, context: Context) -> None:
    """[Lưu] (who may report for the unit is checked now) or [Hủy]."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    form = _form(update, context)
    dialogs.end(update, context)  # saved, refused or cancelled: the form is over
    if query.data == "bcao:x":
        await answer_query(update, "Đã hủy.")
        with contextlib.suppress(BadRequest):
            await query.edit_message_text("✖️ Đã hủy báo cáo.")
        return
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
            chat_id=form.get("group_id"),
            now=clock.now(),
            report_id=form.get("edit"),
        )
    except LoaError as exc:
        await answer_query(update)
        await reply(update, exc.user_message)
        return
    await answer_query(update, "Đã lưu.")
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
    days = svc.settings.report_edit_days
    await reply(
        update,
        f"✅ Đã lưu báo cáo #{rid}. Cảm ơn đồng chí! Có thể sửa hoặc xóa trong {days} ngày:"
        " /baocaocuatoi",
    )


async def stale_button(update: Update, context: Context) -> None:
    """A form button pressed with no form open (an old message)."""
    await answer_query(update, STALE, alert=True)


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
async def edit_button(update: Update, context: Context) -> None:
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
        return
    await answer_query(update)
    await _ask_day(
        update, context, unit_id=report.unit_id, group_id=None, topics=[], edit=report.id
    )


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


# --- registration -------------------------------------------------------------------------------


def register(app: Any, svc: Services) -> None:
    """The form (a dialog; its deep link before /start so it is caught), the rest."""
    svc.forgetters.append(store.forget_reporter)
    svc.commands.extend(
        [
            CommandInfo("baocao", "Báo cáo buổi tuyên truyền (cán bộ)", aliases=("report",)),
            CommandInfo("baocaocuatoi", "Sửa, xóa báo cáo tuyên truyền của bạn"),
            CommandInfo("tonghop", "Tổng hợp buổi tuyên truyền: /tonghop [kỳ]", permission="staff"),
        ]
    )
    # The form is a dialog (bot.handlers.dialogs): it lapses and the reporter is told,
    # /huy (/cancel) ends it, it survives a restart; typed answers only in private.
    registry = dialogs.registry_of(app)
    private = filters.ChatType.PRIVATE

    def typed(step: str) -> filters.BaseFilter:
        return filters.TEXT & ~filters.COMMAND & private & dialogs.InDialog(registry, FEATURE, step)

    app.add_handler(CommandHandler(["baocao", "report"], report_command))
    app.add_handler(
        CommandHandler(
            "start",
            start_from_group,
            filters=private & filters.Regex(rf"^/start {rules.START_PREFIX}"),
        )
    )
    app.add_handler(CallbackQueryHandler(edit_button, pattern=r"^bcao:e:\d+$"))
    app.add_handler(MessageHandler(typed(DAY), day_text))
    app.add_handler(CallbackQueryHandler(day_button, pattern=r"^bcao:d:"))
    app.add_handler(MessageHandler(typed(UNIT), unit_text))
    app.add_handler(CallbackQueryHandler(unit_button, pattern=r"^bcao:u:\d+$"))
    app.add_handler(CallbackQueryHandler(topic_button, pattern=r"^bcao:t:(\d+|ok)$"))
    app.add_handler(CallbackQueryHandler(format_button, pattern=r"^bcao:f:"))
    app.add_handler(MessageHandler(typed(LISTENERS), listeners_text))
    app.add_handler(MessageHandler(typed(NOTE), note_text))
    app.add_handler(CallbackQueryHandler(note_skip, pattern=r"^bcao:n:-$"))
    app.add_handler(CallbackQueryHandler(confirm_button, pattern=r"^bcao:(ok|x)$"))
    app.add_handler(CommandHandler("baocaocuatoi", my_reports_command))
    app.add_handler(CommandHandler("tonghop", session_totals.totals_command))
    app.add_handler(CallbackQueryHandler(delete_button, pattern=r"^bcao:del:\d+$"))
    app.add_handler(
        CallbackQueryHandler(session_totals.totals_export_button, pattern=r"^th:xl:\d{8}:\d{8}$")
    )
    app.add_handler(CallbackQueryHandler(stale_button, pattern=r"^bcao:"))
