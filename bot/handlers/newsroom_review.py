"""The review of an article draft in Telegram (bot.handlers.newsroom starts drafts and
publishes them): the card as readers will see it with the control message, the review
buttons (summary sentences, figures, topic, discard) and the prompts for one value of a
draft (title, date, body), which are dialogs (bot.handlers.dialogs).

Every button checks the sender's role ("content") from the database when it runs and that
the draft is theirs (actions.draft_for).
"""

from __future__ import annotations

import contextlib
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.actions import newsroom as actions
from bot.domain import clock
from bot.domain.errors import InvalidInput, NotFound
from bot.handlers import dialogs
from bot.handlers import newsroom_views as views
from bot.handlers.articles import card_text
from bot.handlers.base import Context, answer_query, reply, requires, services, user_errors
from bot.store import newsroom as store
from bot.store.newsroom import ArticleDraft

FEATURE = "newsroom"  # the dialogs' feature name (bot.handlers.dialogs)
VALUE_STEPS = ("title", "date", "body")  # a dialog waiting for one value of a draft
DECIDED = "Bản nháp này đã được đăng hoặc đã bỏ."
INVALID_BUTTON = "Nút này không hợp lệ."


async def actor_of(update: Update, context: Context) -> tuple[int | None, str | None]:
    user = update.effective_user
    role = await services(context).role_of(user.id if user else None)
    return (user.id if user else None), (str(role) if role else None)


def draft_id_of(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    fields = query.data.split(":")
    raw = fields[2] if len(fields) > 2 else ""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise NotFound(INVALID_BUTTON)  # forged or mangled callback data
    return int(raw)


async def own_draft(update: Update, context: Context) -> ArticleDraft:
    """The draft a button names, when the presser may act on it (actions.draft_for)."""
    user = update.effective_user
    return await actions.draft_for(
        services(context), draft_id_of(update), user.id if user else None
    )


# ---------------------------------------------------------------- review


async def send_review(context: Context, chat_id: int, draft_id: int) -> None:
    """The card exactly as readers will see it, then the control message with buttons."""
    svc = services(context)
    draft = await store.get_draft(svc.db, draft_id)
    await context.bot.send_message(chat_id, card_text(views.preview_article(draft)))
    await context.bot.send_message(
        chat_id, views.control_text(draft), reply_markup=views.control_keyboard(draft)
    )


async def review_here(update: Update, context: Context, draft_id: int) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_review(context, chat.id, draft_id)


async def edit_query(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    if query is None:
        return
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=markup)


# ---------------------------------------------------------------- review buttons


def message_text(update: Update) -> str:
    """The text (or caption) of the update's message, stripped."""
    message = update.effective_message
    if message is None:
        return ""
    return (message.text or message.caption or "").strip()


def end_dialog_of(update: Update, context: Context, draft_id: int) -> None:
    """End the sender's newsroom dialog here if it is about this draft (it is done with)."""
    dialog = dialogs.current(update, context, FEATURE)
    if dialog is not None and dialog.data.get("draft_id") == draft_id:
        dialogs.end(update, context)


async def _ask(update: Update, context: Context, step: str, prompt: str, what: str) -> None:
    draft = await own_draft(update, context)
    if draft.state != store.D_REVIEW:
        raise InvalidInput(DECIDED)
    await answer_query(update)
    await dialogs.ask(
        update,
        context,
        prompt,
        feature=FEATURE,
        step=step,
        label_vi=f"{what} bản nháp #{draft.id}",
        draft_id=draft.id,
    )


@requires("content")
@user_errors
async def title_button(update: Update, context: Context) -> None:
    """[✏️ Tiêu đề]: ask for the new title."""
    await _ask(
        update,
        context,
        "title",
        "✏️ Gửi tiêu đề mới (tối đa 300 ký tự). /huy để hủy.",
        "sửa tiêu đề",
    )


@requires("content")
@user_errors
async def date_button(update: Update, context: Context) -> None:
    """[🗓 Ngày]: ask for the article's date."""
    await _ask(
        update, context, "date", "🗓 Gửi ngày của bài dạng dd/mm/yyyy. /huy để hủy.", "sửa ngày"
    )


@requires("content")
@user_errors
async def body_button(update: Update, context: Context) -> None:
    """[📄 Thay nội dung] (corrections): ask for the new body text."""
    await _ask(
        update,
        context,
        "body",
        "📄 Gửi toàn bộ nội dung mới của bài (mỗi đoạn một dòng). Tiêu đề giữ nguyên. /huy để hủy.",
        "thay nội dung",
    )


@requires("content")
async def value_text(update: Update, context: Context) -> None:
    """The new title, date or body (the digest is re-run only if the body changed)."""
    svc = services(context)
    dialog = dialogs.current(update, context, FEATURE, *VALUE_STEPS)
    if dialog is None:
        return
    draft_id = int(dialog.data["draft_id"])
    text = message_text(update)
    try:
        if dialog.step == "title":
            await actions.set_title(svc, draft_id, text)
        elif dialog.step == "date":
            await actions.set_date(svc, draft_id, text)
        else:
            await actions.replace_body(svc, draft_id, text)
    except (InvalidInput, NotFound) as exc:
        draft = await store.get_draft(svc.db, draft_id)
        if draft.state != store.D_REVIEW:  # published or discarded meanwhile: stop asking
            dialogs.end(update, context)
            await reply(update, DECIDED)
            return
        dialogs.continue_at(context, dialog, dialog.step)  # a step: the deadline restarts
        await reply(update, f"{exc.user_message}\nGửi lại, hoặc /huy.")
        return
    dialogs.end(update, context)
    await review_here(update, context, draft_id)


def _index(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.split(":")[-1]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        raise NotFound(INVALID_BUTTON)
    return int(raw)


@requires("content")
@user_errors
async def review_button(update: Update, context: Context) -> None:
    """Every review button that needs no typed answer."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    op = query.data.split(":")[1]
    draft = await own_draft(update, context)
    draft_id = draft.id
    now = clock.now()
    if op == "drop":  # also under the [Xong] prompt, while the draft is still collecting
        actor = await actor_of(update, context)
        ok = await store.discard(svc.db, draft_id, actor_id=actor[0], actor_role=actor[1], now=now)
        end_dialog_of(update, context, draft_id)
        await answer_query(update, "Đã bỏ bản nháp." if ok else DECIDED, alert=not ok)
        if ok:
            await edit_query(update, f"🗑 Đã bỏ bản nháp #{draft_id}.", None)
        return
    if draft.state != store.D_REVIEW:
        raise InvalidInput(DECIDED)
    if op in ("back", "open"):
        await answer_query(update)
        await review_here(update, context, draft_id)
        return
    if op == "sum":
        text, markup = views.summary_chooser(draft)
        await answer_query(update)
        await reply(update, text, reply_markup=markup)
    elif op == "st":
        i = _index(update)
        if i >= len(draft.sentences):
            raise NotFound("Câu này không có trong bài.")
        chosen = set(draft.summary) ^ {i}
        if not chosen:
            raise InvalidInput("Tóm tắt cần ít nhất một câu.")
        draft = await store.update_fields(svc.db, draft_id, now, summary=tuple(sorted(chosen)))
        await answer_query(update)
        await edit_query(update, *views.summary_chooser(draft))
    elif op == "fig":
        text, markup = views.figure_chooser(draft)
        await answer_query(update)
        await reply(update, text, reply_markup=markup)
    elif op == "ft":
        i = _index(update)
        if i >= len(draft.figures):
            raise NotFound("Số liệu này không có trong bài.")
        dropped = tuple(sorted(set(draft.dropped) ^ {i}))
        draft = await store.update_fields(svc.db, draft_id, now, dropped=dropped)
        await answer_query(update)
        await edit_query(update, *views.figure_chooser(draft))
    elif op == "topic":
        rows = [
            [InlineKeyboardButton(t, callback_data=f"nr:tp:{draft_id}:{t}")]
            for t in svc.settings.topics
        ]
        rows.append([InlineKeyboardButton("Không chủ đề", callback_data=f"nr:tp:{draft_id}:-")])
        await answer_query(update)
        await reply(
            update,
            f"🏷 Chọn chủ đề cho bản nháp #{draft_id}:",
            reply_markup=InlineKeyboardMarkup(rows),
        )
    elif op == "tp":
        label = query.data.split(":", 3)[3] if query.data.count(":") >= 3 else ""
        if label != "-" and label not in svc.settings.topics:
            raise InvalidInput("Chủ đề này không có trong LOA_TOPICS.")
        await store.update_fields(svc.db, draft_id, now, topic=None if label == "-" else label)
        await answer_query(update, "Đã đặt chủ đề.")
        await edit_query(
            update, f"🏷 Chủ đề: {html.escape(label if label != '-' else 'không')}", None
        )
        await review_here(update, context, draft_id)
    else:
        raise NotFound(INVALID_BUTTON)
