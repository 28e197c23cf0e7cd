"""Casework on the moderators' notice (issue 15): the case lines (category, place, state,
due day, holder) and the [🙋 Nhận xử lý] [🗂 Hồ sơ] row bot.handlers.moderation adds,
and the chats a new case is shown in (its category's topic, named moderators)."""

from __future__ import annotations

from telegram import InlineKeyboardButton

from bot.actions import casework as actions
from bot.domain import casework as rules
from bot.domain.errors import LoaError
from bot.domain.text import escape
from bot.handlers.casework_admin import staff_name
from bot.services import Services
from bot.store import cases
from bot.workers.casework import CaseRouter


def notice_row(case_id: int) -> list[InlineKeyboardButton]:
    """[🙋 Nhận xử lý] [🗂 Hồ sơ] under a moderators' notice."""
    return [
        InlineKeyboardButton("🙋 Nhận xử lý", callback_data=f"cw:k:{case_id}"),
        InlineKeyboardButton("🗂 Hồ sơ", callback_data=f"cw:v:{case_id}"),
    ]


async def notice_lines(svc: Services, case_id: int, case: cases.Case | None = None) -> list[str]:
    """The case lines of a notice: category, place, state, due day, holder, follow-up
    (`case`: the case already read, e.g. for a batch of notices)."""
    if case is None:
        try:
            case = await cases.get(svc.db, case_id)
        except LoaError:
            return []
    policy = actions.policy(svc)
    place = f" · 📍 {escape(case.unit)}" if case.unit else ""
    lines = [
        f"🏷 Lĩnh vực: <b>{escape(case.category)}</b>{place}",
        f"📌 Xử lý: <b>{escape(case.state_vi)}</b>"
        f" · ⏰ Hạn: {rules.format_day(case.due_or(policy))}",
    ]
    if case.holder_id is not None:
        lines.append(f"🙋 Người xử lý: {escape(await staff_name(svc, case.holder_id))}")
    if case.follow_up_of:
        lines.append(f"↪️ Tiếp theo ý kiến #{case.follow_up_of}")
    if case.photo_file_id:
        lines.append("📷 Kèm ảnh (ở tin nhắn trên)")
    return lines


async def notice_targets(
    svc: Services,
    case_id: int,
    case: cases.Case | None = None,
    moderators: dict[tuple[str, str | None], list[int]] | None = None,
) -> list[tuple[int, str | None, str | None, str | None]]:
    """(chat, category for its topic or None, photo file id, masked caption) for each
    chat that shows a new case: the staff chats (topics) and named moderators.

    `moderators`: (category, place) → named moderators already looked up for a batch of
    notices (filled here; one lookup per category and place, not per case)."""
    if case is None:
        case = await cases.get(svc.db, case_id)
    router: CaseRouter = svc.features["case_router"]
    caption = (
        f"📷 Ảnh kèm ý kiến #{case.id}" + (f": {case.photo_caption}" if case.photo_caption else "")
    )[:1024]
    photo = case.photo_file_id
    out: list[tuple[int, str | None, str | None, str | None]] = []
    staff = router.staff_chats()
    for chat_id in staff:
        out.append((chat_id, case.category, photo, escape(caption)))
    route = (case.category, case.unit)
    named = None if moderators is None else moderators.get(route)
    if named is None:
        named = await router.moderators(*route)
        if moderators is not None:
            moderators[route] = named
    for user_id in named:
        if user_id not in staff:
            out.append((user_id, None, photo, escape(caption)))
    return out
