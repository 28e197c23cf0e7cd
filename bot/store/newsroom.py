"""The newsroom as stored (migration 007): article drafts, publishing into the articles
table (origin 'db'), corrections, withdrawal, and the export of database articles.

Ids are unique across files and the database: a draft is published under a slug no
article of either origin holds (bot.store.articles.sync reports a file that later
claims a database article's id instead of silently replacing it).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.domain.articles import Article
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.figures import Figure
from bot.domain.text import fold, quote
from bot.store.articles import forget_cached
from bot.store.db import Database
from bot.store.rows import as_int, as_str, opt_int, opt_str
from bot.store.staff import record_audit

D_COLLECTING = "collecting"
D_REVIEW = "review"
D_PUBLISHED = "published"
D_DISCARDED = "discarded"


@dataclass(frozen=True)
class ArticleDraft:
    """A draft under review, with the digest the machine made and the editor's choices."""

    id: int
    state: str
    source_kind: str
    source: str | None
    target_id: str | None
    feed_id: int | None
    title: str
    date: str | None
    author: str | None
    caption: str | None
    topic: str | None
    body: str
    sentences: tuple[str, ...]
    summary: tuple[int, ...]  # indices into sentences, article order
    figures: tuple[Figure, ...]
    dropped: tuple[int, ...]  # indices into figures
    text_checksum: str
    pieces: tuple[str, ...]
    created_by: int | None
    created_at: int
    updated_at: int
    article_id: str | None

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs."""
        return [p for p in self.body.split("\n\n") if p.strip()]

    @property
    def kept_figures(self) -> tuple[Figure, ...]:
        """The figures the editor did not drop."""
        return tuple(f for i, f in enumerate(self.figures) if i not in self.dropped)

    @property
    def summary_sentences(self) -> tuple[str, ...]:
        """The chosen summary sentences."""
        return tuple(self.sentences[i] for i in self.summary if 0 <= i < len(self.sentences))


def _figure(data: dict[str, Any]) -> Figure:
    fields = Figure.__dataclass_fields__
    return Figure(**{k: v for k, v in data.items() if k in fields})


def _draft(r: aiosqlite.Row) -> ArticleDraft:
    return ArticleDraft(
        id=as_int(r["id"]),
        state=as_str(r["state"]),
        source_kind=as_str(r["source_kind"]),
        source=opt_str(r["source"]),
        target_id=opt_str(r["target_id"]),
        feed_id=opt_int(r["feed_id"]),
        title=as_str(r["title"]),
        date=opt_str(r["date"]),
        author=opt_str(r["author"]),
        caption=opt_str(r["caption"]),
        topic=opt_str(r["topic"]),
        body=as_str(r["body"]),
        sentences=tuple(json.loads(r["sentences"])),
        summary=tuple(int(i) for i in json.loads(r["summary"])),
        figures=tuple(_figure(f) for f in json.loads(r["figures"])),
        dropped=tuple(int(i) for i in json.loads(r["dropped"])),
        text_checksum=as_str(r["text_checksum"]),
        pieces=tuple(json.loads(r["pieces"])),
        created_by=opt_int(r["created_by"]),
        created_at=as_int(r["created_at"]),
        updated_at=as_int(r["updated_at"]),
        article_id=opt_str(r["article_id"]),
    )


@dataclass(frozen=True)
class DraftText:
    """A draft's text and the digest made from it (CPU work done by the caller)."""

    title: str
    date: str | None
    author: str | None
    caption: str | None
    body: str
    sentences: tuple[str, ...]
    summary: tuple[int, ...]
    figures: tuple[Figure, ...]
    checksum: str


def _text_values(text: DraftText) -> tuple[Any, ...]:
    return (
        text.title,
        text.date,
        text.author,
        text.caption,
        text.body,
        json.dumps(list(text.sentences), ensure_ascii=False),
        json.dumps(list(text.summary)),
        json.dumps([f.as_dict() for f in text.figures], ensure_ascii=False),
        "[]",
        text.checksum,
    )


async def create_draft(
    db: Database,
    *,
    source_kind: str,
    now: int,
    created_by: int | None,
    text: DraftText | None = None,
    source: str | None = None,
    target_id: str | None = None,
    feed_id: int | None = None,
    topic: str | None = None,
    state: str = D_REVIEW,
) -> int:
    """Store a new draft (collecting pieces when `text` is None); return its id."""
    values = _text_values(text) if text else ("", None, None, None, "", "[]", "[]", "[]", "[]", "")
    async with (
        db.transaction() as conn,
        conn.execute(
            "INSERT INTO article_drafts (title, date, author, caption, body, sentences, summary,"
            " figures, dropped, text_checksum, state, source_kind, source, target_id, feed_id,"
            " topic, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *values,
                state,
                source_kind,
                source,
                target_id,
                feed_id,
                topic,
                created_by,
                now,
                now,
            ),
        ) as cur,
    ):
        return int(cur.lastrowid or 0)


async def get_draft(db: Database, draft_id: int) -> ArticleDraft:
    """The draft or NotFound."""
    row = await db.fetch_one("SELECT * FROM article_drafts WHERE id = ?", (draft_id,))
    if row is None:
        raise NotFound("Không tìm thấy bản nháp này.")
    return _draft(row)


async def add_piece(
    db: Database, draft_id: int, piece: str, now: int, *, max_pieces: int, max_chars: int
) -> int:
    """Append one collected message to a collecting draft; the number of pieces. InvalidInput
    (the piece is not added) past `max_pieces` messages or `max_chars` characters."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT pieces FROM article_drafts WHERE id = ? AND state = 'collecting'", (draft_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise InvalidInput("Bản nháp này không còn nhận thêm nội dung.")
        pieces = list(json.loads(row[0]))
        if len(pieces) >= max_pieces:
            raise InvalidInput(
                f"Một bài tối đa {max_pieces} tin nhắn; tin này chưa được thêm. Hãy bấm [Xong]."
            )
        if sum(len(p) for p in pieces) + len(piece) > max_chars:
            raise InvalidInput(
                f"Bài đã tới giới hạn {max_chars:,} ký tự; tin này chưa được thêm."
                " Hãy bấm [Xong].".replace(",", ".")
            )
        pieces.append(piece)
        await conn.execute(
            "UPDATE article_drafts SET pieces = ?, updated_at = ? WHERE id = ?",
            (json.dumps(pieces, ensure_ascii=False), now, draft_id),
        )
    return len(pieces)


async def set_text(db: Database, draft_id: int, text: DraftText, now: int) -> None:
    """Replace a draft's text and digest (figures dropped so far are reset: new text, new
    figures); the draft goes (back) to review."""
    changed = await db.execute(
        "UPDATE article_drafts SET title = ?, date = ?, author = ?, caption = ?, body = ?,"
        " sentences = ?, summary = ?, figures = ?, dropped = ?, text_checksum = ?,"
        " state = 'review', pieces = '[]', updated_at = ?"
        " WHERE id = ? AND state IN ('collecting', 'review')",
        (*_text_values(text), now, draft_id),
    )
    if not changed:
        raise InvalidInput("Bản nháp này đã được đăng hoặc đã bỏ.")


_EDITABLE = frozenset({"title", "date", "topic", "summary", "dropped", "author", "caption"})


async def update_fields(db: Database, draft_id: int, now: int, **fields: Any) -> ArticleDraft:
    """Change reviewed fields (title, date, topic, summary, dropped…) of a draft under review."""
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    values = [json.dumps(list(v)) if k in ("summary", "dropped") else v for k, v in fields.items()]
    sets = ", ".join(f"{k} = ?" for k in fields)
    changed = await db.execute(
        f"UPDATE article_drafts SET {sets}, updated_at = ? WHERE id = ? AND state = 'review'",
        (*values, now, draft_id),
    )
    if not changed:
        raise InvalidInput("Bản nháp này đã được đăng hoặc đã bỏ.")
    return await get_draft(db, draft_id)


async def discard(
    db: Database, draft_id: int, *, actor_id: int | None, actor_role: str | None, now: int
) -> bool:
    """[🗑 Bỏ]: the draft is discarded (kept for the audit trail); False if already decided."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE article_drafts SET state = 'discarded', updated_at = ?"
            " WHERE id = ? AND state IN ('collecting', 'review')",
            (now, draft_id),
        ) as cur:
            ok = cur.rowcount > 0
        if ok:
            await record_audit(
                conn,
                at=now,
                actor_id=actor_id,
                actor_role=actor_role,
                action="newsroom.discard",
                target=draft_id,
            )
    return ok


async def waiting_drafts(db: Database, limit: int = 20) -> list[ArticleDraft]:
    """Drafts waiting for review, oldest first."""
    rows = await db.fetch_all(
        "SELECT * FROM article_drafts WHERE state = 'review' ORDER BY id LIMIT ?", (limit,)
    )
    return [_draft(r) for r in rows]


# ---------------------------------------------------------------- publishing


async def _taken(conn: aiosqlite.Connection, article_id: str) -> bool:
    async with conn.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)) as cur:
        return await cur.fetchone() is not None


async def _free_id(conn: aiosqlite.Connection, base: str) -> str:
    """`base`, or base-2, base-3… : the first id no article (file or database) holds."""
    if not await _taken(conn, base):
        return base
    for n in range(2, 1000):
        suffix = f"-{n}"
        stem = base
        while len(stem) + len(suffix) > 48 and "-" in stem:
            stem = stem.rsplit("-", 1)[0]  # whole words only
        candidate = stem[: 48 - len(suffix)] + suffix
        if not await _taken(conn, candidate):
            return candidate
    raise InvalidInput("Không tạo được mã bài mới; hãy đổi tiêu đề.")


def _corrections(draft: ArticleDraft) -> dict[str, Any]:
    """The editor's choices, stored with the article, with the digest they were made on
    (a later /suabai starts from them without re-running the digest)."""
    return {
        "summary_indices": list(draft.summary),
        "dropped_figures": [f.as_dict() for i, f in enumerate(draft.figures) if i in draft.dropped],
        "dropped": list(draft.dropped),
        "sentences": list(draft.sentences),
        "figures": [f.as_dict() for f in draft.figures],
        "text_checksum": draft.text_checksum,
        "draft_id": draft.id,
    }


@dataclass(frozen=True)
class ReviewedDigest:
    """A published article's digest and the editor's choices on it."""

    text: DraftText
    summary: tuple[int, ...]
    dropped: tuple[int, ...]


async def reviewed_digest(db: Database, article_id: str) -> ReviewedDigest | None:
    """The digest an article was published with (None when it has none stored)."""
    row = await db.fetch_one(
        "SELECT title, date, author, caption, body, corrections FROM articles WHERE id = ?",
        (article_id,),
    )
    if row is None:
        return None
    data = json.loads(row["corrections"] or "{}")
    if "sentences" not in data or "figures" not in data:
        return None
    summary = tuple(int(i) for i in data.get("summary_indices", []))
    text = DraftText(
        title=str(row["title"]),
        date=str(row["date"]),
        author=opt_str(row["author"]),
        caption=opt_str(row["caption"]),
        body=str(row["body"]),
        sentences=tuple(data["sentences"]),
        summary=summary,
        figures=tuple(_figure(f) for f in data["figures"]),
        checksum=str(data.get("text_checksum", "")),
    )
    return ReviewedDigest(text, summary, tuple(int(i) for i in data.get("dropped", [])))


@dataclass(frozen=True)
class Published:
    """What publishing did: the article id, and whether the text changed (corrections)."""

    article_id: str
    corrected: bool
    text_changed: bool
    notice_broadcast_id: int | None


async def publish(
    db: Database,
    draft_id: int,
    *,
    base_id: str,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
) -> Published:
    """Publish a draft under review into the articles table (and its search index) in one
    transaction; a correction draft (/suabai) replaces its article in place."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM article_drafts WHERE id = ? AND state = 'review'", (draft_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise InvalidInput("Bản nháp này đã được đăng hoặc đã bỏ.")
        draft = _draft(row)
        if not draft.title or not draft.body or not draft.date:
            raise InvalidInput("Bản nháp cần có tiêu đề, ngày và nội dung trước khi đăng.")
        tags = [draft.topic] if draft.topic else []
        values = (
            draft.title,
            draft.date,
            draft.author,
            draft.caption,
            draft.source if draft.source_kind in ("url", "feed") else None,
            json.dumps(tags, ensure_ascii=False),
            draft.body,
            json.dumps(list(draft.summary_sentences), ensure_ascii=False),
            json.dumps([f.as_dict() for f in draft.kept_figures], ensure_ascii=False),
            json.dumps(_corrections(draft), ensure_ascii=False),
            draft.text_checksum,
            now,
        )
        corrected = draft.target_id is not None
        text_changed = True
        notice: int | None = None
        if corrected:
            async with conn.execute(
                "SELECT rowid, body, origin, status, notice_broadcast_id FROM articles"
                " WHERE id = ?",
                (draft.target_id,),
            ) as cur:
                old = await cur.fetchone()
            if old is None or old[3] != "published":
                raise InvalidInput("Bài viết này không còn (đã gỡ hoặc đã xóa).")
            if old[2] != "db":
                raise InvalidInput("Bài này lấy từ tệp nội dung: hãy sửa tệp rồi /reload.")
            article_id = str(draft.target_id)
            text_changed = str(old[1]) != draft.body
            notice = old[4]
            rowid = int(old[0])
            await conn.execute(
                "UPDATE articles SET title = ?, date = ?, author = ?, caption = ?,"
                " source = COALESCE(?, source), tags = ?, body = ?, summary = ?, figures = ?,"
                " corrections = ?, checksum = ?, indexed_at = ? WHERE id = ?",
                (*values, article_id),
            )
            await conn.execute("DELETE FROM articles_fts WHERE rowid = ?", (rowid,))
        else:
            article_id = await _free_id(conn, base_id)
            async with conn.execute(
                "INSERT INTO articles (title, date, author, caption, source, tags, body,"
                " summary, figures, corrections, checksum, indexed_at, id, unit, path, origin,"
                " status, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL,"
                " '', 'db', 'published', ?)",
                (*values, article_id, actor_id),
            ) as cur:
                rowid = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
            (
                rowid,
                fold(draft.title),
                fold(f"{draft.body}\n{draft.caption or ''} {draft.author or ''}"),
            ),
        )
        await conn.execute(
            "UPDATE article_drafts SET state = 'published', article_id = ?, updated_at = ?"
            " WHERE id = ?",
            (article_id, now, draft_id),
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="newsroom.correct" if corrected else "newsroom.publish",
            target=article_id,
            detail={"draft": draft_id, "source": draft.source_kind, "text_changed": text_changed},
        )
    forget_cached(db)  # cards are served from memory (bot.store.articles)
    return Published(article_id, corrected, text_changed, notice)


async def set_notice(db: Database, article_id: str, broadcast_id: int) -> None:
    """The broadcast that announced an article (its copies are edited on corrections)."""
    await db.execute(
        "UPDATE articles SET notice_broadcast_id = ? WHERE id = ?", (broadcast_id, article_id)
    )


async def notice_of(db: Database, article_id: str) -> int | None:
    """The id of the broadcast that announced an article, if any."""
    value = await db.fetch_value(
        "SELECT notice_broadcast_id FROM articles WHERE id = ?", (article_id,)
    )
    return None if value is None else int(value)


@dataclass(frozen=True)
class ArticleState:
    """Origin and status of an article id."""

    origin: str
    status: str
    published_by: int | None


async def state_of(db: Database, article_id: str) -> ArticleState | None:
    """Where an article comes from, whether it is withdrawn, who published it; None if
    unknown."""
    row = await db.fetch_one(
        "SELECT origin, status, published_by FROM articles WHERE id = ?", (article_id,)
    )
    return None if row is None else ArticleState(str(row[0]), str(row[1]), opt_int(row[2]))


async def withdraw(
    db: Database, article_id: str, *, actor_id: int | None, actor_role: str | None, now: int
) -> int | None:
    """Hide an article from lists, search, inline mode and deep links (the row stays, the
    search index row goes); returns its notification broadcast id. NotFound / InvalidInput."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT rowid, status, notice_broadcast_id FROM articles WHERE id = ?", (article_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Không có bài viết «{quote(article_id, 60)}».")
        if row[1] == "withdrawn":
            raise InvalidInput("Bài viết này đã được gỡ trước đó.")
        await conn.execute(
            "UPDATE articles SET status = 'withdrawn', withdrawn_at = ? WHERE id = ?",
            (now, article_id),
        )
        await conn.execute("DELETE FROM articles_fts WHERE rowid = ?", (int(row[0]),))
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="newsroom.withdraw",
            target=article_id,
        )
    forget_cached(db)  # cards are served from memory (bot.store.articles)
    return None if row[2] is None else int(row[2])


async def database_articles(db: Database, *, include_withdrawn: bool = False) -> list[Article]:
    """Articles published from Telegram (origin 'db'), as content-file Articles."""
    sql = "SELECT * FROM articles WHERE origin = 'db'"
    if not include_withdrawn:
        sql += " AND status = 'published'"
    rows = await db.fetch_all(sql + " ORDER BY date, id")
    out = []
    for r in rows:
        out.append(
            Article(
                id=str(r["id"]),
                title=str(r["title"]),
                date=dt.date.fromisoformat(str(r["date"])),
                author=opt_str(r["author"]),
                caption=opt_str(r["caption"]),
                source=opt_str(r["source"]),
                tags=tuple(json.loads(r["tags"] or "[]")),
                unit=opt_str(r["unit"]),
                paragraphs=tuple(p for p in str(r["body"]).split("\n\n") if p.strip()),
            )
        )
    return out
