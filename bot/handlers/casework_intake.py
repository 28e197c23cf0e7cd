"""Casework, the citizen's side (issue 15): category, place, photo and consent on the
comment's preview; the due day on the receipt; ratings of an answer and a follow-up
comment linked to it; /hoidap, the published answers.

The comment flow itself (text, limits, confirmation) is bot.handlers.feedback; it calls
show_preview, attach_photo, intake_of and receipt_lines from here.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot.actions import casework as actions
from bot.domain import casework as rules
from bot.domain import clock
from bot.domain import feedback as feedback_rules
from bot.domain.errors import LoaError
from bot.domain.text import clean, escape
from bot.handlers.base import (
    EXPIRED_BUTTON,
    Context,
    alert_text,
    answer_query,
    reply,
    services,
)
from bot.handlers.feedback_state import (
    Draft,
    _article_label,
    _article_title,
    _masking_note,
    _private,
    _reply_blocks,
    _short,
    _state,
)
from bot.services import Services
from bot.store import case_office, cases
from bot.store import feedback as feedback_store
from bot.store import subscriptions as subs
from bot.tg import raw

log = logging.getLogger(__name__)
MAX_UNITS = 12  # place buttons on the preview (Telegram allows 100; a phone shows ~12)
MAX_CAPTION = 1024  # Telegram's caption limit (shared/telegram-limits.md)


# --------------------------------------------------------------------------- the preview


async def preview_text(svc: Services, draft: Draft) -> str:
    """The preview of a comment with the case's choices so far."""
    assert draft.text is not None
    policy = actions.policy(svc)
    masked = feedback_rules.mask(draft.text)
    title = await _article_title(svc, draft.article_id)
    about = f"\n📰 {_article_label(draft.article_id, title)}" if draft.article_id else ""
    follow = f"\n↪️ Tiếp theo ý kiến #{draft.follow_up_of}" if draft.follow_up_of else ""
    category = draft.category or rules.OTHER
    chosen = (
        f"<b>{escape(category)}</b>"
        if draft.category
        else f"chưa chọn (mặc định «{escape(rules.OTHER)}»)"
    )
    due = rules.due_date(
        rules.local_day(clock.now(), policy.tz), policy.days_for(category), policy.calendar
    )
    lines = [
        f"📝 <b>Xem lại ý kiến của bạn</b>{about}{follow}",
        "",
        f"<blockquote>{escape(masked.text)}</blockquote>"
        f"{_masking_note(masked.kinds, svc.settings.feedback_keep_original)}",
        "",
        f"🏷 Lĩnh vực: {chosen}",
    ]
    if draft.units:
        lines.append(
            f"📍 Địa bàn: <b>{escape(draft.unit)}</b>" if draft.unit else "📍 Địa bàn: (không ghi)"
        )
    if draft.photo_file_id:
        cap = f": <i>{escape(_short(draft.photo_caption, 200))}</i>" if draft.photo_caption else ""
        lines.append(f"📷 Đã đính kèm 1 ảnh{cap}")
    else:
        lines.append("📷 Bạn có thể gửi kèm <b>một ảnh</b> (ví dụ ảnh đoạn đường hỏng).")
    lines.append(
        "🌐 Cho phép công bố ẩn danh câu hỏi cùng câu trả lời: "
        + ("<b>Có</b>" if draft.allow_publish else "<b>Không</b>")
    )
    lines.append(
        f"⏰ Cơ quan sẽ trả lời trước hết ngày <b>{rules.format_day(due)}</b>"
        f" ({policy.days_for(category)} ngày làm việc)."
    )
    lines += [
        "",
        "Chọn lĩnh vực bên dưới, rồi bấm <b>Gửi</b> để gửi, <b>Sửa</b> để viết lại, "
        "<b>Hủy</b> để thôi.",
    ]
    return "\n".join(lines)


@functools.lru_cache(maxsize=64)
def _category_rows(
    categories: tuple[str, ...], chosen: str | None
) -> tuple[tuple[InlineKeyboardButton, ...], ...]:
    """The category buttons, two per row (cached: PTB objects are immutable and building
    a dozen costs ~1 ms, on every preview)."""
    buttons = [
        InlineKeyboardButton(("✅ " if name == chosen else "") + name, callback_data=f"ykg:{i}")
        for i, name in enumerate(categories)
    ]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def preview_markup(svc: Services, draft: Draft) -> InlineKeyboardMarkup:
    """Category buttons (their names), places, consent, photo removal, Gửi/Sửa/Hủy."""
    return _preview_markup(svc.settings.feedback_categories, draft)


def preview_markup_data(svc: Services, draft: Draft) -> dict[str, Any]:
    """preview_markup as Bot API JSON for bot.tg.raw, built once per look (cached: PTB's
    to_dict of a dozen buttons was ~10 % of a comment's CPU; issue 17). Read-only."""
    return _markup_data(
        svc.settings.feedback_categories,
        draft.category,
        draft.units,
        draft.unit,
        draft.allow_publish,
        bool(draft.photo_file_id),
    )


@functools.lru_cache(maxsize=256)
def _markup_data(
    categories: tuple[str, ...],
    category: str | None,
    units: tuple[str, ...],
    unit: str | None,
    allow_publish: bool,
    photo: bool,
) -> dict[str, Any]:
    look = Draft("confirm", 0, category=category, units=units, unit=unit)
    look.allow_publish, look.photo_file_id = allow_publish, "photo" if photo else None
    return _preview_markup(categories, look).to_dict()


def _preview_markup(categories: tuple[str, ...], draft: Draft) -> InlineKeyboardMarkup:
    rows: list[Sequence[InlineKeyboardButton]] = list(_category_rows(categories, draft.category))
    places = [
        InlineKeyboardButton(
            ("✅ " if unit == draft.unit else "📍 ") + unit[:40], callback_data=f"ykd:{i}"
        )
        for i, unit in enumerate(draft.units)
    ]
    rows += [places[i : i + 2] for i in range(0, len(places), 2)]
    consent = (
        InlineKeyboardButton("🌐 Công bố ẩn danh: Có", callback_data="ykq:0")
        if draft.allow_publish
        else InlineKeyboardButton("🌐 Công bố ẩn danh: Không", callback_data="ykq:1")
    )
    extra = [consent]
    if draft.photo_file_id:
        extra.append(InlineKeyboardButton("🗑 Bỏ ảnh", callback_data="ykh"))
    rows.append(extra)
    rows.append(
        [
            InlineKeyboardButton("📨 Gửi", callback_data="ykc:s"),
            InlineKeyboardButton("✏️ Sửa", callback_data="ykc:e"),
            InlineKeyboardButton("✖️ Hủy", callback_data="ykc:c"),
        ]
    )
    return InlineKeyboardMarkup(rows)


_UNITS_TTL = 60.0  # seconds the places offered are reused (/setunit changes them rarely)


async def _units(svc: Services) -> tuple[str, ...]:
    """The places a citizen may pick: units of approved cadre chats (cached a minute)."""
    cached = svc.features.get("case_units")
    if cached is not None and time.monotonic() - cached[0] < _UNITS_TTL:
        return cached[1]
    units = tuple((await subs.list_units(svc.db))[:MAX_UNITS])
    svc.features["case_units"] = (time.monotonic(), units)
    return units


async def show_preview(update: Update, context: Context, draft: Draft) -> None:
    """Send the preview (the previous one loses its buttons)."""
    svc = services(context)
    if not draft.units:
        draft.units = await _units(svc)
    chat = update.effective_chat
    assert chat is not None
    if draft.preview_id is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.edit_message_reply_markup(
                chat.id, draft.preview_id, reply_markup=None
            )
    # Raw (bot.tg.raw): only the id is kept, and PTB would parse the answer's whole
    # keyboard back into objects (issue 17).
    sent = await raw.send_text(
        context.bot,
        chat.id,
        await preview_text(svc, draft),
        reply_markup=preview_markup_data(svc, draft),
    )
    draft.preview_id = int(sent["message_id"])


async def intake_button(update: Update, context: Context) -> None:
    """ykg:<i> category, ykd:<i> place, ykq:<0|1> consent, ykh drop the photo."""
    svc = services(context)
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    draft = _state(context).draft(user.id, "confirm")
    data = query.data or ""
    kind, _, arg = data.partition(":")
    if draft is None or draft.text is None:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        return
    index = feedback_rules.parse_id(arg, minimum=0) if arg else None
    if kind == "ykg" and index is not None and index < len(svc.settings.feedback_categories):
        draft.category = svc.settings.feedback_categories[index]
        note = f"Lĩnh vực: {draft.category}"
    elif kind == "ykd" and index is not None and index < len(draft.units):
        chosen = draft.units[index]
        draft.unit = None if draft.unit == chosen else chosen
        note = f"Địa bàn: {draft.unit or '(không ghi)'}"
    elif kind == "ykq" and arg in ("0", "1"):
        draft.allow_publish = arg == "1"
        note = "Cho phép công bố ẩn danh" if draft.allow_publish else "Không công bố"
    elif kind == "ykh":
        draft.photo_file_id = draft.photo_caption = None
        note = "Đã bỏ ảnh"
    else:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    await answer_query(update, note)
    preview = query.message
    if preview is None:
        return
    params = {"chat_id": preview.chat.id, "message_id": preview.message_id}
    with contextlib.suppress(BadRequest):  # "not modified" when pressed twice
        # Raw, with the keyboard's JSON built once per look: the edited preview would come
        # back with its whole keyboard for PTB to parse, and nothing reads it (issue 17).
        await raw.call(
            context.bot,
            "editMessageText",
            {
                **params,
                "text": await preview_text(svc, draft),
                "parse_mode": raw.HTML,
                "reply_markup": preview_markup_data(svc, draft),
            },
        )
    draft.preview_id = preview.message_id


async def attach_photo(update: Update, context: Context, draft: Draft) -> None:
    """A photo sent while the preview waits: kept by file id, its caption masked."""
    message = update.effective_message
    assert message is not None and message.photo
    caption = clean(message.caption or "")
    if len(caption) > MAX_CAPTION:
        await reply(update, f"Chú thích ảnh quá dài (tối đa {MAX_CAPTION} ký tự).")
        return
    draft.photo_file_id = message.photo[-1].file_id  # the largest size
    draft.photo_caption = feedback_rules.mask(caption).text if caption else None
    await show_preview(update, context, draft)


def intake_of(svc: Services, draft: Draft, now: int) -> rules.Intake:
    """The case's choices for bot.store.feedback.submit, with its due day."""
    policy = actions.policy(svc)
    category = draft.category or rules.OTHER
    return rules.Intake(
        category=category,
        unit=draft.unit,
        photo_file_id=draft.photo_file_id,
        photo_caption=draft.photo_caption,
        allow_publish=draft.allow_publish,
        follow_up_of=draft.follow_up_of,
        due=policy.due_for(now, category),
    )


def receipt_lines(svc: Services, case: rules.Intake) -> str:
    """The receipt's case lines: category, place, due day (dd/mm/yyyy)."""
    policy = actions.policy(svc)
    lines = [f"\n🏷 Lĩnh vực: <b>{escape(case.category)}</b>"]
    if case.unit:
        lines.append(f"📍 Địa bàn: {escape(case.unit)}")
    if case.photo_file_id:
        lines.append("📷 Kèm 1 ảnh")
    if case.due is not None:
        lines.append(
            f"⏰ Hạn trả lời: <b>{rules.format_day(case.due)}</b>"
            f" ({policy.days_for(case.category)} ngày làm việc)"
        )
    if case.allow_publish:
        lines.append("🌐 Bạn cho phép công bố ẩn danh câu hỏi cùng câu trả lời.")
    return "\n".join(lines)


def case_line(case: cases.Case, policy: rules.CasePolicy) -> str:
    """/ykiencuatoi: the case's state and due day."""
    line = (
        f"🏷 {escape(case.category)} · Xử lý: <b>{escape(case.state_vi)}</b>"
        f" · Hạn: {rules.format_day(case.due_or(policy))}"
    )
    if case.transferred_to:
        line += f"\n📤 Chuyển đến: {escape(case.transferred_to)}"
    if case.rating:
        line += f"\n⭐ Bạn đánh giá: {rules.RATING_VI[case.rating]}"
    return line


# --------------------------------------------------------------------------- ratings


def rating_keyboard(case_id: int) -> InlineKeyboardMarkup:
    """[😊 Hài lòng] [😐 Bình thường] [☹️ Chưa hài lòng] under an answer."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(rules.RATING_VI[rating], callback_data=f"cwr:{case_id}:{code}")
                for code, rating in rules.RATING_CODES.items()
            ]
        ]
    )


async def rate_button(update: Update, context: Context) -> None:
    """cwr:<id>:<g|f|p>: the citizen rates the answer; a follow-up may be written."""
    svc = services(context)
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    case_id = feedback_rules.parse_id(parts[1]) if len(parts) == 3 else None
    rating = rules.RATING_CODES.get(parts[2]) if len(parts) == 3 else None
    if case_id is None or rating is None:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    try:
        case = await cases.rate(svc.db, case_id, user_id=user.id, rating=rating, now=clock.now())
    except LoaError as exc:
        await answer_query(update, alert_text(exc.user_message), alert=True)
        return
    await answer_query(update, f"Cảm ơn bạn đã đánh giá: {rules.RATING_VI[rating]}")
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)
    await reply(
        update,
        f"🙏 Cảm ơn bạn đã đánh giá câu trả lời cho ý kiến #{case.id}: "
        f"<b>{rules.RATING_VI[rating]}</b>.\nNếu cần, bạn có thể gửi thêm ý kiến tiếp theo, "
        "được gắn với ý kiến này.",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("✍️ Gửi ý kiến tiếp theo", callback_data=f"cwf:{case.id}")]]
        ),
    )
    if rating == rules.POOR:
        router = svc.features.get("case_router")
        if router is not None:
            text = (
                f"☹️ Người gửi ý kiến <b>#{case.id}</b> chưa hài lòng với câu trả lời."
                f" Xem: /hoso {case.id}"
            )
            for chat_id in router.staff_chats():
                await router.send(chat_id, text, category=case.category)
            if case.holder_id is not None:
                await router.send(case.holder_id, text)


async def follow_up_button(update: Update, context: Context) -> None:
    """cwf:<id>: start a comment linked to the citizen's earlier one."""
    svc = services(context)
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    case_id = feedback_rules.parse_id((query.data or "").partition(":")[2])
    if case_id is None or not _private(update):
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    try:
        case = await cases.get(svc.db, case_id)
    except LoaError:
        case = None
    if case is None or case.user_id != user.id:
        await answer_query(
            update, "Chỉ người gửi ý kiến mới gửi được ý kiến tiếp theo.", alert=True
        )
        return
    if await feedback_store.is_banned(svc.db, user.id):
        await answer_query(update)
        await reply(update, feedback_rules.BANNED_MESSAGE)
        return
    await answer_query(update)
    _state(context).drafts[user.id] = Draft(
        "text", chat.id, None, category=case.category, unit=case.unit, follow_up_of=case.id
    )
    await reply(
        update,
        f"✍️ Mời bạn nhập ý kiến tiếp theo cho ý kiến <b>#{case.id}</b> (từ 10 đến 2.000 ký tự)."
        "\nGõ /huy để thôi.",
    )


# --------------------------------------------------------------------------- /hoidap


async def hoidap_command(update: Update, context: Context) -> None:
    """/hoidap: the latest published questions and answers (anonymised, masked)."""
    svc = services(context)
    items = await case_office.published(svc.db, limit=10)
    if not items:
        await reply(update, "Chưa có câu hỏi – trả lời nào được công bố.")
        return
    blocks = ["📢 <b>Hỏi – đáp</b> (mới nhất trước)"]
    for item in items:
        blocks.append(
            f"\n<i>{clock.format_date(item.published_at, svc.settings.tz)}</i>\n"
            f"{escape(_short(item.text, 1500))}"
        )
    await _reply_blocks(update, blocks)
