"""Ý kiến (issue 5): citizens send comments, moderators approve, answer and export them.

Conversation state is a small per-user record (not PTB's ConversationHandler) so that
the article card's button, the deep link /start yk_<id> and /ykien all enter the same
flow. Moderators' answers are matched by the stored (chat, message id) of the notice
they reply to, never by forward_from (which privacy settings hide).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain import clock
from bot.domain import feedback as rules
from bot.domain.errors import InvalidInput, LoaError
from bot.domain.text import clean, escape, pack_html_lines
from bot.handlers.base import (
    EXPIRED_BUTTON,
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.pacer import retry_after_seconds
from bot.services import CommandInfo, Services
from bot.store import feedback as store

log = logging.getLogger(__name__)

DRAFT_TTL = 1800  # seconds a half-written comment (or a pending answer) is remembered
PAGE = 5  # comments per /inbox page
ANSWER_MAX = 3000
# Waits (seconds) before retrying an answer that could not be delivered for a passing
# reason (timeout, network, 5xx, 429); after the last one Loa gives up and says so.
ANSWER_RETRY_DELAYS: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600)

# What the notifier queue carries: ("notice", comment id) shows a comment to the
# moderators; ("answer", comment id) delivers its stored answer to the citizen.
NOTICE, ANSWER = "notice", "answer"
Job = tuple[str, int]

STATE_KEY = "feedback_state"


@dataclass
class Draft:
    """Where one user is in the comment flow (or a moderator in the answer flow)."""

    stage: str  # "text" (waiting for the comment), "confirm", "answer"
    chat_id: int
    article_id: str | None = None
    text: str | None = None
    comment_id: int | None = None  # for "answer"
    at: float = field(default_factory=time.monotonic)


class FeedbackState:
    """In-memory state of the feature: drafts, notice keys, the notification queue."""

    def __init__(self) -> None:
        self.drafts: dict[int, Draft] = {}
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

    def draft(self, user_id: int | None, *stages: str) -> Draft | None:
        """The user's live draft in one of `stages` (expired ones are dropped)."""
        if user_id is None:
            return None
        d = self.drafts.get(user_id)
        if d is None:
            return None
        if time.monotonic() - d.at > DRAFT_TTL:
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
    """A reply to a comment notice, or the text a moderator was asked for."""

    def __init__(self, state: FeedbackState) -> None:
        super().__init__(name="ModeratorAnswer")
        self.state = state

    def filter(self, message: Message) -> bool:
        ref = message.reply_to_message
        if ref is not None and (message.chat.id, ref.message_id) in self.state.notice_keys:
            return True
        user = message.from_user
        d = self.state.draft(user.id if user else None, "answer")
        return d is not None and d.chat_id == message.chat.id


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


# --------------------------------------------------------------------------- citizens


PROMPT = (
    "✍️ Mời bạn nhập ý kiến{about} (từ 10 đến 2.000 ký tự, chỉ nhận chữ).\n"
    "Số điện thoại, số CCCD, email, số tài khoản trong ý kiến sẽ được che trước khi "
    "chuyển đến người kiểm duyệt.\nGõ /cancel để thôi."
)


async def _begin(update: Update, context: Context, article_id: str | None) -> None:
    """Start waiting for a comment from this private chat's user."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if await store.is_banned(svc.db, user.id):
        await reply(update, rules.BANNED_MESSAGE)
        return
    title = await _article_title(svc, article_id)
    if article_id and title is None and "article_title" in svc.features:
        await reply(update, "Không tìm thấy bài viết này; có thể bài đã được gỡ.")
        return
    _state(context).drafts[user.id] = Draft("text", chat.id, article_id)
    about = (
        f" về bài «{escape(title)}»"
        if title
        else (f" về bài <code>{escape(article_id)}</code>" if article_id else "")
    )
    markup = None
    if article_id:
        count = await store.approved_count(svc.db, article_id)
        if count:
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            f"👀 Xem ý kiến ({count})", callback_data=f"ykv:{article_id}"
                        )
                    ]
                ]
            )
    await reply(update, PROMPT.format(about=about), reply_markup=markup)


@user_errors
async def ykien_command(update: Update, context: Context) -> None:
    """/ykien [text]: the text is the comment; without it Loa asks for it."""
    if not _private(update):
        await reply(
            update,
            "Để bảo vệ thông tin của bạn, ý kiến được gửi trong tin nhắn riêng với Loa.",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("✍️ Gửi ý kiến", url=_deep_link(context, "yk_"))]]
            ),
        )
        return
    text = command_text(update)
    if not text:
        await _begin(update, context, None)
        return
    svc = services(context)
    user = update.effective_user
    assert user is not None and update.effective_chat is not None
    # One query answers the ban check now and the duplicate/limit checks after validation.
    sender = await store.sender(
        svc.db,
        user.id,
        rules.duplicate_key(clean(text)),
        now=clock.now(),
        limits=svc.settings.feedback_per_hour > 0 or svc.settings.feedback_per_day > 0,
    )
    if sender.banned:
        await reply(update, rules.BANNED_MESSAGE)
        return
    _state(context).drafts[user.id] = Draft("text", update.effective_chat.id, None)
    await _take_text(update, context, text, sender)


async def start_payload(update: Update, context: Context, rest: str) -> None:
    """Deep link t.me/<bot>?start=yk_<article_id> (empty id: a general comment)."""
    if not _private(update):
        return
    if rest and rules.valid_article_id(rest) is None:
        await reply(update, "Liên kết gửi ý kiến không hợp lệ.")
        return
    await _begin(update, context, rest or None)


async def article_button(update: Update, context: Context) -> None:
    """The article card's [💬 Ý kiến (N)] button: callback_data yk:<article_id>."""
    query = update.callback_query
    assert query is not None
    article_id = rules.valid_article_id((query.data or "").partition(":")[2])
    if article_id is None:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    if not _private(update):
        # In a group, open the private chat with the deep link (answerCallbackQuery url).
        await query.answer(url=_deep_link(context, f"yk_{article_id}"))
        return
    await answer_query(update)
    await _begin(update, context, article_id)


async def awaiting_message(update: Update, context: Context) -> None:
    """Any private message while a comment is expected: text is taken, the rest explained."""
    message = update.effective_message
    if message is None:
        return
    if message.text is None:
        what = "Nhãn dán (sticker)" if message.sticker else "Ảnh, tệp hay tin nhắn thoại"
        await reply(
            update,
            f"{what} không được nhận làm ý kiến. {rules.ACCEPTED_HINT}\n"
            "Mời bạn nhập ý kiến bằng chữ, hoặc gõ /cancel để thôi.",
        )
        return
    await _take_text(update, context, message.text)


async def _take_text(
    update: Update, context: Context, raw: str, sender: rules.Sender | None = None
) -> None:
    """Validate the text, check limits early, and show it back with [Gửi]/[Sửa]/[Hủy].

    `sender`: the checks' facts when the caller already read them for this text.
    """
    svc = services(context)
    state = _state(context)
    user = update.effective_user
    assert user is not None
    draft = state.draft(user.id, "text", "confirm")
    if draft is None:
        return
    try:
        text = rules.validate_text(raw)
    except InvalidInput as exc:
        await reply(update, exc.user_message + "\nMời bạn nhập lại, hoặc gõ /cancel để thôi.")
        return
    now = clock.now()
    per_hour, per_day = svc.settings.feedback_per_hour, svc.settings.feedback_per_day
    try:
        if sender is None:
            sender = await store.sender(
                svc.db,
                user.id,
                rules.duplicate_key(text),
                now=now,
                limits=per_hour > 0 or per_day > 0,
            )
        rules.check_sender(sender, now, per_hour, per_day, svc.settings.tz)
    except rules.FeedbackRefused as exc:
        state.drafts.pop(user.id, None)
        await reply(update, exc.user_message)
        return
    draft.stage, draft.text, draft.at = "confirm", text, time.monotonic()
    masked = rules.mask(text)
    title = await _article_title(svc, draft.article_id)
    about = f"\n📰 {_article_label(draft.article_id, title)}" if draft.article_id else ""
    body = (
        f"📝 <b>Xem lại ý kiến của bạn</b>{about}\n\n"
        f"<blockquote>{escape(masked.text)}</blockquote>"
        f"{_masking_note(masked.kinds, svc.settings.feedback_keep_original)}\n\n"
        "Bấm <b>Gửi</b> để gửi, <b>Sửa</b> để viết lại, <b>Hủy</b> để thôi."
    )
    await reply(
        update,
        body,
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("📨 Gửi", callback_data="ykc:s"),
                    InlineKeyboardButton("✏️ Sửa", callback_data="ykc:e"),
                    InlineKeyboardButton("✖️ Hủy", callback_data="ykc:c"),
                ]
            ]
        ),
    )


async def _drop_buttons(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)


async def confirm_button(update: Update, context: Context) -> None:
    """[Gửi] stores the comment; [Sửa] asks again; [Hủy] forgets the draft."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
    state = _state(context)
    user = update.effective_user
    assert user is not None
    draft = state.draft(user.id, "confirm")
    action = (query.data or "")[-1:]
    if draft is None or draft.text is None:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        await _drop_buttons(update)
        return
    if action == "c":
        state.drafts.pop(user.id, None)
        await answer_query(update, "Đã hủy")
        await _drop_buttons(update)
        await reply(update, "Đã hủy, ý kiến chưa được gửi. Gõ /ykien khi bạn muốn gửi ý kiến.")
        return
    if action == "e":
        draft.stage, draft.at = "text", time.monotonic()
        await answer_query(update)
        await _drop_buttons(update)
        await reply(update, "✏️ Mời bạn gửi lại ý kiến đã sửa (hoặc gõ /cancel để thôi).")
        return
    state.drafts.pop(user.id, None)
    try:
        comment = await store.submit(
            svc.db,
            user_id=user.id,
            chat_id=draft.chat_id,
            user_name=user.first_name,
            article_id=draft.article_id,
            text=draft.text,
            keep_original=svc.settings.feedback_keep_original,
            now=clock.now(),
            per_hour=svc.settings.feedback_per_hour,
            per_day=svc.settings.feedback_per_day,
            tz=svc.settings.tz,
        )
    except rules.FeedbackRefused as exc:
        await answer_query(update)
        await reply(update, exc.user_message)
        await _drop_buttons(update)
        return
    state.queue.put_nowait((NOTICE, comment.id))  # the moderators' notice, in the background
    receipt = (
        f"✅ Đã nhận ý kiến <b>#{comment.id}</b>. Cảm ơn bạn!\n\n"
        "<b>Tiếp theo:</b> người kiểm duyệt của Ban Tuyên giáo sẽ xem ý kiến. Ý kiến được "
        "duyệt sẽ hiển thị dưới bài viết kèm tên của bạn (không kèm số điện thoại hay mã "
        "Telegram). Khi cơ quan trả lời, Loa sẽ nhắn cho bạn tại đây.\n"
        "Xem tình trạng các ý kiến: /ykiencuatoi"
        + _masking_note(comment.masked_kinds, svc.settings.feedback_keep_original)
        + f"\n\n<blockquote>{escape(comment.text)}</blockquote>"
    )
    # The preview becomes the receipt (one request; its buttons go away with it).
    try:
        await query.edit_message_text(receipt, reply_markup=None)
    except BadRequest:
        await reply(update, receipt)
    await answer_query(update, f"Đã gửi ý kiến #{comment.id}")


async def cancel_command(update: Update, context: Context) -> None:
    """/cancel while Loa waits for a comment or an answer."""
    user = update.effective_user
    if user is not None:
        _state(context).drafts.pop(user.id, None)
    await reply(update, "Đã hủy.")


async def my_feedback(update: Update, context: Context) -> None:
    """/ykiencuatoi: the user's own comments with their status (and answers)."""
    svc = services(context)
    user = update.effective_user
    if user is None:
        return
    if not _private(update):
        await reply(update, "Vui lòng dùng lệnh này trong tin nhắn riêng với Loa.")
        return
    comments = await store.of_user(svc.db, user.id, limit=10)
    if not comments:
        await reply(update, "Bạn chưa gửi ý kiến nào. Gõ /ykien để gửi ý kiến.")
        return
    blocks = ["🗂 <b>Ý kiến của bạn</b> (mới nhất trước)"]
    for c in comments:
        title = await _article_title(svc, c.article_id)
        block = (
            f"\n<b>#{c.id}</b> · {clock.format_local(c.created_at, svc.settings.tz)} · "
            f"<b>{escape(c.status_vi)}</b>\n{_article_label(c.article_id, title)}\n"
            f"<i>{escape(_short(c.text, 200))}</i>"
        )
        if c.answer:
            block += f"\n↳ Trả lời: {escape(_short(c.answer, 300))}"
        blocks.append(block)  # one comment with its answer is never split
    await _reply_blocks(update, blocks)


async def view_approved(update: Update, context: Context) -> None:
    """[Xem ý kiến] (ykv:<article_id>): the latest approved comments, names only."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    article_id = rules.valid_article_id((query.data or "").partition(":")[2])
    if article_id is None:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    await answer_query(update)
    comments = await store.latest_approved(svc.db, article_id, limit=5)
    count = await store.approved_count(svc.db, article_id)
    title = await _article_title(svc, article_id)
    if not comments:
        await reply(
            update, f"Chưa có ý kiến nào được duyệt cho {_article_label(article_id, title)}."
        )
        return
    blocks = [f"💬 <b>Ý kiến bạn đọc</b> về {_article_label(article_id, title)} ({count})"]
    for c in comments:
        name = escape(c.user_name or "Bạn đọc")
        block = (
            f"\n<b>{name}</b> · {clock.format_date(c.created_at, svc.settings.tz)}\n"
            f"{escape(_short(c.text, 400))}"
        )
        if c.answer:
            block += f"\n↳ <i>Ban Tuyên giáo:</i> {escape(_short(c.answer, 250))}"
        blocks.append(block)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("✍️ Gửi ý kiến", url=_deep_link(context, f"yk_{article_id}"))]]
    )
    await _reply_blocks(update, blocks, reply_markup=markup)


async def feedback_count(svc: Services, article_id: str) -> int:
    """svc.features["feedback_count"]: approved comments of an article."""
    return await store.approved_count(svc.db, article_id)


# --------------------------------------------------------------------------- moderators


def _moderation_keyboard(comment_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Duyệt", callback_data=f"ykm:a:{comment_id}"),
                InlineKeyboardButton("❌ Từ chối", callback_data=f"ykm:r:{comment_id}"),
            ],
            [
                InlineKeyboardButton("💬 Trả lời", callback_data=f"ykm:t:{comment_id}"),
                InlineKeyboardButton("🚫 Chặn người gửi", callback_data=f"ykm:b:{comment_id}"),
            ],
        ]
    )


async def _notice_text(svc: Services, c: store.Comment, footer: str = "") -> str:
    title = await _article_title(svc, c.article_id)
    parts = [
        f"📝 <b>Ý kiến #{c.id}</b> · {clock.format_local(c.created_at, svc.settings.tz)}",
        f"📰 {_article_label(c.article_id, title)}",
    ]
    if c.masked_kinds:
        parts.append(f"🔒 Đã che: {rules.masked_kinds_vi(c.masked_kinds)}")
    parts.append(f"<blockquote>{escape(c.text)}</blockquote>")
    parts.append(f"Trạng thái: <b>{escape(c.status_vi)}</b>{footer}")
    if c.answer:
        parts.append(f"↳ Đã trả lời: {escape(_short(c.answer, 500))}")
    parts.append("↩️ Trả lời (reply) tin nhắn này để gửi câu trả lời cho người gửi.")
    return "\n".join(parts)


async def notify_moderators(
    app: Application[Any, Any, Any, Any, Any, Any], comment_id: int
) -> None:
    """Post a new comment to the admin chat (or each owner privately) with the buttons."""
    svc: Services = app.bot_data["services"]
    state: FeedbackState = app.bot_data[STATE_KEY]
    # Read now, not when queued: a moderator may have acted on it from /inbox meanwhile.
    comment = await store.get(svc.db, comment_id)
    targets = (
        [svc.settings.admin_chat_id]
        if svc.settings.admin_chat_id is not None
        else sorted(svc.settings.admin_ids)
    )
    text = await _notice_text(svc, comment)
    notices: list[tuple[int, int]] = []
    for chat_id in targets:
        try:
            message = await app.bot.send_message(
                chat_id, text, reply_markup=_moderation_keyboard(comment.id)
            )
        except TelegramError as exc:
            log.warning(
                "could not show comment %s to moderators in %s: %s", comment_id, chat_id, exc
            )
            continue
        notices.append((chat_id, message.message_id))
    if notices or not targets:
        # The notices (so replies to them answer the comment) and notified_at together.
        await store.record_notified(svc.db, comment.id, notices, clock.now())
        state.notice_keys.update(notices)


def _answer_text(p: store.PendingAnswer) -> str:
    return (
        f"📬 <b>Ban Tuyên giáo đã trả lời ý kiến #{p.comment_id} của bạn</b>\n\n"
        f"Ý kiến của bạn:\n<i>{escape(_short(p.text, 800))}</i>\n\n"
        f"<b>Trả lời:</b>\n{escape(p.answer)}\n\nCảm ơn bạn đã đóng góp ý kiến!"
    )


async def _tell_moderators(
    app: Application[Any, Any, Any, Any, Any, Any], p: store.PendingAnswer, text: str
) -> None:
    """Tell the chat the answer was given in (else the admin chat) how delivery went."""
    svc: Services = app.bot_data["services"]
    chat_id = p.answered_in if p.answered_in is not None else svc.settings.admin_chat_id
    if chat_id is None:
        log.info("answer to comment %s: %s", p.comment_id, text)
        return
    try:
        await app.bot.send_message(chat_id, text)
    except TelegramError as exc:
        log.warning("could not tell moderators about comment %s: %s", p.comment_id, exc)


async def deliver_answer(app: Application[Any, Any, Any, Any, Any, Any], comment_id: int) -> None:
    """Send the stored answer to the citizen; retry passing failures, report the outcome.

    At least once: the answer is marked delivered after Telegram accepted it, so a crash
    in between sends it again at the next start.
    """
    svc: Services = app.bot_data["services"]
    state: FeedbackState = app.bot_data[STATE_KEY]
    p = await store.pending_answer(svc.db, comment_id)
    if p is None:  # delivered, given up, or deleted meanwhile
        return
    if p.chat_id is None:
        if await store.mark_answer_failed(svc.db, p, "forgotten"):
            await _tell_moderators(
                app,
                p,
                f"Đã lưu câu trả lời cho ý kiến #{p.comment_id}, nhưng người gửi đã xóa dữ "
                "liệu cá nhân nên Loa không thể nhắn cho họ.",
            )
        return
    try:
        await app.bot.send_message(p.chat_id, _answer_text(p))
    except Forbidden as exc:  # 403: blocked the bot, account deleted
        log.info("answer to comment %s refused: %s", comment_id, exc)
        blocked = "blocked" in str(exc).lower()
        if await store.mark_answer_failed(svc.db, p, "blocked" if blocked else f"forbidden: {exc}"):
            why = (
                "người gửi đã chặn Loa"
                if blocked
                else "Telegram từ chối (có thể tài khoản người gửi đã bị xóa)"
            )
            await _tell_moderators(
                app,
                p,
                f"❌ Không gửi được câu trả lời cho ý kiến #{p.comment_id}: {why}. "
                "Câu trả lời vẫn được lưu.",
            )
        return
    except BadRequest as exc:  # 400 (before NetworkError: a subclass of it): permanent
        log.warning("answer to comment %s rejected: %s", comment_id, exc)
        if await store.mark_answer_failed(svc.db, p, f"bad_request: {exc}"):
            await _tell_moderators(
                app,
                p,
                f"❌ Không gửi được câu trả lời cho ý kiến #{p.comment_id} "
                f"(Telegram báo lỗi: {escape(str(exc))}). Câu trả lời vẫn được lưu.",
            )
        return
    except TelegramError as exc:  # timeouts, network, 5xx, 429: try again later
        attempts = await store.mark_answer_attempt(svc.db, p)
        if attempts > len(ANSWER_RETRY_DELAYS):
            log.warning("answer to comment %s: giving up after %d tries", comment_id, attempts)
            if await store.mark_answer_failed(svc.db, p, "gave_up"):
                await _tell_moderators(
                    app,
                    p,
                    f"❌ Không gửi được câu trả lời cho ý kiến #{p.comment_id} sau {attempts} "
                    "lần thử (lỗi mạng hoặc Telegram quá tải). Câu trả lời vẫn được lưu.",
                )
            return
        delay = ANSWER_RETRY_DELAYS[attempts - 1]
        if isinstance(exc, RetryAfter):
            delay = max(delay, retry_after_seconds(exc))
        log.info("answer to comment %s: try %d failed (%s)", comment_id, attempts, exc)
        state.retry_later((ANSWER, comment_id), delay)
        if attempts == 1:
            await _tell_moderators(
                app,
                p,
                f"⏳ Đã lưu câu trả lời cho ý kiến #{p.comment_id} nhưng chưa gửi được cho "
                "người gửi (lỗi mạng hoặc Telegram quá tải). Loa sẽ tự động gửi lại.",
            )
        return
    if await store.mark_answer_delivered(svc.db, p, clock.now()):
        again = f" (sau {p.attempts} lần thử lại)" if p.attempts else ""
        await _tell_moderators(
            app, p, f"✅ Đã gửi câu trả lời cho người gửi ý kiến #{p.comment_id}{again}."
        )


async def _notifier(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    state: FeedbackState = app.bot_data[STATE_KEY]
    while True:
        job = await state.queue.get()
        if job is None:
            return
        kind, comment_id = job
        try:
            if kind == ANSWER:
                await deliver_answer(app, comment_id)
            else:
                await notify_moderators(app, comment_id)
        except Exception:
            log.exception("feedback job %s for comment %s failed", kind, comment_id)


def _make_starter(state: FeedbackState) -> Any:
    async def start(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        svc: Services = app.bot_data["services"]
        state.notice_keys = await store.notice_keys(svc.db)
        for comment_id in await store.unnotified(svc.db):
            state.queue.put_nowait((NOTICE, comment_id))
        # Answers stored but not delivered (the bot stopped, or the network failed).
        for comment_id in await store.undelivered_answers(svc.db):
            state.queue.put_nowait((ANSWER, comment_id))
        state.task = asyncio.create_task(_notifier(app), name="feedback-notifier")

    return start


def _make_stopper(state: FeedbackState) -> Any:
    async def stop() -> None:
        for handle in list(state.timers):
            handle.cancel()
        state.timers.clear()
        if state.task is None:
            return
        state.queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(state.task), timeout=5)
        except TimeoutError:
            state.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.task
        state.task = None

    return stop


async def _ask_answer(update: Update, context: Context, comment_id: int) -> None:
    """[Trả lời]: ask for the answer with a ForceReply prompt linked to the comment."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    comment = await store.get(svc.db, comment_id)
    if comment.chat_id is None:
        await answer_query(
            update, "Người gửi đã xóa dữ liệu cá nhân; không thể gửi câu trả lời.", alert=True
        )
        return
    await answer_query(update)
    prompt = await context.bot.send_message(
        chat.id,
        f"✍️ {escape(user.first_name)}, hãy trả lời (reply) tin nhắn này bằng câu trả lời cho "
        f"ý kiến <b>#{comment_id}</b>. Gõ /cancel để thôi.",
        reply_markup=ForceReply(input_field_placeholder=f"Trả lời ý kiến #{comment_id}"),
    )
    await store.add_notice(svc.db, chat.id, prompt.message_id, comment_id)
    state = _state(context)
    state.notice_keys.add((chat.id, prompt.message_id))
    state.drafts[user.id] = Draft("answer", chat.id, comment_id=comment_id)


@requires("moderate")
@user_errors
async def moderation_button(update: Update, context: Context) -> None:
    """[Duyệt] [Từ chối] [Trả lời] [Chặn người gửi] [Bỏ chặn] on a notice (ykm:<a>:<id>)
    or on an /inbox page (yki:<a>:<id>:<offset>)."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    inbox = parts[0] == "yki"
    maybe_id = rules.parse_id(parts[2]) if len(parts) == (4 if inbox else 3) else None
    offset = rules.parse_id(parts[3], minimum=0) if inbox and maybe_id is not None else None
    if maybe_id is None or (inbox and offset is None):
        # Forged or mangled data (e.g. ids beyond 64 bits) is refused before any query.
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    action, comment_id = parts[1], maybe_id
    if not _staff_chat(svc, update):
        await answer_query(
            update, "Chỉ kiểm duyệt trong nhóm quản trị hoặc tin nhắn riêng.", alert=True
        )
        return
    if action == "t":
        await _ask_answer(update, context, comment_id)
        return
    actor_id, role, name = await _actor(svc, update)
    now = clock.now()
    stamp = clock.format_local(now, svc.settings.tz)
    markup = _moderation_keyboard(comment_id)
    if action in ("a", "r"):
        decision = rules.APPROVED if action == "a" else rules.REJECTED
        comment, changed = await store.decide(
            svc.db, comment_id, decision, actor_id=actor_id, actor_role=role, now=now
        )
        verb = "Đã duyệt" if decision == rules.APPROVED else "Đã từ chối"
        await answer_query(
            update, f"{verb} ý kiến #{comment_id}" if changed else "Không có gì thay đổi"
        )
        footer = f" ({verb.lower()} bởi {escape(name)} lúc {stamp})"
    elif action == "b":
        comment, banned = await store.ban_sender(
            svc.db, comment_id, actor_id=actor_id, actor_role=role, now=now
        )
        await answer_query(
            update, "Đã chặn người gửi" if banned else "Người gửi đã bị chặn từ trước"
        )
        footer = f" (🚫 người gửi bị chặn bởi {escape(name)} lúc {stamp})"
        markup = InlineKeyboardMarkup(
            [
                *markup.inline_keyboard[:1],
                [
                    InlineKeyboardButton("💬 Trả lời", callback_data=f"ykm:t:{comment_id}"),
                    InlineKeyboardButton("♻️ Bỏ chặn", callback_data=f"ykm:u:{comment_id}"),
                ],
            ]
        )
    elif action == "u":
        lifted = await store.unban_sender(
            svc.db, comment_id, actor_id=actor_id, actor_role=role, now=now
        )
        comment = await store.get(svc.db, comment_id)
        await answer_query(update, "Đã bỏ chặn người gửi" if lifted else "Người gửi không bị chặn")
        footer = f" (bỏ chặn bởi {escape(name)} lúc {stamp})"
    else:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    if offset is not None:
        await _show_inbox(update, context, offset, edit=True)
        return
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(await _notice_text(svc, comment, footer), reply_markup=markup)


@requires("moderate")
async def moderator_answer(update: Update, context: Context) -> None:
    """A moderator's reply to a notice (or the text they were asked for) → the citizen."""
    svc = services(context)
    state = _state(context)
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    comment_id: int | None = None
    ref = message.reply_to_message
    if ref is not None:
        comment_id = await store.comment_for_notice(svc.db, chat.id, ref.message_id)
    draft = state.draft(user.id, "answer")
    if comment_id is None and draft is not None and draft.chat_id == chat.id:
        comment_id = draft.comment_id
    if comment_id is None:
        return
    answer = clean(message.text or "")
    if not answer:
        await reply(update, "Câu trả lời phải là chữ. Hãy trả lời (reply) lại tin nhắn ý kiến.")
        return
    if len(answer) > ANSWER_MAX:
        await reply(update, f"Câu trả lời quá dài ({len(answer)} ký tự; tối đa {ANSWER_MAX}).")
        return
    state.drafts.pop(user.id, None)
    _, role, _ = await _actor(svc, update)
    try:
        comment = await store.set_answer(
            svc.db,
            comment_id,
            answer,
            actor_id=user.id,
            actor_role=role,
            now=clock.now(),
            answered_in=chat.id,
        )
    except LoaError as exc:
        await reply(update, exc.user_message)
        return
    # Stored first, delivered by the worker: a failed send is retried (and survives a
    # restart); the worker tells this chat how it went.
    state.queue.put_nowait((ANSWER, comment.id))


async def _show_inbox(update: Update, context: Context, offset: int, *, edit: bool) -> None:
    svc = services(context)
    comments, total = await store.pending(svc.db, offset, PAGE)
    if not comments and offset > 0:
        offset = max(0, ((total - 1) // PAGE) * PAGE)
        comments, total = await store.pending(svc.db, offset, PAGE)
    if not comments:
        text = "📭 Không có ý kiến nào đang chờ duyệt."
        rows: list[list[InlineKeyboardButton]] = []
    else:
        lines = [
            f"📥 <b>Ý kiến chờ duyệt</b>: {total} (cũ nhất trước) · "
            f"{offset + 1}–{offset + len(comments)}"
        ]
        rows = []
        for c in comments:
            title = await _article_title(svc, c.article_id)
            lines.append(
                f"\n<b>#{c.id}</b> · {clock.format_local(c.created_at, svc.settings.tz)} · "
                f"{_article_label(c.article_id, title)}\n{escape(_short(c.text, 300))}"
            )
            rows.append(
                [
                    InlineKeyboardButton(f"✅ #{c.id}", callback_data=f"yki:a:{c.id}:{offset}"),
                    InlineKeyboardButton(f"❌ #{c.id}", callback_data=f"yki:r:{c.id}:{offset}"),
                    InlineKeyboardButton(f"💬 #{c.id}", callback_data=f"yki:t:{c.id}:{offset}"),
                ]
            )
        nav = []
        if offset > 0:
            nav.append(
                InlineKeyboardButton("◀️ Trước", callback_data=f"ykp:{max(0, offset - PAGE)}")
            )
        if offset + PAGE < total:
            nav.append(InlineKeyboardButton("Sau ▶️", callback_data=f"ykp:{offset + PAGE}"))
        if nav:
            rows.append(nav)
        text = "\n".join(lines)
    markup = InlineKeyboardMarkup(rows) if rows else None
    query = update.callback_query
    if edit and query is not None:
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text, reply_markup=markup)
    else:
        await reply(update, text, reply_markup=markup)


@requires("moderate")
async def inbox_command(update: Update, context: Context) -> None:
    """/inbox (/choduyet): pending comments, oldest first, paged."""
    if not _staff_chat(services(context), update):
        await reply(update, "Dùng lệnh này trong nhóm quản trị hoặc tin nhắn riêng với Loa.")
        return
    await _show_inbox(update, context, 0, edit=False)


@requires("moderate")
async def inbox_page(update: Update, context: Context) -> None:
    """◀️/▶️ on an /inbox page."""
    query = update.callback_query
    assert query is not None
    offset = rules.parse_id((query.data or "").partition(":")[2], minimum=0)
    if offset is None:
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    await answer_query(update)
    await _show_inbox(update, context, offset, edit=True)


# --------------------------------------------------------------------------- export


async def build_export(
    svc: Services, start: date | None, end: date | None, include_all: bool
) -> tuple[bytes, int]:
    """The CSV bytes and row count for a period (titles via the articles feature)."""
    lo, hi = rules.day_range(start, end, svc.settings.tz)
    rows = await store.export_rows(svc.db, lo, hi, include_all)
    titles: dict[str, str | None] = {}
    out = []
    for r in rows:
        if r.article_id and r.article_id not in titles:
            titles[r.article_id] = await _article_title(svc, r.article_id)
        out.append(store.export_line(r, titles.get(r.article_id or ""), svc.settings.tz))
    return rules.export_csv(out), len(rows)


@requires("admin")
@user_errors
async def export_command(update: Update, context: Context) -> None:
    """/export [from] [to] [tatca]: CSV of the period's comments as a document."""
    svc = services(context)
    if not _staff_chat(svc, update):
        await reply(update, "Dùng lệnh này trong nhóm quản trị hoặc tin nhắn riêng với Loa.")
        return
    args = rules.parse_export_args(command_text(update))
    data, count = await build_export(svc, args.start, args.end, args.include_all)
    today = date.today()
    name = (
        f"y-kien_{(args.start or date(2000, 1, 1)).isoformat()}_"
        f"{(args.end or today).isoformat()}{'_tatca' if args.include_all else ''}.csv"
    )
    period = (
        f"từ {args.start.strftime('%d/%m/%Y') if args.start else 'đầu'} "
        f"đến {args.end.strftime('%d/%m/%Y') if args.end else 'nay'}"
    )
    scope = (
        "tất cả, kể cả ý kiến bị từ chối"
        if args.include_all
        else "không gồm ý kiến bị từ chối/đã xóa (thêm <code>tatca</code> để lấy tất cả)"
    )
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=name,
        caption=f"📊 {count} ý kiến {period}; {scope}. Thông tin cá nhân đã được che.",
    )


# --------------------------------------------------------------------------- /forgetme

FORGET_PROMPT = (
    "🗑 <b>Xóa dữ liệu cá nhân</b>\n\n"
    "Loa sẽ xóa: hồ sơ của bạn (tên, tên đăng nhập, ngôn ngữ), thông tin cuộc trò chuyện "
    "riêng, mã Telegram và tên trên các ý kiến bạn đã gửi (nội dung đã che thông tin cá "
    "nhân được giữ ẩn danh để số liệu báo cáo đúng), đăng ký nhận tin và các dữ liệu khác "
    "gắn với bạn.\nSau khi xóa, Loa không thể gửi câu trả lời cho các ý kiến cũ của bạn.\n\n"
    "Bạn có chắc chắn không?"
)


async def forgetme_command(update: Update, context: Context) -> None:
    """/forgetme (/xoadulieu): ask for confirmation first."""
    if not _private(update):
        await reply(update, "Vui lòng dùng lệnh này trong tin nhắn riêng với Loa.")
        return
    await reply(
        update,
        FORGET_PROMPT,
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("🗑 Xóa dữ liệu", callback_data="ykf:y"),
                    InlineKeyboardButton("Không, giữ lại", callback_data="ykf:n"),
                ]
            ]
        ),
    )


async def forgetme_button(update: Update, context: Context) -> None:
    """Run every registered forgetter in one transaction and say what was erased."""
    svc = services(context)
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    await _drop_buttons(update)
    if query.data != "ykf:y":
        await answer_query(update, "Đã hủy")
        await reply(update, "Đã hủy, dữ liệu của bạn được giữ nguyên.")
        return
    await answer_query(update)
    erased: list[str] = []
    async with svc.db.transaction() as conn:
        for forget in svc.forgetters:
            erased.extend(await forget(conn, user.id))
    _state(context).drafts.pop(user.id, None)
    log.info("personal data erased on request (%d item groups)", len(erased))
    if erased:
        text = "✅ Đã xóa dữ liệu cá nhân của bạn:\n" + "\n".join(
            f"• {escape(line)}" for line in erased
        )
    else:
        text = "✅ Loa không còn lưu dữ liệu cá nhân nào của bạn."
    text += (
        "\n\nNếu bạn tiếp tục nhắn cho Loa, Loa sẽ lại ghi nhận tên và mã Telegram cần thiết "
        "để trả lời bạn."
    )
    if await store.is_banned(svc.db, user.id):
        text += "\nLệnh chặn gửi ý kiến (chỉ gồm mã Telegram) vẫn được giữ để chống lạm dụng."
    await reply(update, text)


# --------------------------------------------------------------------------- registration

COMMANDS = [
    CommandInfo("ykien", "Gửi ý kiến đến Ban Tuyên giáo", aliases=("feedback",)),
    CommandInfo("ykiencuatoi", "Xem các ý kiến bạn đã gửi", aliases=("myfeedback",)),
    CommandInfo("forgetme", "Xóa dữ liệu cá nhân của bạn", aliases=("xoadulieu",)),
    CommandInfo("inbox", "Ý kiến chờ duyệt", aliases=("choduyet",), permission="moderate"),
    CommandInfo(
        "export", "Xuất ý kiến ra CSV: /export [từ ngày] [đến ngày] [tatca]", permission="admin"
    ),
]


def register(
    app: Application[Any, Any, Any, Any, Any, Any],
    svc: Services,
    start_payloads: dict[str, Any],
) -> None:
    """Add the feedback handlers, commands, hooks and the notification worker."""
    state = FeedbackState()
    app.bot_data[STATE_KEY] = state
    svc.commands.extend(COMMANDS)
    svc.features["feedback_count"] = lambda article_id: feedback_count(svc, article_id)
    svc.forgetters.append(store.forget_user)
    svc.starters.append(_make_starter(state))
    svc.stoppers.append(_make_stopper(state))
    start_payloads["yk_"] = start_payload

    awaiting = _DraftAt(state, "text", "confirm")  # waiting for a comment
    answering = _ModeratorAnswer(state)
    # Flow messages first: a comment being typed, a moderator's answer.
    app.add_handler(
        CommandHandler(
            ["cancel", "huy"], cancel_command, filters=_DraftAt(state, "text", "confirm", "answer")
        )
    )
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & awaiting,
            awaiting_message,
        )
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & answering, moderator_answer))
    app.add_handler(CommandHandler(["ykien", "feedback"], ykien_command))
    app.add_handler(CommandHandler(["ykiencuatoi", "myfeedback"], my_feedback))
    app.add_handler(CommandHandler(["forgetme", "xoadulieu"], forgetme_command))
    app.add_handler(CommandHandler(["inbox", "choduyet"], inbox_command))
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CallbackQueryHandler(article_button, pattern=r"^yk:"))
    app.add_handler(CallbackQueryHandler(view_approved, pattern=r"^ykv:"))
    app.add_handler(CallbackQueryHandler(confirm_button, pattern=r"^ykc:[sec]$"))
    app.add_handler(CallbackQueryHandler(moderation_button, pattern=r"^yk[mi]:"))
    app.add_handler(CallbackQueryHandler(inbox_page, pattern=r"^ykp:\d+$"))
    app.add_handler(CallbackQueryHandler(forgetme_button, pattern=r"^ykf:[yn]$"))
