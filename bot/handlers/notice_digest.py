"""Moderators' notices in bulk: many new comments at once become one digest per chat.

A notice per comment (with its buttons, answered by replying to it) suits everyday
traffic. A burst — a hundred citizens answering the same announcement within seconds —
would post a hundred messages into the moderators' chat, which Telegram lets a group
receive at 20 a minute (the pacer holds the rest back for minutes, delaying everything
else sent there) and which nobody reads one by one. Past
DIGEST_OVER notices for one chat (and topic) in one pass of the notifier, that chat
gets one digest listing the comments, with a button that opens /choduyet, the pending
list where each is approved, rejected or answered. Comments with a photo keep their own
notice (the photo is the point). Issue 17: also one request instead of a hundred.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain import clock
from bot.domain.text import escape
from bot.handlers.feedback_state import _article_label, _article_title, _short
from bot.services import Services
from bot.store import feedback as store

DIGEST_OVER = 10  # more notices than this for one chat in one pass: a digest instead
DIGEST_LINES = 15  # comments listed in a digest (each cut to DIGEST_EXCERPT characters)
DIGEST_EXCERPT = 120


def digest_markup() -> InlineKeyboardMarkup:
    """One button: the first page of /choduyet, shown in place of the digest."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("📥 Mở danh sách chờ duyệt", callback_data="ykp:0")]]
    )


async def digest_text(svc: Services, comments: Sequence[store.Comment]) -> str:
    """The digest of new comments: how many, the first DIGEST_LINES, how to act on them.

    Under Telegram's 4096 characters: 15 entries of at most ~260 characters each."""
    lines = [
        f"📥 <b>{len(comments)} ý kiến mới</b> đến cùng lúc — Loa gộp thành một tin để nhóm "
        "không bị ngập thông báo."
    ]
    for c in comments[:DIGEST_LINES]:
        title = await _article_title(svc, c.article_id)
        label = _article_label(c.article_id, _short(title, 80) if title else None)
        when = clock.format_local(c.created_at, svc.settings.tz)
        lines.append(
            f"\n<b>#{c.id}</b> · {when} · {label}\n{escape(_short(c.text, DIGEST_EXCERPT))}"
        )
    rest = len(comments) - DIGEST_LINES
    if rest > 0:
        lines.append(f"\n… và {rest} ý kiến khác.")
    lines.append(
        "\nBấm nút dưới đây (hoặc gõ /choduyet) để duyệt, từ chối hoặc trả lời từng ý kiến."
    )
    return "\n".join(lines)
