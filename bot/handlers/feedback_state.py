"""What the feedback flow (bot.handlers.feedback) and moderation
(bot.handlers.moderation) share: the in-memory state (notice keys, the
notification queue), the message filters that route a flow's messages, and helpers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from telegram import (
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    filters,
)

from bot.domain import feedback as rules
from bot.domain.dialogs import Dialogs
from bot.domain.text import escape, pack_html_lines
from bot.handlers.base import (
    Context,
    reply,
)
from bot.handlers.dialogs import InDialog
from bot.services import Services

log = logging.getLogger(__name__)

# What the notifier queue carries: ("notice", comment id) shows a comment to the
# moderators; ("answer", comment id) delivers its stored answer to the citizen.
NOTICE, ANSWER = "notice", "answer"
Job = tuple[str, int]

STATE_KEY = "feedback_state"


FEATURE = "feedback"  # the dialogs' feature name (comments being written, answers)
NOTICE_KEYS_MAX = 50_000  # notices remembered in memory; older ones are read from the DB


class FeedbackState:
    """In-memory state of the feature: notice keys, the notification queue."""

    def __init__(self) -> None:
        self.notice_keys: set[tuple[int, int]] = set()
        self.queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.timers: set[asyncio.TimerHandle] = set()

    def retry_later(self, job: Job, delay: float) -> None:
        """Put `job` back on the queue after `delay` seconds (dropped at stop: the
        database still says it is pending, and the next start queues it again)."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self.timers.discard(handle)
            self.queue.put_nowait(job)

        handle = loop.call_later(delay, fire)
        self.timers.add(handle)

    def remember_notices(self, keys: Iterable[tuple[int, int]]) -> None:
        """Remember notice messages (bounded: past NOTICE_KEYS_MAX the set restarts from
        the newest; a reply to an older notice is then looked up in the database)."""
        self.notice_keys.update(keys)
        if len(self.notice_keys) > NOTICE_KEYS_MAX:
            newest = sorted(self.notice_keys, key=lambda k: k[1])[-NOTICE_KEYS_MAX // 2 :]
            self.notice_keys = set(newest)


def _state(context: Context) -> FeedbackState:
    return context.application.bot_data[STATE_KEY]


class _ModeratorAnswer(filters.MessageFilter):
    """A reply to a comment notice, or to the prompt of the moderator's answer dialog."""

    def __init__(self, state: FeedbackState, dialogs: Dialogs) -> None:
        super().__init__(name="ModeratorAnswer")
        self.state = state
        self.in_dialog = InDialog(dialogs, FEATURE, "answer")

    def filter(self, message: Message) -> bool:
        ref = message.reply_to_message
        if ref is not None and (message.chat.id, ref.message_id) in self.state.notice_keys:
            return True
        return bool(self.in_dialog.filter(message))


# --------------------------------------------------------------------------- helpers


def _private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _staff_chat(svc: Services, update: Update) -> bool:
    """Moderation happens in the admin chat or in private chats."""
    chat = update.effective_chat
    return chat is not None and (
        chat.type == ChatType.PRIVATE or chat.id == svc.settings.admin_chat_id
    )


async def _article_title(svc: Services, article_id: str | None) -> str | None:
    """The article's title via the articles feature (None: unknown or no such feature)."""
    if not article_id:
        return None
    lookup = svc.features.get("article_title")
    if lookup is None:
        return None
    try:
        return await lookup(article_id)
    except Exception:  # another feature's failure must not break feedback
        log.exception("article_title failed for %s", article_id)
        return None


def _article_label(article_id: str | None, title: str | None) -> str:
    if not article_id:
        return "Ý kiến chung (không gắn bài viết)"
    return f"«{escape(title)}»" if title else f"bài <code>{escape(article_id)}</code>"


async def _reply_blocks(
    update: Update, blocks: list[str], reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Escaped HTML blocks as one or more messages under Telegram's limit (buttons last)."""
    parts = pack_html_lines(blocks)
    for i, part in enumerate(parts):
        await reply(update, part, reply_markup=reply_markup if i == len(parts) - 1 else None)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _deep_link(context: Context, payload: str) -> str:
    return f"https://t.me/{context.bot.username}?start={payload}"


def _masking_note(kinds: frozenset[str], keep_original: bool) -> str:
    if not kinds:
        return ""
    stored = (
        "Bản gốc được lưu riêng trong hệ thống của cơ quan, không hiển thị cho ai."
        if keep_original
        else "Bản gốc không được lưu."
    )
    return (
        f"\n\n🔒 Để bảo vệ bạn, {rules.masked_kinds_vi(kinds)} trong ý kiến đã được che "
        f"(như trên) trước khi chuyển đến người kiểm duyệt. {stored}"
    )


async def _actor(svc: Services, update: Update) -> tuple[int, str | None, str]:
    user = update.effective_user
    assert user is not None
    role = await svc.role_of(user.id)
    return user.id, (str(role) if role else None), user.first_name
