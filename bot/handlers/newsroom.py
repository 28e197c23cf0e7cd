"""The newsroom in Telegram: /dangbai (pasted or forwarded text collected until [Xong], a
web page URL), .docx/.txt documents, publishing with the notify choice, /suabai
(corrections), /gobai (withdrawal), /bannhap (drafts waiting); the review of a draft is
bot.handlers.newsroom_review. Collecting an article is a dialog (bot.handlers.dialogs):
it lapses (the half-collected draft is discarded), takes in a group only replies to the
bot's prompts, and /huy ends it.

Every command and every button checks the sender's role ("content": owners, admins,
editors) from the database when it runs; moderators and citizens are refused. Operations
live in bot.actions.newsroom; the notification goes through the announcement path
(bot.handlers.announcements: the outbox, the two-person rule, the progress message).

Callback data (≤ 64 bytes; draft ids are numbers, article ids ≤ 48 ASCII):
  nr:done:<d>  [Xong]             nr:title:<d> / nr:date:<d> / nr:body:<d>  ask for a value
  nr:sum:<d>   summary chooser    nr:st:<d>:<i>  toggle sentence i
  nr:fig:<d>   figure chooser     nr:ft:<d>:<i>  toggle figure i
  nr:topic:<d> topic chooser      nr:tp:<d>:<label or ->  set the topic
  nr:back:<d> / nr:open:<d>  show the review     nr:pub:<d> [✅ Đăng]   nr:drop:<d> [🗑 Bỏ]
  nr:nt:<t|a|n>:<article id>  notify topic / all / nobody
  nr:rc:<article id>  recall the notification of a withdrawn article
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.actions import newsroom as actions
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.articles import SLUG
from bot.domain.errors import InvalidInput, LoaError, NotFound
from bot.handlers import announcements, common, dialogs
from bot.handlers import newsroom_review as review
from bot.handlers import newsroom_views as views
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.services import CommandInfo, Services
from bot.store import articles as article_store
from bot.store import newsroom as store

log = logging.getLogger(__name__)

FEATURE = review.FEATURE
COLLECT = "collect"  # the /dangbai dialog's step: collecting the article's messages
# One word with a scheme ("https://…", but also "file:…", "javascript:…") is an address:
# actions.draft_from_url refuses what is not http(s) with a clear answer, instead of
# treating it as a one-line article.
_URL = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|(?:javascript|data|file|about|vbscript):)\S+$", re.I
)

ASK_TEXT = (
    "📝 Gửi nội dung bài viết (dòng đầu là tiêu đề; có thể gửi nhiều tin nhắn hoặc chuyển"
    " tiếp bài từ kênh), hoặc một địa chỉ trang web. Gửi xong bấm [✅ Xong]. /huy để hủy."
)


# ---------------------------------------------------------------- starting drafts


async def _draft_from_command_text(update: Update, context: Context, text: str) -> None:
    svc = services(context)
    user = update.effective_user
    uid = user.id if user else None
    if _URL.match(text):
        actions.check_address(svc.settings, text)
        await reply(update, "⏳ Đang tải trang và tách nội dung bài…")
        draft_id = await actions.draft_from_url(svc, text, uid)
    else:
        draft_id = await actions.draft_from_text(svc, text, uid)
    await review.review_here(update, context, draft_id)


async def _drop_collecting(svc: Services, draft_id: Any, actor: tuple[Any, Any]) -> bool:
    """Discard a draft still collecting its messages (its dialog ended unfinished)."""
    if not isinstance(draft_id, int):
        return False
    return await store.discard(
        svc.db, draft_id, actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )


async def _collecting_closed(app: Any, dialog: dialogs.Dialog, why: str) -> None:
    """A /dangbai dialog that lapsed, was cancelled or replaced: its draft is discarded
    (nothing half-collected waits forever); a value prompt leaves its draft as it is."""
    if dialog.step == COLLECT:
        await _drop_collecting(app.bot_data["services"], dialog.data.get("draft_id"), (None, None))


async def _ask_for_pieces(
    update: Update, context: Context, text: str, draft_id: int, *, more: bool
) -> None:
    """The prompt for the article (`more`: for more of it, the same dialog going on), with
    [Xong]; in a group only replies to the bot's prompts are taken."""
    await dialogs.ask(
        update,
        context,
        text,
        feature=FEATURE,
        step=COLLECT,
        label_vi=f"soạn bài (bản nháp #{draft_id})",
        reply_markup=views.done_keyboard(draft_id),
        carry_on=more,
        draft_id=draft_id,
    )


@requires("content")
@user_errors
async def dangbai_command(update: Update, context: Context) -> None:
    """/dangbai (/publish) [text or URL]: a draft; bare, it collects messages until [Xong]."""
    text = command_text(update)
    previous = dialogs.current(update, context, FEATURE, COLLECT)
    if previous is not None:  # a /dangbai left unfinished: discarded, and said so
        dialogs.end(update, context)
        draft_id = previous.data.get("draft_id")
        if await _drop_collecting(
            services(context), draft_id, await review.actor_of(update, context)
        ):
            await reply(update, f"🗑 Bản nháp #{draft_id} chưa xong đã được bỏ; bắt đầu bài mới.")
    if text:
        await _draft_from_command_text(update, context, text)
        return
    user = update.effective_user
    draft_id = await actions.start_collecting(services(context), user.id if user else None)
    await _ask_for_pieces(update, context, ASK_TEXT, draft_id, more=False)


@requires("content")
async def collect_text(update: Update, context: Context) -> None:
    """One message of the article (typed, pasted or forwarded from a channel)."""
    svc = services(context)
    text = review.message_text(update)
    dialog = dialogs.current(update, context, FEATURE, COLLECT)
    if dialog is None:
        return
    draft_id = int(dialog.data["draft_id"])
    try:
        draft = await store.get_draft(svc.db, draft_id)
        if draft.state != store.D_COLLECTING:  # finished or discarded meanwhile
            dialogs.end(update, context)
            await _stray(update, context)
            return
        if not draft.pieces and _URL.match(text):
            await store.discard(svc.db, draft_id, actor_id=None, actor_role=None, now=clock.now())
            dialogs.end(update, context)
            await _draft_from_command_text(update, context, text)
            return
        n = await actions.add_piece(svc, draft_id, text)
    except LoaError as exc:
        dialogs.continue_at(context, dialog, COLLECT)  # a step: the deadline restarts
        await reply(update, exc.user_message)
        return
    await _ask_for_pieces(
        update,
        context,
        f"📥 Đã nhận {n} tin nhắn. Gửi tiếp phần còn lại, hoặc bấm [✅ Xong].",
        draft_id,
        more=True,
    )


async def _stray(update: Update, context: Context) -> None:
    """The usual answer to a message nothing expects (only in private chats)."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        await common.private_text_fallback(update, context)


async def forwarded_start(update: Update, context: Context) -> None:
    """A post forwarded by an editor in private, outside any flow: the first piece of a draft.
    Anyone else gets the usual answer to a stray private message."""
    svc = services(context)
    user = update.effective_user
    if not await svc.may(user.id if user else None, "content"):
        await common.private_text_fallback(update, context)
        return
    draft_id = await actions.start_collecting(svc, user.id if user else None)
    label = f"soạn bài (bản nháp #{draft_id})"
    dialogs.hold(update, context, feature=FEATURE, step=COLLECT, label_vi=label, draft_id=draft_id)
    await dialogs.settle(context.application)
    await collect_text(update, context)


@requires("content")
@user_errors
async def done_button(update: Update, context: Context) -> None:
    """[Xong]: the collected messages become the draft under review."""
    own = await review.own_draft(update, context)
    draft = await actions.finish_collecting(services(context), own.id)
    review.end_dialog_of(update, context, draft.id)
    await answer_query(update)
    await review.edit_query(update, f"✅ Đã nhận đủ nội dung bản nháp #{draft.id}.", None)
    await review.review_here(update, context, draft.id)


async def on_document(update: Update, context: Context) -> None:
    """A .docx or .txt sent in private by an editor starts a draft; anything else from
    anyone else gets the usual answer to a stray private message."""
    svc = services(context)
    user = update.effective_user
    message = update.effective_message
    if message is None or message.document is None:
        return
    if not await svc.may(user.id if user else None, "content"):
        await common.private_text_fallback(update, context)
        return
    document = message.document
    refusal = actions.upload_refusal(document.file_name, document.file_size, svc.settings)
    if refusal:
        await reply(update, refusal)
        return
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        draft_id = await actions.draft_from_upload(
            svc, document.file_name or "bai.txt", data, user.id if user else None
        )
    except LoaError as exc:
        await reply(update, exc.user_message)
        return
    except TelegramError as exc:
        log.warning("cannot download an uploaded file: %s", exc)
        await reply(update, "Không tải được tệp từ Telegram, vui lòng gửi lại.")
        return
    await review.review_here(update, context, draft_id)


def _dispatcher(context: Context) -> Any:
    return services(context).features["dispatcher"]


@requires("content")
@user_errors
async def publish_button(update: Update, context: Context) -> None:
    """[✅ Đăng]: publish (or correct); then the notify choice (corrections edit the copies)."""
    svc = services(context)
    actor = await review.actor_of(update, context)
    draft = await review.own_draft(update, context)
    result = await actions.publish(svc, draft.id, actor[0], actor[1])
    await answer_query(update, "Đã đăng.")
    await review.edit_query(
        update, views.control_text(await store.get_draft(svc.db, draft.id)), None
    )
    title = html.escape(draft.title)
    if result.corrected:
        chat = update.effective_chat
        line = f"✏️ Đã sửa bài «{title}» (mã <code>{result.article_id}</code>)."
        try:
            notice = await actions.update_notice(
                svc,
                result.article_id,
                actor_id=actor[0],
                actor_role=actor[1],
                report_chat_id=chat.id if chat else None,
                bot_username=context.bot.username,
            )
        except LoaError as exc:  # the button is answered already: say it in the chat
            await reply(update, f"{line}\n⚠️ Chưa sửa được thông báo đã gửi: {exc.user_message}")
            return
        if notice.messages:
            _dispatcher(context).forget(notice.broadcast_id)
            _dispatcher(context).wake()
            line += f" Đang sửa {notice.messages} tin nhắn thông báo đã gửi."
        await reply(update, line)
        return
    await reply(
        update,
        f"✅ Đã đăng bài «{title}» (mã <code>{result.article_id}</code>).\nGửi thông báo cho ai?",
        reply_markup=views.notify_keyboard(result.article_id, draft.topic),
    )


_NOTIFY = re.compile(r"^nr:nt:([tan]):(.{1,48})$")


@requires("content")
@user_errors
async def notify_button(update: Update, context: Context) -> None:
    """The notify choice: topic subscribers, everyone (the announcement path) or nobody."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    m = _NOTIFY.match(query.data or "")
    if not m or not SLUG.match(m[2]):
        raise NotFound(review.INVALID_BUTTON)
    choice, article_id = m[1], m[2]
    actor = await review.actor_of(update, context)
    await actions.check_article_owner(svc, article_id, actor[0])
    if choice == "n":
        await answer_query(update, "Không gửi thông báo.")
        await review.edit_query(
            update, f"🔕 Bài <code>{article_id}</code>: không gửi thông báo.", None
        )
        return
    article = await article_store.get(svc.db, article_id)
    if article is None:
        raise InvalidInput("Bài viết này không còn (đã gỡ).")
    if choice == "t":
        if not article.tags:
            raise InvalidInput("Bài chưa có chủ đề.")
        audience = rules.Audience("topic", article.tags[0])
    else:
        audience = rules.Audience("all")
    chat = update.effective_chat
    b = await actions.create_notice(
        svc,
        article_id,
        audience,
        created_by=actor[0],
        report_chat_id=chat.id if chat else None,
        bot_username=context.bot.username,
    )
    await review.edit_query(
        update,
        f"🔔 Bài <code>{article_id}</code>: thông báo #{b.id}"
        f" tới {html.escape(audience.label_vi())}.",
        None,
    )
    is_admin = await svc.may(actor[0], "admin")
    line = await announcements.start_sending(
        update, context, b, actor, None, admin_approved=is_admin
    )
    if line is None:  # handed to the admins (two-person rule); the editor was told
        return
    await answer_query(update)
    await reply(update, line)


# ---------------------------------------------------------------- corrections, withdrawal


@requires("content")
@user_errors
async def suabai_command(update: Update, context: Context) -> None:
    """/suabai <id>: a correction draft of a published article, back through review."""
    args = command_text(update).split()
    if len(args) != 1 or not SLUG.match(args[0].lower()):
        raise InvalidInput("Cú pháp: /suabai &lt;mã bài&gt;, ví dụ /suabai 2024-05-01-hoi-nghi.")
    user = update.effective_user
    draft_id = await actions.draft_for_correction(
        services(context), args[0].lower(), user.id if user else None
    )
    await review.review_here(update, context, draft_id)


@requires("content")
@user_errors
async def gobai_command(update: Update, context: Context) -> None:
    """/gobai <id> [thuhoi]: withdraw an article; `thuhoi` also recalls its notification."""
    svc = services(context)
    args = command_text(update).split()
    if not 1 <= len(args) <= 2 or not SLUG.match(args[0].lower()):
        raise InvalidInput(
            "Cú pháp: /gobai &lt;mã bài&gt; [thuhoi] — thêm «thuhoi» để thu hồi cả"
            " thông báo đã gửi."
        )
    recall = len(args) == 2 and args[1].lower() in ("thuhoi", "thu-hoi", "recall")
    if len(args) == 2 and not recall:
        raise InvalidInput("Tham số thứ hai chỉ có thể là «thuhoi».")
    article_id = args[0].lower()
    actor = await review.actor_of(update, context)
    chat = update.effective_chat
    result = await actions.withdraw(
        svc,
        article_id,
        recall=recall,
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=chat.id if chat else None,
    )
    line = (
        f"🚫 Đã gỡ bài <code>{article_id}</code>: không còn trong danh sách, tìm kiếm và liên kết."
    )
    markup = None
    if recall and result.broadcast_id is not None:
        _dispatcher(context).wake()
        line += f"\nĐang thu hồi {result.messages} tin nhắn thông báo đã gửi."
    elif result.broadcast_id is not None:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        "🗑 Thu hồi thông báo đã gửi", callback_data=f"nr:rc:{article_id}"
                    )
                ]
            ]
        )
    await reply(update, line, reply_markup=markup)


@requires("content")
@user_errors
async def recall_button(update: Update, context: Context) -> None:
    """[Thu hồi thông báo đã gửi] under /gobai's answer."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    article_id = (query.data or "").split(":", 2)[-1]
    if not SLUG.match(article_id):
        raise NotFound(review.INVALID_BUTTON)
    actor = await review.actor_of(update, context)
    chat = update.effective_chat
    result = await actions.recall_article(
        svc,
        article_id,
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=chat.id if chat else None,
    )
    _dispatcher(context).wake()
    await answer_query(update, f"Đang thu hồi {result.messages} tin nhắn.", alert=True)
    await review.edit_query(
        update, f"🚫 Đã gỡ bài <code>{article_id}</code>; đang thu hồi thông báo.", None
    )


@requires("content")
async def drafts_command(update: Update, context: Context) -> None:
    """/bannhap: drafts waiting for review (feeds' items included)."""
    svc = services(context)
    user = update.effective_user
    waiting = await actions.waiting_drafts(svc, user.id if user else None)
    if not waiting:
        await reply(update, "Không có bản nháp nào đang chờ duyệt.")
        return
    rows = [
        [
            InlineKeyboardButton(
                f"#{d.id} {views.cut(d.title or '(chưa có tiêu đề)', 40)}",
                callback_data=f"nr:open:{d.id}",
            )
        ]
        for d in waiting
    ]
    await reply(
        update,
        f"🗞 {len(waiting)} bản nháp đang chờ duyệt (bấm để xem):",
        reply_markup=InlineKeyboardMarkup(rows),
    )


# ---------------------------------------------------------------- registration


def register(app: Any, svc: Services) -> None:
    """Commands, the draft dialogs, review buttons, documents in private."""
    svc.commands.extend(
        [
            CommandInfo(
                "dangbai",
                "Đăng bài mới (văn bản, tệp Word, trang web)",
                aliases=("publish",),
                permission="content",
            ),
            CommandInfo("suabai", "Sửa bài đã đăng: /suabai <mã bài>", permission="content"),
            CommandInfo("gobai", "Gỡ bài: /gobai <mã bài> [thuhoi]", permission="content"),
            CommandInfo("bannhap", "Bản nháp bài viết đang chờ duyệt", permission="content"),
        ]
    )
    # The dialogs (bot.handlers.dialogs): a message is taken only by the sender's open
    # /dangbai or value dialog here (in groups: a reply to its prompt); the lapse notice,
    # /huy and the one-open-dialog rule are the registry's.
    registry = dialogs.registry_of(app)
    dialogs.on_close(app, FEATURE, _collecting_closed)
    # A document's caption is not a piece of the article: the document itself goes to
    # on_document (a .docx sent while collecting starts its own draft).
    text = (filters.TEXT | filters.CAPTION) & ~filters.COMMAND & ~filters.Document.ALL
    app.add_handler(CommandHandler(["dangbai", "publish"], dangbai_command))
    app.add_handler(
        MessageHandler(text & dialogs.InDialog(registry, FEATURE, COLLECT), collect_text)
    )
    app.add_handler(
        MessageHandler(
            filters.TEXT
            & ~filters.COMMAND
            & dialogs.InDialog(registry, FEATURE, *review.VALUE_STEPS),
            review.value_text,
        )
    )
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.FORWARDED & text, forwarded_start)
    )
    app.add_handler(CallbackQueryHandler(review.title_button, pattern=r"^nr:title:\d+$"))
    app.add_handler(CallbackQueryHandler(review.date_button, pattern=r"^nr:date:\d+$"))
    app.add_handler(CallbackQueryHandler(review.body_button, pattern=r"^nr:body:\d+$"))
    app.add_handler(CallbackQueryHandler(done_button, pattern=r"^nr:done:\d+$"))
    app.add_handler(CallbackQueryHandler(publish_button, pattern=r"^nr:pub:\d+$"))
    app.add_handler(CallbackQueryHandler(notify_button, pattern=r"^nr:nt:"))
    app.add_handler(CallbackQueryHandler(recall_button, pattern=r"^nr:rc:"))
    app.add_handler(CallbackQueryHandler(review.review_button, pattern=r"^nr:"))
    app.add_handler(CommandHandler("suabai", suabai_command))
    app.add_handler(CommandHandler("gobai", gobai_command))
    app.add_handler(CommandHandler("bannhap", drafts_command))
    # A file whose caption is a command belongs to that command (/donvi nhap, issue 16).
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.Document.ALL & ~filters.CaptionRegex(r"^/"),
            on_document,
        )
    )
