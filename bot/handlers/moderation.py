"""Ý kiến (issue 5), the moderators' side: notices in the admin chat, approve / reject /
block, answers delivered to the citizen (with retries), the notifier worker, /inbox and
/export.

Moderators' answers are matched by the stored (chat, message id) of the notice they
reply to, never by forward_from (which privacy settings hide).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
)

from bot.actions.feedback import check_answer
from bot.domain import clock
from bot.domain import feedback as rules
from bot.domain.errors import InvalidInput, LoaError
from bot.domain.spreadsheets import Format
from bot.domain.text import escape, quote
from bot.handlers import casework_notice as casework_office
from bot.handlers import dialogs
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
from bot.handlers.casework_intake import rating_keyboard
from bot.handlers.feedback_state import (
    ANSWER,
    FEATURE,
    NOTICE,
    STATE_KEY,
    FeedbackState,
    _actor,
    _article_label,
    _article_title,
    _short,
    _staff_chat,
    _state,
)
from bot.handlers.notice_digest import DIGEST_OVER, digest_markup, digest_text
from bot.services import Services
from bot.store import cases
from bot.store import feedback as store
from bot.tg.pacer import retry_after_seconds

log = logging.getLogger(__name__)
PAGE = 5  # comments per /inbox page
NOTICE_BATCH = 100  # comments shown per pass of the notifier (two reads, two writes)
NOTICE_GATHER = 0.25  # seconds the notifier waits for more new comments before a pass
FORGOTTEN = "Người gửi đã xóa dữ liệu cá nhân; không thể gửi câu trả lời."
# Waits (seconds) before retrying an answer that could not be delivered for a passing
# reason (timeout, network, 5xx, 429); after the last one Loa gives up and says so.
ANSWER_RETRY_DELAYS: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600)


# --------------------------------------------------------------------------- moderators


STALE_COMMENT = (
    "⚠️ Ý kiến #{id} đã thay đổi sau khi bạn xem (người khác đã xử lý hoặc trả lời). "
    "Không có gì được thực hiện; tin nhắn đã được cập nhật, hãy xem lại."
)


def _version(c: store.Comment) -> str:
    """The version of the comment a moderator is shown (carried by the decision buttons)."""
    return rules.comment_version(c.status, c.decision, c.answer)


def _moderation_keyboard(comment: store.Comment, *, banned: bool = False) -> InlineKeyboardMarkup:
    cid, v = comment.id, _version(comment)
    block = (
        InlineKeyboardButton("♻️ Bỏ chặn", callback_data=f"ykm:u:{cid}:{v}")
        if banned
        else InlineKeyboardButton("🚫 Chặn người gửi", callback_data=f"ykm:b:{cid}:{v}")
    )
    rows = [
        [
            InlineKeyboardButton("✅ Duyệt", callback_data=f"ykm:a:{cid}:{v}"),
            InlineKeyboardButton("❌ Từ chối", callback_data=f"ykm:r:{cid}:{v}"),
        ],
        [InlineKeyboardButton("💬 Trả lời", callback_data=f"ykm:t:{cid}"), block],
    ]
    if not banned:
        rows.append(casework_office.notice_row(cid))  # [Nhận xử lý] [Hồ sơ] (issue 15)
    return InlineKeyboardMarkup(rows)


async def _notice_text(
    svc: Services, c: store.Comment, footer: str = "", case: cases.Case | None = None
) -> str:
    title = await _article_title(svc, c.article_id)
    parts = [
        f"📝 <b>Ý kiến #{c.id}</b> · {clock.format_local(c.created_at, svc.settings.tz)}",
        f"📰 {_article_label(c.article_id, title)}",
    ]
    if c.masked_kinds:
        parts.append(f"🔒 Đã che: {rules.masked_kinds_vi(c.masked_kinds)}")
    parts.extend(await casework_office.notice_lines(svc, c.id, case))
    parts.append(f"<blockquote>{escape(c.text)}</blockquote>")
    parts.append(f"Trạng thái: <b>{escape(c.status_vi)}</b>{footer}")
    if c.answer:
        parts.append(f"↳ Đã trả lời: {escape(_short(c.answer, 500))}")
    parts.append("↩️ Trả lời tin nhắn này để gửi câu trả lời cho người gửi.")
    return "\n".join(parts)


async def _show(
    svc: Services,
    state: FeedbackState,
    comment: store.Comment,
    case: cases.Case | None,
    targets: Sequence[tuple[int, str | None, str | None, str | None]],
) -> list[tuple[int, int, int]]:
    """Send one comment's notice to each target; the (chat, message id, comment id) shown.

    Each is answerable at once (FeedbackState.sent_notice): a moderator may reply before
    the pass records it."""
    text = await _notice_text(svc, comment, case=case)
    shown: list[tuple[int, int, int]] = []
    for chat_id, category, photo, caption in targets:
        message_id = await svc.features["case_router"].send(
            chat_id,
            text,
            category=category,
            markup=_moderation_keyboard(comment),
            photo=photo,
            caption=caption,
        )
        if message_id is None:
            log.warning("could not show comment %s to moderators in %s", comment.id, chat_id)
            continue
        state.sent_notice(chat_id, message_id, comment.id)
        shown.append((chat_id, message_id, comment.id))
    return shown


async def notify_moderators(
    app: Application[Any, Any, Any, Any, Any, Any], comment_ids: Sequence[int]
) -> None:
    """Post new comments to the admin chat (or each owner privately) with the buttons.

    A batch (issue 17): the comments and their cases are read in two SELECTs, named
    moderators looked up once per category and place, the notices sent raw one after
    another (in order), then recorded with the comments' notified_at. A chat (and topic)
    that would get more than DIGEST_OVER notices gets one digest of them instead
    (bot.handlers.notice_digest). A comment that fails is logged and left unnotified
    (queued again at the next start); the others go on.
    """
    svc: Services = app.bot_data["services"]
    state: FeedbackState = app.bot_data[STATE_KEY]
    # Read now, not when queued: a moderator may have acted on it from /inbox meanwhile.
    comments = await store.get_many(svc.db, comment_ids)
    case_of = await cases.get_many(svc.db, [c.id for c in comments])
    moderators: dict[tuple[str, str | None], list[int]] = {}  # looked up once per batch
    # Routed (issue 15): the category's topic of the admin chat, and named moderators.
    planned = []
    for comment in comments:
        case = case_of.get(comment.id)
        try:
            targets = await casework_office.notice_targets(svc, comment.id, case, moderators)
        except Exception:
            log.exception("notice of comment %s failed", comment.id)
            continue
        planned.append((comment, case, targets))
    # A chat (and topic) with more than DIGEST_OVER notices of this pass gets a digest;
    # a notice with a photo is always its own.
    load = Counter((t[0], t[1]) for _, _, targets in planned for t in targets if not t[2])
    digested = {place for place, count in load.items() if count > DIGEST_OVER}
    in_digest: dict[tuple[int, str | None], list[store.Comment]] = defaultdict(list)
    notified: set[int] = set()
    notices: list[tuple[int, int, int]] = []
    for comment, case, targets in planned:
        own = []
        for t in targets:
            if not t[2] and (t[0], t[1]) in digested:
                in_digest[(t[0], t[1])].append(comment)
            else:
                own.append(t)
        try:
            shown = await _show(svc, state, comment, case, own) if own else []
        except Exception:
            log.exception("notice of comment %s failed", comment.id)
            continue
        notices.extend(shown)
        if shown or not targets:  # shown somewhere, or nowhere to show it
            notified.add(comment.id)
    router = svc.features["case_router"]
    for (chat_id, category), listed in in_digest.items():
        text = await digest_text(svc, listed)
        if await router.send(chat_id, text, category=category, markup=digest_markup()) is None:
            log.warning("could not show a digest of %d comments in %s", len(listed), chat_id)
            continue
        notified.update(c.id for c in listed)
    # The notices (so replies to them answer their comments), then notified_at.
    await store.record_notified(svc.db, sorted(notified), notices, clock.now())
    for chat_id, message_id, _ in notices:
        state.unrecorded.pop((chat_id, message_id), None)


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
        await app.bot.send_message(
            p.chat_id, _answer_text(p), reply_markup=rating_keyboard(p.comment_id)
        )
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
        jobs = [await state.queue.get()]
        if jobs[0] is not None and jobs[0][0] == NOTICE:
            # Gather the notices of comments arriving meanwhile (moderators do not notice
            # a quarter of a second): at a steady 100 comments/s a pass shows ~25.
            await asyncio.sleep(NOTICE_GATHER)
        # What queued up meanwhile goes in the same pass: new comments' notices are
        # shown as one batch (a burst of comments costs a few transactions, not one each).
        while len(jobs) < NOTICE_BATCH and not state.queue.empty():
            jobs.append(state.queue.get_nowait())
        # Answers first: a citizen waits for one, and a batch of notices to a group may
        # take minutes under Telegram's 20 messages a minute per group.
        for job in jobs:
            if job is None or job[0] != ANSWER:
                continue
            try:
                await deliver_answer(app, job[1])
            except Exception:
                log.exception("answer to comment %s failed", job[1])
        notices = [job[1] for job in jobs if job is not None and job[0] == NOTICE]
        if notices:
            try:
                await notify_moderators(app, notices)
            except Exception:
                log.exception("notices of comments %s failed", notices)
        if None in jobs:
            return


def _make_starter(state: FeedbackState) -> Any:
    async def start(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        svc: Services = app.bot_data["services"]
        state.remember_notices(await store.notice_keys(svc.db))
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
    """[Trả lời]: ask for the answer (a ForceReply prompt in groups: only a reply to it
    is taken), as a dialog that lapses and ends with /cancel."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    comment = await store.get(svc.db, comment_id)
    if comment.chat_id is None:
        await answer_query(update, FORGOTTEN, alert=True)
        return
    await answer_query(update)
    # The prompt is not recorded as a notice: a reply to it counts only while the dialog
    # is open (a reply after /huy or the timeout is not an answer; issue 10 item 2).
    await dialogs.ask(
        update,
        context,
        f"✍️ {quote(user.first_name, 64)}, hãy trả lời tin nhắn này bằng câu trả lời cho "
        f"ý kiến <b>#{comment_id}</b>. Loa sẽ cho xem lại trước khi gửi. Gõ /huy để thôi.",
        feature=FEATURE,
        step="answer",
        label_vi=f"trả lời ý kiến #{comment_id}",
        placeholder=f"Trả lời ý kiến #{comment_id}",
        comment_id=comment_id,
    )


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
    # The version shown (ykm:<a>:<id>:<v>, yki:<a>:<id>:<offset>:<v>); [Trả lời] has none.
    shown = parts.pop() if len(parts) == (5 if inbox else 4) else None
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
    seen = await store.get(svc.db, comment_id)
    if shown is None or shown != _version(seen):
        await answer_query(update, STALE_COMMENT.format(id=comment_id), alert=True)
        if offset is not None:
            await _show_inbox(update, context, offset, edit=True)
        elif action in ("a", "r", "b", "u"):
            with contextlib.suppress(BadRequest):
                await query.edit_message_text(
                    await _notice_text(svc, seen), reply_markup=_moderation_keyboard(seen)
                )
        return
    actor_id, role, name = await _actor(svc, update)
    now = clock.now()
    stamp = clock.format_local(now, svc.settings.tz)
    if action in ("a", "r"):
        decision = rules.APPROVED if action == "a" else rules.REJECTED
        comment, changed = await store.decide(
            svc.db, comment_id, decision, actor_id=actor_id, actor_role=role, now=now
        )
        verb = "Đã duyệt" if decision == rules.APPROVED else "Đã từ chối"
        await answer_query(
            update, f"{verb} ý kiến #{comment_id}" if changed else "Không có gì thay đổi"
        )
        footer = f" ({verb.lower()} bởi {quote(name, 64)} lúc {stamp})"
        markup = _moderation_keyboard(comment)
    elif action == "b":
        comment, banned = await store.ban_sender(
            svc.db, comment_id, actor_id=actor_id, actor_role=role, now=now
        )
        await answer_query(
            update, "Đã chặn người gửi" if banned else "Người gửi đã bị chặn từ trước"
        )
        footer = f" (🚫 người gửi bị chặn bởi {quote(name, 64)} lúc {stamp})"
        markup = _moderation_keyboard(comment, banned=True)
    elif action == "u":
        lifted = await store.unban_sender(
            svc.db, comment_id, actor_id=actor_id, actor_role=role, now=now
        )
        comment = await store.get(svc.db, comment_id)
        await answer_query(update, "Đã bỏ chặn người gửi" if lifted else "Người gửi không bị chặn")
        footer = f" (bỏ chặn bởi {quote(name, 64)} lúc {stamp})"
        markup = _moderation_keyboard(comment)
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
    """A moderator's reply to a notice (or to the answer prompt): shown back with
    [Gửi trả lời]/[Hủy]; nothing reaches the citizen before that press."""
    svc = services(context)
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    comment_id: int | None = None
    ref = message.reply_to_message
    if ref is not None:
        # A notice sent a moment ago is not recorded yet (its pass records them together).
        comment_id = _state(context).unrecorded.get((chat.id, ref.message_id))
        if comment_id is None:
            comment_id = await store.comment_for_notice(svc.db, chat.id, ref.message_id)
    dialog = dialogs.current(update, context, FEATURE, "answer")
    if comment_id is None and dialog is not None:
        comment_id = dialog.data.get("comment_id")
    if comment_id is None:
        return
    try:
        answer = check_answer(message.text or "")
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return
    comment = await store.get(svc.db, comment_id)
    if comment.chat_id is None:
        await reply(update, FORGOTTEN)
        return
    preview = await context.bot.send_message(
        chat.id,
        f"👀 <b>Xem lại câu trả lời cho ý kiến #{comment_id}</b> trước khi gửi tới người dân:"
        f"\n\n<blockquote>{escape(answer)}</blockquote>\n"
        f"Ý kiến: <i>{escape(_short(comment.text, 200))}</i>",
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("✅ Gửi trả lời", callback_data=f"yka:s:{comment_id}"),
                    InlineKeyboardButton("✖️ Hủy", callback_data=f"yka:c:{comment_id}"),
                ]
            ]
        ),
        reply_to_message_id=message.message_id,
    )
    registry = dialogs.registry(context)
    registry.open(
        chat.id,
        user.id,
        FEATURE,
        "answer_confirm",
        f"trả lời ý kiến #{comment_id}",
        dialogs.now(),
        comment_id=comment_id,
        answer=answer,
        confirm_id=preview.message_id,
        answered_at=comment.answered_at,
    )


@requires("moderate")
@user_errors
async def answer_confirm_button(update: Update, context: Context) -> None:
    """[Gửi trả lời]/[Hủy] under the preview of an answer (yka:<s|c>:<comment id>)."""
    svc = services(context)
    state = _state(context)
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    parts = (query.data or "").split(":")
    comment_id = rules.parse_id(parts[2]) if len(parts) == 3 else None
    dialog = dialogs.current(update, context, FEATURE, "answer_confirm")
    if (
        dialog is None
        or comment_id is None
        or dialog.data.get("comment_id") != comment_id
        or (query.message is not None and dialog.data.get("confirm_id") != query.message.message_id)
    ):
        await answer_query(update, EXPIRED_BUTTON, alert=True)
        return
    dialogs.end(update, context)
    if parts[1] == "c":
        await answer_query(update, "Đã hủy, chưa gửi gì.")
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(f"✖️ Đã hủy câu trả lời cho ý kiến #{comment_id}.")
        return
    current = await store.get(svc.db, comment_id)
    if current.answered_at != dialog.data.get("answered_at") or current.chat_id is None:
        await answer_query(
            update,
            f"Ý kiến #{comment_id} đã thay đổi (được trả lời hoặc xử lý) sau khi bạn xem; "
            "chưa gửi gì. Hãy xem lại.",
            alert=True,
        )
        return
    _, role, _ = await _actor(svc, update)
    try:
        comment = await store.set_answer(
            svc.db,
            comment_id,
            str(dialog.data["answer"]),
            actor_id=user.id,
            actor_role=role,
            now=clock.now(),
            answered_in=chat.id,
        )
    except LoaError as exc:
        await answer_query(update, exc.user_message[:200], alert=True)
        return
    await answer_query(update, f"Đang gửi trả lời ý kiến #{comment_id}.")
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
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
                    InlineKeyboardButton(
                        f"✅ #{c.id}", callback_data=f"yki:a:{c.id}:{offset}:{_version(c)}"
                    ),
                    InlineKeyboardButton(
                        f"❌ #{c.id}", callback_data=f"yki:r:{c.id}:{offset}:{_version(c)}"
                    ),
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
    svc: Services,
    start: date | None,
    end: date | None,
    include_all: bool,
    fmt: Format = "csv",
) -> tuple[bytes, int]:
    """The file's bytes (.xlsx or CSV) and row count for a period (titles via the
    articles feature)."""
    lo, hi = rules.day_range(start, end, svc.settings.tz)
    rows = await store.export_rows(svc.db, lo, hi, include_all)
    titles: dict[str, str | None] = {}
    out = []
    for r in rows:
        if r.article_id and r.article_id not in titles:
            titles[r.article_id] = await _article_title(svc, r.article_id)
        out.append(store.export_line(r, titles.get(r.article_id or ""), svc.settings.tz))
    return rules.export_file(out, fmt), len(rows)


@requires("admin")
@user_errors
async def export_command(update: Update, context: Context) -> None:
    """/export [from] [to] [tatca]: CSV of the period's comments as a document."""
    svc = services(context)
    if not _staff_chat(svc, update):
        await reply(update, "Dùng lệnh này trong nhóm quản trị hoặc tin nhắn riêng với Loa.")
        return
    args = rules.parse_export_args(command_text(update))
    data, count = await build_export(svc, args.start, args.end, args.include_all, args.fmt)
    today = date.today()
    name = (
        f"y-kien_{(args.start or date(2000, 1, 1)).isoformat()}_"
        f"{(args.end or today).isoformat()}{'_tatca' if args.include_all else ''}.{args.fmt}"
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
        caption=f"📊 {count} ý kiến {period}; {scope}. Thông tin cá nhân đã được che."
        + ("" if args.fmt == "csv" else " Cần tệp CSV: thêm <code>csv</code> vào lệnh."),
    )
