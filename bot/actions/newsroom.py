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
import re
from dataclasses import dataclass
from pathlib import PurePath

from bot.actions.fetch import FetchError, FetchLimits, FetchResult, check_url, fetch
from bot.config import Settings
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.articles import RawParts, article_date, digest, slugify, split_raw
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.sources import (
    decode,
    docx_parts,
    page_parts,
    text_checksum,
    text_file_parts,
)
from bot.domain.text import nfc
from bot.services import Services
from bot.store import articles as article_store
from bot.store import drafts as broadcast_drafts
from bot.store import message_ops
from bot.store import newsroom as store
from bot.store.newsroom import ArticleDraft, DraftText

# A pasted article arrives as Telegram messages of ≤ 4,096 characters each. The longest real
# articles are ~60,000 characters; the bounds leave room for an editor pasting a long report
# in 100+ pieces while keeping the digest under ~1 s CPU (500,000 characters measured 0.95 s).
MAX_PIECES = 200  # messages collected into one draft before [Xong]
MAX_TEXT_CHARS = 500_000  # an article from any source, title and body together
MAX_TITLE_CHARS = 300
UPLOAD_TYPES = (".docx", ".txt")
HTML_TYPES = ("text/html", "application/xhtml+xml")
NOTICE_SUMMARY_CHARS = 600


def fit_lines(lines: list[str], limit: int = 4000) -> str:
    """Telegram HTML lines joined, whole lines only, under `limit` characters: Telegram refuses
    a message past 4,096 characters, and a cut inside a tag or an &entity; would not parse."""
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        if size + len(line) + 1 > limit - 40:
            out.append(f"… (còn {len(lines) - i} dòng nữa)")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def fetch_limits(settings: Settings) -> FetchLimits:
    """The fetch bounds from the settings."""
    return FetchLimits(
        max_bytes=settings.fetch_max_bytes,
        timeout=settings.fetch_timeout,
        allow_private=settings.fetch_allow_private,
    )


def check_address(settings: Settings, url: str) -> str:
    """The fetch rules a URL can be checked against before any request (scheme, length,
    host, literal private addresses): the answer comes at once, for pages and feeds alike."""
    return check_url(url, settings.fetch_allow_private)


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
    _check_length(parts)
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


# ---------------------------------------------------------------- who may act on what
#
# Decision: a draft belongs to its author until it is published; another editor's forged or
# forwarded button must not publish, discard or edit it. Admins and owners act on every
# draft; a feed's draft (no author) belongs to every editor. An article's notification and
# withdrawal belong to whoever published it (or an admin); corrections (/suabai) are open to
# every editor because they go through the corrector's own draft and review, audited.

OTHERS_DRAFT = (
    "⛔ Bản nháp #{id} là của người khác: chỉ người tạo hoặc quản trị viên được thao tác."
)
OTHERS_ARTICLE = (
    "⛔ Bài này do người khác đăng: chỉ người đăng hoặc quản trị viên được gửi thông báo,"
    " gỡ bài hoặc thu hồi."
)


def may_act_on_draft(draft: ArticleDraft, user_id: int | None, is_admin: bool) -> bool:
    """The draft rule above (callers have checked the "content" role already)."""
    return is_admin or draft.created_by is None or draft.created_by == user_id


async def draft_for(svc: Services, draft_id: int, user_id: int | None) -> ArticleDraft:
    """The draft, when this user may act on it; NotFound / PermissionDenied otherwise."""
    draft = await store.get_draft(svc.db, draft_id)
    if not may_act_on_draft(draft, user_id, await svc.may(user_id, "admin")):
        raise PermissionDenied(OTHERS_DRAFT.format(id=draft.id))
    return draft


async def waiting_drafts(svc: Services, user_id: int | None) -> list[ArticleDraft]:
    """Drafts waiting for review that this user may act on, oldest first."""
    is_admin = await svc.may(user_id, "admin")
    drafts = await store.waiting_drafts(svc.db, limit=500)
    return [d for d in drafts if may_act_on_draft(d, user_id, is_admin)][:20]


async def check_article_owner(svc: Services, article_id: str, user_id: int | None) -> None:
    """Notify, withdraw, recall: the article's publisher or an admin; PermissionDenied."""
    state = await store.state_of(svc.db, article_id)
    if state is None:
        raise NotFound(f"Không có bài viết «{html.escape(article_id)}».")
    if state.published_by != user_id and not await svc.may(user_id, "admin"):
        raise PermissionDenied(OTHERS_ARTICLE)


def _too_long() -> InvalidInput:
    return InvalidInput(f"Bài quá dài (hơn {MAX_TEXT_CHARS:,} ký tự).".replace(",", "."))


def _check_length(parts: RawParts) -> None:
    if len(parts.title) + sum(len(p) for p in parts.paragraphs) > MAX_TEXT_CHARS:
        raise _too_long()


def _raw(text: str) -> RawParts:
    """Pasted text (NFC, whatever the editor's keyboard sent) split into its parts."""
    if len(text) > MAX_TEXT_CHARS:
        raise _too_long()
    try:
        return split_raw(nfc(text))
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
    """One more message of a long article (NFC); the number collected. A message past the
    bounds is refused here, so [Xong] never fails on length after the editor pasted it all."""
    text = nfc(text).strip()
    if not text:
        raise InvalidInput("Tin nhắn này không có chữ nào; hãy gửi nội dung bài viết.")
    return await store.add_piece(
        svc.db, draft_id, text, clock.now(), max_pieces=MAX_PIECES, max_chars=MAX_TEXT_CHARS
    )


async def set_title(svc: Services, draft_id: int, text: str) -> ArticleDraft:
    """[✏️ Tiêu đề]: a new title (NFC, spaces collapsed, 1–300 characters)."""
    title = " ".join(nfc(text).split())
    if not title or len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"Tiêu đề cần từ 1 đến {MAX_TITLE_CHARS} ký tự.")
    return await store.update_fields(svc.db, draft_id, clock.now(), title=title)


_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


async def set_date(svc: Services, draft_id: int, text: str) -> ArticleDraft:
    """[🗓 Ngày]: the article's date typed as dd/mm/yyyy."""
    m = _DATE.match(text)
    try:
        day = dt.date(int(m[3]), int(m[2]), int(m[1])) if m else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput("Ngày cần dạng dd/mm/yyyy, ví dụ 08/04/2022.")
    return await store.update_fields(svc.db, draft_id, clock.now(), date=day.isoformat())


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
        raise _too_long()
    parts = RawParts(
        draft.title,
        draft.caption,
        [p.strip() for p in nfc(new_text).replace("\r", "").split("\n") if p.strip()],
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
    """[✅ Đăng]: the draft becomes (or corrects) an article (the draft rule checked)."""
    draft = await draft_for(svc, draft_id, actor_id)
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
    await check_article_owner(svc, article_id, created_by)
    article = await article_store.get(svc.db, article_id)
    if article is None:
        raise InvalidInput("Bài viết này không còn (đã gỡ).")
    existing = await store.notice_of(svc.db, article_id)
    if existing is not None:
        b = await broadcast_drafts.get_broadcast(svc.db, existing)
        if b.state != rules.B_DRAFT:
            raise InvalidInput("Bài này đã có thông báo gửi đi rồi.")
        # created but never queued (the bot stopped in between): this choice sends it
        await broadcast_drafts.set_draft_audience(svc.db, b.id, audience, "announcement")
        return await broadcast_drafts.get_broadcast(svc.db, b.id)
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
    await check_article_owner(svc, article_id, actor_id)
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


async def recall_article(
    svc: Services,
    article_id: str,
    *,
    actor_id: int | None,
    actor_role: str | None,
    report_chat_id: int | None,
) -> NoticeUpdate:
    """[Thu hồi thông báo] after /gobai: the withdrawn article's notification is deleted."""
    await check_article_owner(svc, article_id, actor_id)
    state = await store.state_of(svc.db, article_id)
    if state is None or state.status != "withdrawn":
        raise InvalidInput("Bài này chưa bị gỡ.")
    bid = await store.notice_of(svc.db, article_id)
    if bid is None:
        raise InvalidInput("Bài này không có thông báo nào.")
    return await recall_notice(
        svc, bid, actor_id=actor_id, actor_role=actor_role, report_chat_id=report_chat_id
    )
