"""What the newsroom shows in Telegram: the draft as readers will see it, the review
message and its buttons, the summary and figure choosers, the notify choice.

Pure rendering (no store, no network) so the review looks the same wherever it is sent.
Every value from an editor, a page or a feed is escaped (Telegram HTML), and every text
is fitted in whole lines under Telegram's 4,096 characters.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.actions.newsroom import fit_lines
from bot.store import articles as article_store
from bot.store.newsroom import ArticleDraft

MAX_LISTED = 40  # sentences / figures offered as toggle buttons (keyboards hold 100)


SOURCE_LABELS = {
    "text": "văn bản dán vào",
    "file": "tệp",
    "url": "trang web",
    "feed": "nguồn tin RSS",
    "edit": "sửa bài đã đăng",
}


def done_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    """[✅ Xong] [🗑 Bỏ] under the messages of a draft being collected."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Xong", callback_data=f"nr:done:{draft_id}"),
                InlineKeyboardButton("🗑 Bỏ", callback_data=f"nr:drop:{draft_id}"),
            ]
        ]
    )


def preview_article(draft: ArticleDraft) -> article_store.StoredArticle:
    """The draft as the article readers will get (the card is rendered from this)."""
    return article_store.StoredArticle(
        id=draft.target_id or draft.article_id or "ban-nhap",
        title=draft.title,
        date=draft.date or "",
        author=draft.author,
        caption=draft.caption,
        source=draft.source,
        tags=(draft.topic,) if draft.topic else (),
        unit=None,
        body=draft.body,
        summary=draft.summary_sentences,
        figures=draft.kept_figures,
        path="",
    )


def cut(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters (escape after cutting, never before)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def control_text(draft: ArticleDraft) -> str:
    """The review message under the card: source, topic, every detected figure."""
    kind = SOURCE_LABELS.get(draft.source_kind, draft.source_kind)
    source = f" — {html.escape(cut(draft.source, 80))}" if draft.source else ""
    head = "✏️ Sửa bài" if draft.target_id else "🗞 Bản nháp"
    lines = [
        f"👆 {head} #{draft.id} ({kind}{source}), đúng như bạn đọc sẽ thấy.",
        f"Chủ đề: <b>{html.escape(draft.topic or 'chưa chọn')}</b>"
        f" · {len(draft.paragraphs)} đoạn · {len(draft.sentences)} câu",
    ]
    if draft.target_id:
        lines.append(f"Mã bài: <code>{html.escape(draft.target_id)}</code>")
    if draft.figures:
        lines.append(f"\n📊 <b>Số liệu phát hiện ({len(draft.figures)})</b>")
        for i, f in enumerate(draft.figures[:MAX_LISTED]):
            shown = html.escape(cut(f.render(), 150))
            lines.append(
                f"{i + 1}. <s>{shown}</s> (đã bỏ)" if i in draft.dropped else f"{i + 1}. {shown}"
            )
        if len(draft.figures) > MAX_LISTED:
            lines.append(f"… và {len(draft.figures) - MAX_LISTED} số liệu khác.")
    else:
        lines.append("\n📊 Không phát hiện số liệu nào.")
    return fit_lines(lines)


def control_keyboard(draft: ArticleDraft) -> InlineKeyboardMarkup:
    """The review buttons."""
    d = draft.id
    rows = [
        [
            InlineKeyboardButton("✏️ Tiêu đề", callback_data=f"nr:title:{d}"),
            InlineKeyboardButton("📝 Câu tóm tắt", callback_data=f"nr:sum:{d}"),
        ],
        [
            InlineKeyboardButton("🔢 Số liệu sai", callback_data=f"nr:fig:{d}"),
            InlineKeyboardButton("🏷 Chủ đề", callback_data=f"nr:topic:{d}"),
            InlineKeyboardButton("🗓 Ngày", callback_data=f"nr:date:{d}"),
        ],
    ]
    if draft.target_id:
        rows.append([InlineKeyboardButton("📄 Thay nội dung", callback_data=f"nr:body:{d}")])
    rows.append(
        [
            InlineKeyboardButton("✅ Đăng", callback_data=f"nr:pub:{d}"),
            InlineKeyboardButton("🗑 Bỏ", callback_data=f"nr:drop:{d}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def summary_chooser(draft: ArticleDraft) -> tuple[str, InlineKeyboardMarkup]:
    """The sentences with toggle buttons: the editor picks the summary."""
    lines = [f"📝 <b>Chọn câu tóm tắt</b> cho bản nháp #{draft.id} (bấm số để chọn/bỏ):"]
    buttons = []
    for i, sentence in enumerate(draft.sentences[:MAX_LISTED]):
        mark = "✅" if i in draft.summary else "▫️"
        lines.append(f"{mark} {i + 1}. {html.escape(cut(sentence, 160))}")
        buttons.append(
            InlineKeyboardButton(f"{mark}{i + 1}", callback_data=f"nr:st:{draft.id}:{i}")
        )
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    rows.append([InlineKeyboardButton("↩️ Quay lại thẻ", callback_data=f"nr:back:{draft.id}")])
    return fit_lines(lines), InlineKeyboardMarkup(rows)


def figure_chooser(draft: ArticleDraft) -> tuple[str, InlineKeyboardMarkup]:
    """The detected figures with toggle buttons: the editor drops the wrong ones."""
    lines = [f"🔢 <b>Bỏ số liệu sai</b> của bản nháp #{draft.id} (bấm số để bỏ/giữ):"]
    buttons = []
    for i, f in enumerate(draft.figures[:MAX_LISTED]):
        dropped = i in draft.dropped
        mark = "❌" if dropped else "✅"
        lines.append(f"{mark} {i + 1}. {html.escape(cut(f.render(), 150))}")
        buttons.append(
            InlineKeyboardButton(f"{mark}{i + 1}", callback_data=f"nr:ft:{draft.id}:{i}")
        )
    if not buttons:
        lines.append("Không có số liệu nào.")
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    rows.append([InlineKeyboardButton("↩️ Quay lại thẻ", callback_data=f"nr:back:{draft.id}")])
    return fit_lines(lines), InlineKeyboardMarkup(rows)


def notify_keyboard(article_id: str, topic: str | None) -> InlineKeyboardMarkup:
    """Who hears of a new article: the topic's subscribers, everyone, or nobody."""
    rows = []
    if topic:
        rows.append(
            [
                InlineKeyboardButton(
                    f"🔔 Người theo dõi chủ đề {topic}", callback_data=f"nr:nt:t:{article_id}"
                )
            ]
        )
    rows.append(
        [InlineKeyboardButton("📢 Tất cả người đăng ký", callback_data=f"nr:nt:a:{article_id}")]
    )
    rows.append([InlineKeyboardButton("🔕 Không gửi", callback_data=f"nr:nt:n:{article_id}")])
    return InlineKeyboardMarkup(rows)
