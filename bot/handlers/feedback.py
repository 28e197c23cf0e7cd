"""Ý kiến (issue 5), the citizen's side: /ykien, the article card's button and the deep
link /start yk_<id>, confirmation, /ykiencuatoi, approved comments, /forgetme; and the
feature's registration (moderation's handlers are in bot.handlers.moderation).

The comment being written is a Draft kept as a dialog (bot.handlers.feedback_state backs
FeedbackState.drafts with bot.handlers.dialogs), so the article card's button, the deep
link /start yk_<id> and /ykien all enter the same flow, it lapses after
LOA_CONVERSATION_TIMEOUT (the user is told) and /cancel ends it like any other.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.actions import casework as case_actions
from bot.domain import clock
from bot.domain import feedback as rules
from bot.domain.errors import InvalidInput
from bot.domain.text import clean, escape
from bot.handlers import casework_intake as intake
from bot.handlers.base import (
    EXPIRED_BUTTON,
    Context,
    answer_query,
    command_text,
    reply,
    services,
    user_errors,
)
from bot.handlers.feedback_state import (
    ANSWER,
    NOTICE,
    STATE_KEY,
    Draft,
    FeedbackState,
    _article_label,
    _article_title,
    _deep_link,
    _DraftAt,
    _masking_note,
    _ModeratorAnswer,
    _private,
    _reply_blocks,
    _short,
    _state,
)
from bot.handlers.moderation import (
    _make_starter,
    _make_stopper,
    answer_confirm_button,
    export_command,
    inbox_command,
    inbox_page,
    moderation_button,
    moderator_answer,
)
from bot.services import CommandInfo, Services
from bot.store import cases
from bot.store import feedback as store
from bot.tg import raw

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- citizens


PROMPT = (
    "✍️ Mời bạn nhập ý kiến{about} (từ 10 đến 2.000 ký tự, chỉ nhận chữ).\n"
    "Số điện thoại, số CCCD, email, số tài khoản trong ý kiến sẽ được che trước khi "
    "chuyển đến người kiểm duyệt.\nGõ /huy để thôi."
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
        await store.dup_key(svc.db, clean(text)),
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
    user = update.effective_user
    draft = _state(context).draft(user.id if user else None, "confirm")
    if message.photo and draft is not None:
        await intake.attach_photo(update, context, draft)  # one photo with the comment
        return
    if message.text is None:
        what = "Nhãn dán (sticker)" if message.sticker else "Ảnh, tệp hay tin nhắn thoại"
        await reply(
            update,
            f"{what} không được nhận làm ý kiến. {rules.ACCEPTED_HINT}\n"
            "Mời bạn nhập ý kiến bằng chữ, hoặc gõ /huy để thôi.",
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
        await reply(update, exc.user_message + "\nMời bạn nhập lại, hoặc gõ /huy để thôi.")
        return
    now = clock.now()
    per_hour, per_day = svc.settings.feedback_per_hour, svc.settings.feedback_per_day
    try:
        if sender is None:
            sender = await store.sender(
                svc.db,
                user.id,
                await store.dup_key(svc.db, text),
                now=now,
                limits=per_hour > 0 or per_day > 0,
            )
        rules.check_sender(sender, now, per_hour, per_day, svc.settings.tz)
    except rules.FeedbackRefused as exc:
        state.drafts.pop(user.id, None)
        await reply(update, exc.user_message)
        return
    draft.stage, draft.text, draft.at = "confirm", text, time.time()
    draft.checked_at, draft.recent = now, sender.recent
    # The preview carries the case's choices: category, place, photo, consent (issue 15).
    await intake.show_preview(update, context, draft)


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
        draft.stage, draft.at = "text", time.time()
        await answer_query(update)
        await _drop_buttons(update)
        await reply(update, "✏️ Mời bạn gửi lại ý kiến đã sửa (hoặc gõ /huy để thôi).")
        return
    state.drafts.pop(user.id, None)
    now = clock.now()
    case = intake.intake_of(svc, draft, now)
    try:
        comment = await store.submit(
            svc.db,
            user_id=user.id,
            chat_id=draft.chat_id,
            user_name=user.first_name,
            article_id=draft.article_id,
            text=draft.text,
            keep_original=svc.settings.feedback_keep_original,
            now=now,
            per_hour=svc.settings.feedback_per_hour,
            per_day=svc.settings.feedback_per_day,
            tz=svc.settings.tz,
            intake=case,
            checked=None if draft.checked_at is None else (draft.checked_at, draft.recent),
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
        + intake.receipt_lines(svc, case)
        + _masking_note(comment.masked_kinds, svc.settings.feedback_keep_original)
        + f"\n\n<blockquote>{escape(comment.text)}</blockquote>"
    )
    # The preview becomes the receipt (one request; its buttons go away with it). Raw
    # (bot.tg.raw): the edited message would come back with the preview's keyboard for
    # PTB to parse, and nothing reads it (issue 17).
    preview = query.message
    edit = None
    if preview is not None:
        edit = {"chat_id": preview.chat.id, "message_id": preview.message_id}
    try:
        if edit is not None:
            await raw.call(
                query.get_bot(),
                "editMessageText",
                {**edit, "text": receipt, "parse_mode": raw.HTML},
            )
    except BadRequest:
        edit = None
    if edit is None:  # no preview to edit (or Telegram refused): the receipt as a message
        await reply(update, receipt)
    await answer_query(update, f"Đã gửi ý kiến #{comment.id}")


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
    case_of = {c.id: c for c in await cases.of_user(svc.db, user.id, limit=10)}
    policy = case_actions.policy(svc)
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
        if c.id in case_of:
            block += "\n" + intake.case_line(case_of[c.id], policy)
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
    # Everything kept for this user across restarts goes too (bot.handlers.persistence).
    if context.user_data is not None:
        context.user_data.clear()
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
    CommandInfo(
        "ykiencuatoi", "Xem các ý kiến bạn đã gửi", aliases=("myfeedback",), chats="private"
    ),
    CommandInfo("xoadulieu", "Xóa dữ liệu cá nhân của bạn", aliases=("forgetme",), chats="private"),
    CommandInfo("choduyet", "Ý kiến chờ duyệt", aliases=("inbox",), permission="moderate"),
    CommandInfo(
        "xuatykien",
        "Xuất ý kiến ra Excel và CSV: /xuatykien [từ ngày] [đến ngày] [tatca]",
        aliases=("export",),
        permission="admin",
    ),
]


def register(
    app: Application[Any, Any, Any, Any, Any, Any],
    svc: Services,
    start_payloads: dict[str, Any],
) -> None:
    """Add the feedback handlers, commands, hooks and the notification worker."""
    state = FeedbackState(app.user_data, svc.features["dialogs"])
    app.bot_data[STATE_KEY] = state
    svc.commands.extend(COMMANDS)
    svc.features["feedback_count"] = lambda article_id: feedback_count(svc, article_id)
    # bot.actions.feedback.answer (Telegram and the web console) queues answers here.
    svc.features["queue_feedback_answer"] = lambda comment_id: state.queue.put_nowait(
        (ANSWER, comment_id)
    )
    svc.forgetters.append(store.forget_user)
    svc.starters.append(_make_starter(state))
    svc.stoppers.append(_make_stopper(state))
    start_payloads["yk_"] = start_payload

    awaiting = _DraftAt(state, "text", "confirm")  # waiting for a comment
    answering = _ModeratorAnswer(state, svc.features["dialogs"])
    # Flow messages first: a comment being typed, a moderator's answer.
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
    app.add_handler(CommandHandler(["xuatykien", "export"], export_command))
    app.add_handler(CallbackQueryHandler(article_button, pattern=r"^yk:"))
    app.add_handler(CallbackQueryHandler(view_approved, pattern=r"^ykv:"))
    app.add_handler(CallbackQueryHandler(confirm_button, pattern=r"^ykc:[sec]$"))
    app.add_handler(CallbackQueryHandler(moderation_button, pattern=r"^yk[mi]:"))
    app.add_handler(CallbackQueryHandler(inbox_page, pattern=r"^ykp:\d+$"))
    app.add_handler(CallbackQueryHandler(forgetme_button, pattern=r"^ykf:[yn]$"))
    app.add_handler(CallbackQueryHandler(answer_confirm_button, pattern=r"^yka:[sc]:\d+$"))
