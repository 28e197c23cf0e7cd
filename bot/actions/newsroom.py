"""Newsroom operations shared by Telegram handlers, the feeds worker, the CLI and the web
console: drafts from every source, review edits, publishing, the notification broadcast,
corrections and withdrawal. Roles are checked by the caller through Services.may
("content": owners, admins, editors) on every step; these functions take plain values.

Parsing and digesting are CPU work and run in a thread (asyncio.to_thread) so the bot
keeps answering while a 5,000-word page is processed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
from dataclasses import dataclass
from pathlib import PurePath

from bot.actions.fetch import FetchError, FetchLimits, FetchResult, fetch
from bot.config import Settings
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.articles import RawParts, article_date, digest, slugify, split_raw
from bot.domain.errors import InvalidInput
from bot.domain.sources import (
    decode,
    docx_parts,
    page_parts,
    text_checksum,
    text_file_parts,
)
from bot.services import Services
from bot.store import articles as article_store
from bot.store import drafts as broadcast_drafts
from bot.store import message_ops
from bot.store import newsroom as store
from bot.store.newsroom import ArticleDraft, DraftText

MAX_PIECES = 50  # messages collected into one draft before [Xong]
MAX_TEXT_CHARS = 200_000  # a pasted/uploaded article (the longest real ones are ~60,000)
UPLOAD_TYPES = (".docx", ".txt")
HTML_TYPES = ("text/html", "application/xhtml+xml")
NOTICE_SUMMARY_CHARS = 600


def fetch_limits(settings: Settings) -> FetchLimits:
    """The fetch bounds from the settings."""
    return FetchLimits(
        max_bytes=settings.fetch_max_bytes,
        timeout=settings.fetch_timeout,
        allow_private=settings.fetch_allow_private,
    )


def _today(settings: Settings) -> dt.date:
    return dt.datetime.fromtimestamp(clock.now(), settings.tz).date()


def build_text(
    parts: RawParts, *, date: dt.date | None, today: dt.date, sentences: int
) -> DraftText:
    """The draft text and its digest (CPU work: call it in a thread)."""
    if date is None:
        date, _ = article_date(parts, "", today)
    body = "\n\n".join(parts.paragraphs)
    d = digest(parts.paragraphs, parts.title, sentences)
    return DraftText(
        title=parts.title[:300],
        date=(date or today).isoformat(),
        author=(parts.author or None) and parts.author[:100],
        caption=parts.caption,
        body=body,
        sentences=d.sentences,
        summary=d.summary_indices,
        figures=d.figures,
        checksum=text_checksum(parts.title, body),
    )


async def draft_from_parts(
    svc: Services,
    parts: RawParts,
    *,
    source_kind: str,
    created_by: int | None,
    source: str | None = None,
    date: dt.date | None = None,
    topic: str | None = None,
    feed_id: int | None = None,
) -> int:
    """A draft under review from parsed parts; its id."""
    text = await asyncio.to_thread(
        build_text,
        parts,
        date=date,
        today=_today(svc.settings),
        sentences=svc.settings.summary_sentences,
    )
    return await store.create_draft(
        svc.db,
        source_kind=source_kind,
        source=source,
        text=text,
        topic=topic,
        feed_id=feed_id,
        created_by=created_by,
        now=clock.now(),
    )


def _raw(text: str) -> RawParts:
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"Bài quá dài (hơn {MAX_TEXT_CHARS:,} ký tự).".replace(",", "."))
    try:
        return split_raw(text)
    except ValueError:
        raise InvalidInput(
            "Chưa đủ nội dung: dòng đầu là tiêu đề, các dòng sau là nội dung bài."
        ) from None


async def start_collecting(svc: Services, created_by: int | None) -> int:
    """/dangbai without text: a draft that collects messages until [Xong]."""
    return await store.create_draft(
        svc.db, source_kind="text", state=store.D_COLLECTING, created_by=created_by, now=clock.now()
    )


async def add_piece(svc: Services, draft_id: int, text: str) -> int:
    """One more message of a long article; the number collected."""
    return await store.add_piece(svc.db, draft_id, text, clock.now(), MAX_PIECES)


async def finish_collecting(svc: Services, draft_id: int) -> ArticleDraft:
    """[Xong]: the collected messages become the draft's text (title, caption, body, byline)."""
    draft = await store.get_draft(svc.db, draft_id)
    if draft.state != store.D_COLLECTING:
        raise InvalidInput("Bản nháp này đã xong phần nhập nội dung.")
    if not draft.pieces:
        raise InvalidInput("Chưa nhận được nội dung nào. Hãy gửi bài viết rồi bấm [Xong].")
    parts = _raw("\n\n".join(draft.pieces))
    text = await asyncio.to_thread(
        build_text,
        parts,
        date=None,
        today=_today(svc.settings),
        sentences=svc.settings.summary_sentences,
    )
    await store.set_text(svc.db, draft_id, text, clock.now())
    return await store.get_draft(svc.db, draft_id)


async def draft_from_text(svc: Services, text: str, created_by: int | None) -> int:
    """A whole article pasted at once (/dangbai <text>)."""
    return await draft_from_parts(svc, _raw(text), source_kind="text", created_by=created_by)


def upload_refusal(file_name: str | None, size: int | None, settings: Settings) -> str | None:
    """Why an uploaded file is refused (Vietnamese), or None when it may be read."""
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix not in UPLOAD_TYPES:
        return (
            f"Chỉ nhận tệp Word (.docx) hoặc văn bản (.txt); tệp «{html.escape(file_name or '?')}»"
            " không đọc được. Tệp .doc cũ: hãy mở bằng Word và lưu lại dạng .docx."
        )
    if size is not None and size > settings.upload_max_bytes:
        return f"Tệp quá lớn ({size // 1024} KB); tối đa {settings.upload_max_bytes // 1024} KB."
    return None


async def draft_from_upload(
    svc: Services, file_name: str, data: bytes, created_by: int | None
) -> int:
    """A .docx or .txt file sent by an editor."""
    refusal = upload_refusal(file_name, len(data), svc.settings)
    if refusal:
        raise InvalidInput(refusal)
    reader = docx_parts if file_name.lower().endswith(".docx") else text_file_parts
    parts = await asyncio.to_thread(reader, data)
    return await draft_from_parts(
        svc, parts, source_kind="file", source=file_name[:200], created_by=created_by
    )


def _page_article(result: FetchResult) -> tuple[RawParts, dt.date | None]:
    page = page_parts(decode(result.body, result.charset), result.url)
    return page.parts, page.date


async def draft_from_url(
    svc: Services, url: str, created_by: int | None, *, topic: str | None = None
) -> int:
    """A news page: fetched within the bounds, the article extracted."""
    result = await fetch(url, fetch_limits(svc.settings))
    if result.content_type not in HTML_TYPES:
        raise FetchError(
            f"Địa chỉ này không phải trang web ({html.escape(result.content_type or '?')})."
        )
    parts, date = await asyncio.to_thread(_page_article, result)
    return await draft_from_parts(
        svc,
        parts,
        source_kind="url",
        source=result.url,
        date=date,
        topic=topic,
        created_by=created_by,
    )


async def draft_for_correction(svc: Services, article_id: str, created_by: int | None) -> int:
    """/suabai <id>: a draft holding the published article, its digest and choices as they are."""
    state = await store.state_of(svc.db, article_id)
    article = await article_store.get(svc.db, article_id)
    if state is None or article is None:
        raise InvalidInput(f"Không có bài viết «{html.escape(article_id)}» (hoặc bài đã gỡ).")
    if state.origin != "db":
        raise InvalidInput("Bài này lấy từ tệp nội dung trên máy chủ: hãy sửa tệp rồi /napbai.")
    reviewed = await store.reviewed_digest(svc.db, article_id)
    if reviewed is not None:  # the text has not changed: no new digest
        text = reviewed.text
    else:
        parts = RawParts(article.title, article.caption, article.paragraphs, article.author)
        text = await asyncio.to_thread(
            build_text,
            parts,
            date=dt.date.fromisoformat(article.date),
            today=_today(svc.settings),
            sentences=svc.settings.summary_sentences,
        )
    draft_id = await store.create_draft(
        svc.db,
        source_kind="edit",
        source=article.source,
        target_id=article.id,
        text=text,
        topic=article.tags[0] if article.tags else None,
        created_by=created_by,
        now=clock.now(),
    )
    # Keep the editor's earlier choices: the summary as published, figures dropped before.
    if reviewed is not None:
        chosen, dropped = reviewed.summary, reviewed.dropped
    else:
        chosen = tuple(i for i, s in enumerate(text.sentences) if s in article.summary)
        kept = {(f.value, f.subject) for f in article.figures}
        dropped = tuple(i for i, f in enumerate(text.figures) if (f.value, f.subject) not in kept)
    await store.update_fields(
        svc.db, draft_id, clock.now(), summary=chosen or text.summary, dropped=dropped
    )
    return draft_id


async def replace_body(svc: Services, draft_id: int, new_text: str) -> ArticleDraft:
    """New body text for a draft (corrections): the digest is re-run only when the text
    really changed; title, date, topic and author stay as reviewed."""
    draft = await store.get_draft(svc.db, draft_id)
    if draft.state != store.D_REVIEW:
        raise InvalidInput("Bản nháp này đã được đăng hoặc đã bỏ.")
    if len(new_text) > MAX_TEXT_CHARS:
        raise InvalidInput("Nội dung quá dài.")
    parts = RawParts(
        draft.title,
        draft.caption,
        [p.strip() for p in new_text.replace("\r", "").split("\n") if p.strip()],
        draft.author,
    )
    if not parts.paragraphs:
        raise InvalidInput("Nội dung mới trống.")
    if text_checksum(draft.title, "\n\n".join(parts.paragraphs)) == draft.text_checksum:
        return draft
    text = await asyncio.to_thread(
        build_text,
        parts,
        date=dt.date.fromisoformat(draft.date) if draft.date else None,
        today=_today(svc.settings),
        sentences=svc.settings.summary_sentences,
    )
    await store.set_text(svc.db, draft_id, text, clock.now())
    return await store.get_draft(svc.db, draft_id)


async def publish(
    svc: Services, draft_id: int, actor_id: int | None, actor_role: str | None
) -> store.Published:
    """[✅ Đăng]: the draft becomes (or corrects) an article."""
    draft = await store.get_draft(svc.db, draft_id)
    base = slugify(draft.title, dt.date.fromisoformat(draft.date) if draft.date else None)
    return await store.publish(
        svc.db,
        draft_id,
        base_id=base,
        actor_id=actor_id,
        actor_role=actor_role,
        now=clock.now(),
    )


def notice_text(article: article_store.StoredArticle, bot_username: str | None) -> str:
    """The notification: a short card (Telegram HTML) with the article's deep link."""
    try:
        day = dt.date.fromisoformat(article.date).strftime("%d/%m/%Y")
    except ValueError:
        day = article.date
    lead = " ".join(article.summary[:1]) or (article.paragraphs[0] if article.paragraphs else "")
    if len(lead) > NOTICE_SUMMARY_CHARS:
        lead = lead[: NOTICE_SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    text = f"📰 <b>{html.escape(article.title)}</b>\n🗓 {day}\n\n{html.escape(lead)}"
    if bot_username:
        link = f"https://t.me/{bot_username}?start=a_{article.id}"
        text += f'\n\n👉 <a href="{link}">Đọc bài trên Loa</a>'
    else:
        text += f"\n\n👉 /bai {article.id}"
    return text


NOTIFY_CHOICES = ("topic", "all", "none")


async def create_notice(
    svc: Services,
    article_id: str,
    audience: rules.Audience,
    *,
    created_by: int | None,
    report_chat_id: int | None,
    bot_username: str | None,
) -> broadcast_drafts.Broadcast:
    """The notification as a broadcast draft of the existing outbox (sending is the
    announcement path: queue_broadcast with the two-person rule, the dispatcher)."""
    article = await article_store.get(svc.db, article_id)
    if article is None:
        raise InvalidInput("Bài viết này không còn (đã gỡ).")
    if await store.notice_of(svc.db, article_id) is not None:
        raise InvalidInput("Bài này đã có thông báo gửi đi rồi.")
    body, parts = rules.prepare_text(notice_text(article, bot_username))
    bid = await broadcast_drafts.create_draft(
        svc.db,
        kind="announcement",
        title=article.title[:200],
        body=body,
        parts=parts,
        audience=audience,
        created_by=created_by,
        now=clock.now(),
        report_chat_id=report_chat_id,
    )
    await store.set_notice(svc.db, article_id, bid)
    return await broadcast_drafts.get_broadcast(svc.db, bid)


@dataclass(frozen=True)
class NoticeUpdate:
    """What a correction or withdrawal did to the notification already sent."""

    broadcast_id: int | None
    messages: int


async def update_notice(
    svc: Services,
    article_id: str,
    *,
    actor_id: int | None,
    actor_role: str | None,
    report_chat_id: int | None,
    bot_username: str | None,
) -> NoticeUpdate:
    """After a correction: every copy of the notification is edited through the outbox."""
    bid = await store.notice_of(svc.db, article_id)
    article = await article_store.get(svc.db, article_id)
    if bid is None or article is None:
        return NoticeUpdate(None, 0)
    b = await broadcast_drafts.get_broadcast(svc.db, bid)
    body, parts = rules.prepare_text(notice_text(article, bot_username))
    if body == b.body or len(parts) != len(b.parts) or b.revoked_at is not None:
        return NoticeUpdate(bid, 0)
    _action, n = await message_ops.request_edit(
        svc.db,
        bid,
        body,
        parts,
        actor_id=actor_id,
        actor_role=actor_role,
        report_chat_id=report_chat_id,
        now=clock.now(),
    )
    return NoticeUpdate(bid, n)


async def withdraw(
    svc: Services,
    article_id: str,
    *,
    recall: bool,
    actor_id: int | None,
    actor_role: str | None,
    report_chat_id: int | None,
) -> NoticeUpdate:
    """/gobai: hide the article everywhere; with `recall`, delete the notification's copies."""
    bid = await store.withdraw(
        svc.db, article_id, actor_id=actor_id, actor_role=actor_role, now=clock.now()
    )
    if not recall or bid is None:
        return NoticeUpdate(bid, 0)
    return await recall_notice(
        svc, bid, actor_id=actor_id, actor_role=actor_role, report_chat_id=report_chat_id
    )


async def recall_notice(
    svc: Services,
    broadcast_id: int,
    *,
    actor_id: int | None,
    actor_role: str | None,
    report_chat_id: int | None,
) -> NoticeUpdate:
    """Delete every sent copy of a notification (and stop what is not sent)."""
    _action, n, _cancelled = await message_ops.request_delete(
        svc.db,
        broadcast_id,
        actor_id=actor_id,
        actor_role=actor_role,
        report_chat_id=report_chat_id,
        now=clock.now(),
    )
    return NoticeUpdate(broadcast_id, n)
