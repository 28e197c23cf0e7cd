"""What the feedback flow (bot.handlers.feedback) and moderation
(bot.handlers.moderation) share: the in-memory state (drafts, notice keys, the
notification queue), the message filters that route a flow's messages, and helpers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
from bot.domain.text import escape, pack_html_lines, shorten
from bot.handlers.base import (
    Context,
    reply,
)
from bot.handlers.dialogs import InDialog
from bot.handlers.persistence import keep
from bot.services import Services

log = logging.getLogger(__name__)

DRAFT_TTL = 1800  # seconds a half-written comment (or a pending answer) is remembered

# What the notifier queue carries: ("notice", comment id) shows a comment to the
# moderators; ("answer", comment id) delivers its stored answer to the citizen.
NOTICE, ANSWER = "notice", "answer"
Job = tuple[str, int]

STATE_KEY = "feedback_state"
FEATURE = "feedback"  # the dialogs' feature name (comments being written, answers)
NOTICE_KEYS_MAX = 50_000  # notices remembered in memory; older ones are read from the DB


@keep  # kept in user_data, so it survives a restart (bot.handlers.persistence)
@dataclass
class Draft:
    """Where one user is in the comment flow (or a moderator in the answer flow)."""

    stage: str  # "text" (waiting for the comment), "confirm", "answer"
    chat_id: int
    article_id: str | None = None
    text: str | None = None
    comment_id: int | None = None  # for "answer"
    at: float = field(default_factory=time.time)  # wall clock: it outlives the process
    # Casework (issue 15): what the citizen chose on the preview (bot.handlers.casework_intake).
    category: str | None = None
    unit: str | None = None
    units: tuple[str, ...] = ()  # the places offered on the preview
    photo_file_id: str | None = None
    photo_caption: str | None = None  # masked
    allow_publish: bool = False
    follow_up_of: int | None = None
    preview_id: int | None = None  # the preview message (its buttons go when replaced)
    # The checks the text passed before the preview (bot.store.feedback.submit's
    # `checked`): when, and the user's comment times of the 24 hours before then.
    checked_at: int | None = None
    recent: tuple[int, ...] = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> Draft:
        # PTB deep-copies user_data before every persistence write; every field is
        # immutable (str, int, tuples of them), so a shallow copy is a deep one, without
        # copy's generic per-field reconstruction (issue 17).
        return dataclasses.replace(self)


DRAFT_KEY = "feedback_draft"


class UserDrafts:
    """user id → Draft, kept in each user's PTB user_data (persisted on the SQLite file)."""

    def __init__(
        self, user_data: Mapping[int, dict[Any, Any]], dialogs: Dialogs | None = None
    ) -> None:
        self._user_data = user_data  # Application.user_data (read-only view, mutable dicts)
        # Each draft has a dialog (bot.handlers.dialogs, issue 10): it lapses after
        # LOA_CONVERSATION_TIMEOUT (the user is told) and /cancel ends it, whichever
        # feature's /cancel runs; a draft whose dialog is gone is gone.
        self._dialogs = dialogs

    def _live(self, user_id: int, draft: Draft) -> bool:
        if self._dialogs is None:
            return True
        dialog = self._dialogs.get(draft.chat_id, user_id, time.time(), FEATURE)
        if dialog is None or dialog.step != "draft":
            return False
        self._dialogs.advance(dialog, "draft", time.time())  # a step: deadline restarts
        return True

    def get(self, user_id: int, default: Draft | None = None) -> Draft | None:
        """The user's draft, if any (never creates an empty user_data)."""
        data = self._user_data.get(user_id)
        if not data:
            return default
        draft: Draft | None = data.get(DRAFT_KEY)
        if draft is None:
            return default
        if not self._live(user_id, draft):
            data.pop(DRAFT_KEY, None)
            return default
        return draft

    def __setitem__(self, user_id: int, draft: Draft) -> None:
        self._user_data[user_id][DRAFT_KEY] = draft
        if self._dialogs is not None:
            self._dialogs.open(draft.chat_id, user_id, FEATURE, "draft", "gửi ý kiến", time.time())

    def pop(self, user_id: int, default: Draft | None = None) -> Draft | None:
        """Remove and return the user's draft (its dialog ends with it: a comment sent
        or cancelled must not be followed by "đã hết thời gian chờ" minutes later)."""
        data = self._user_data.get(user_id)
        draft: Draft | None = data.pop(DRAFT_KEY, None) if data else None
        dialogs = self._dialogs
        if (
            draft is not None
            and dialogs is not None
            and dialogs.get(draft.chat_id, user_id, time.time(), FEATURE, "draft")
        ):
            dialogs.close(draft.chat_id, user_id)
        return draft if draft is not None else default


class FeedbackState:
    """The feature's state: drafts (in user_data), notice keys, the notification queue."""

    def __init__(
        self, user_data: Mapping[int, dict[Any, Any]] | None = None, dialogs: Dialogs | None = None
    ) -> None:
        self.drafts = UserDrafts(user_data if user_data is not None else defaultdict(dict), dialogs)
        self.notice_keys: set[tuple[int, int]] = set()
        # Notices sent but not yet recorded in comment_notices (the notifier records a
        # pass's notices together): a moderator's reply in between is matched here.
        self.unrecorded: dict[tuple[int, int], int] = {}
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

    def sent_notice(self, chat_id: int, message_id: int, comment_id: int) -> None:
        """A notice is out: replies to it count from now on, before it is recorded."""
        self.remember_notices([(chat_id, message_id)])
        if len(self.unrecorded) > NOTICE_KEYS_MAX:  # records failing for long: keep it bounded
            self.unrecorded.clear()
        self.unrecorded[(chat_id, message_id)] = comment_id

    def draft(self, user_id: int | None, *stages: str) -> Draft | None:
        """The user's live draft in one of `stages` (expired ones are dropped)."""
        if user_id is None:
            return None
        d = self.drafts.get(user_id)
        if d is None:
            return None
        if time.time() - d.at > DRAFT_TTL:
            self.drafts.pop(user_id, None)
            return None
        return d if d.stage in stages else None


def _state(context: Context) -> FeedbackState:
    return context.application.bot_data[STATE_KEY]


class _DraftAt(filters.MessageFilter):
    """The sender has a live draft at one of `stages` in this chat."""

    def __init__(self, state: FeedbackState, *stages: str) -> None:
        super().__init__(name=f"DraftAt{stages}")
        self.state = state
        self.stages = stages

    def filter(self, message: Message) -> bool:
        user = message.from_user
        d = self.state.draft(user.id if user else None, *self.stages)
        return d is not None and d.chat_id == message.chat.id


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
    return shorten(text, limit)


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
