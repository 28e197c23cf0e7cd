"""Articles in SQLite: syncing from content files, listing, folded full-text search, reads."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from array import array
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.domain.articles import Article, digest, load_directory
from bot.domain.errors import ContentError
from bot.domain.figures import Figure
from bot.domain.text import fold
from bot.store.db import Database
from bot.store.rows import as_str, opt_str

log = logging.getLogger(__name__)

MAX_QUERY_TOKENS = 12
MAX_TOKEN_LENGTH = 40
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class StoredArticle:
    """An indexed article with its precomputed digest."""

    id: str
    title: str
    date: str  # YYYY-MM-DD
    author: str | None
    caption: str | None
    source: str | None
    tags: tuple[str, ...]
    unit: str | None
    body: str
    summary: tuple[str, ...]
    figures: tuple[Figure, ...]
    path: str

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs."""
        return [p for p in self.body.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class ArticleHeader:
    """What a list or search result shows."""

    id: str
    title: str
    date: str


@dataclass(frozen=True)
class SyncResult:
    """What a sync changed; errors are "path:line: message"."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    errors: tuple[str, ...]

    @property
    def total(self) -> int:
        """Articles indexed after the sync."""
        return len(self.added) + len(self.changed) + self.unchanged


def articles_dir(content_dir: Path) -> Path:
    """Where article files live under LOA_CONTENT_DIR."""
    return Path(content_dir) / "articles"


def _prepare(folder: Path, known: dict[str, str], k: int) -> tuple[list[tuple], list[ContentError]]:
    """Load files and digest the new/changed ones (CPU work, run in a thread)."""
    articles, errors = load_directory(folder)
    rows: list[tuple] = []
    for a in articles:
        if known.get(a.id) == a.checksum:
            rows.append((a, None))
            continue
        d = digest(a.paragraphs, a.title, k)
        rows.append((a, d))
    return rows, errors


def _search_text(a: Article) -> tuple[str, str]:
    extra = " ".join(x for x in (a.caption, a.author, a.unit, " ".join(a.tags)) if x)
    return fold(a.title), fold(f"{a.body}\n{extra}")


async def sync(db: Database, folder: Path, *, summary_sentences: int, now: int) -> SyncResult:
    """Make the articles tables match the files in `folder` (added/changed/removed)."""
    rows = await db.fetch_all("SELECT id, checksum, origin FROM articles")
    known = {str(r["id"]): str(r["checksum"]) for r in rows if r["origin"] == "file"}
    published = {str(r["id"]) for r in rows if r["origin"] != "file"}
    prepared, errors = await asyncio.to_thread(_prepare, folder, known, summary_sentences)
    # Ids are unique across files and the database (newsroom, issue 12): a file claiming
    # the id of an article published from Telegram is reported, never silently preferred.
    clashes = [(a, d) for a, d in prepared if a.id in published]
    prepared = [(a, d) for a, d in prepared if a.id not in published]
    errors = list(errors) + [
        ContentError(
            a.path or a.id,
            1,
            f"id '{a.id}' is already used by an article published from Telegram"
            " (rename the file's id, or withdraw that article)",
        )
        for a, _ in clashes
    ]
    for err in errors:
        log.warning("skipping broken article file %s", err)
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    present = {a.id for a, _ in prepared}
    removed = sorted(set(known) - present)
    async with db.transaction() as conn:
        for article, dig in prepared:
            if dig is None:
                unchanged += 1
                continue
            values = (
                article.title,
                article.date.isoformat(),
                article.author,
                article.caption,
                article.source,
                json.dumps(list(article.tags), ensure_ascii=False),
                article.unit,
                article.body,
                json.dumps(list(dig.summary), ensure_ascii=False),
                json.dumps([f.as_dict() for f in dig.figures], ensure_ascii=False),
                article.path,
                article.checksum,
                now,
            )
            title_folded, body_folded = _search_text(article)
            if article.id in known:
                await conn.execute(
                    "UPDATE articles SET title=?, date=?, author=?, caption=?, source=?, tags=?,"
                    " unit=?, body=?, summary=?, figures=?, path=?, checksum=?, indexed_at=?"
                    " WHERE id=?",
                    (*values, article.id),
                )
                async with conn.execute(
                    "SELECT rowid, status FROM articles WHERE id=?", (article.id,)
                ) as cur:
                    row = await cur.fetchone()
                # listed in `known` (an UPDATE of a missing row would be a lost sync race)
                assert row is not None
                rowid = row[0]
                await conn.execute("DELETE FROM articles_fts WHERE rowid=?", (rowid,))
                changed.append(article.id)
                if row[1] == "withdrawn":  # a withdrawn file article stays out of search
                    continue
            else:
                cur = await conn.execute(
                    "INSERT INTO articles (title, date, author, caption, source, tags, unit, body,"
                    " summary, figures, path, checksum, indexed_at, id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, article.id),
                )
                rowid = cur.lastrowid
                added.append(article.id)
            await conn.execute(
                "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
                (rowid, title_folded, body_folded),
            )
        for article_id in removed:
            async with conn.execute("SELECT rowid FROM articles WHERE id=?", (article_id,)) as cur:
                row = await cur.fetchone()
            if row is not None:
                await conn.execute("DELETE FROM articles_fts WHERE rowid=?", (row[0],))
            await conn.execute("DELETE FROM articles WHERE id=?", (article_id,))
    forget_cached(db)
    return SyncResult(
        added=tuple(added),
        changed=tuple(changed),
        removed=tuple(removed),
        unchanged=unchanged,
        errors=tuple(str(e) for e in errors),
    )


def _figure(data: dict) -> Figure:
    fields = Figure.__dataclass_fields__
    return Figure(**{k: v for k, v in data.items() if k in fields})


def _article(row: aiosqlite.Row) -> StoredArticle:
    return StoredArticle(
        id=as_str(row["id"]),
        title=as_str(row["title"]),
        date=as_str(row["date"]),
        author=opt_str(row["author"]),
        caption=opt_str(row["caption"]),
        source=opt_str(row["source"]),
        tags=tuple(json.loads(row["tags"] or "[]")),
        unit=opt_str(row["unit"]),
        body=as_str(row["body"]),
        summary=tuple(json.loads(row["summary"] or "[]")),
        figures=tuple(_figure(f) for f in json.loads(row["figures"] or "[]")),
        path=as_str(row["path"]),
    )


# Published articles parsed from their rows, by id: read on every card and button.
# Whatever writes the articles table calls forget_cached() after its commit: sync() here,
# publishing and withdrawal in bot.store.newsroom. Unknown ids are not cached (forged
# ids cannot fill it).
_CACHE_MAX = 20_000


def _cached(db: Database) -> dict[str, StoredArticle]:
    cache: dict[str, StoredArticle] = db.memo.setdefault("articles", {})
    return cache


def forget_cached(db: Database) -> None:
    """The articles table changed: parse rows again on their next read, search again.

    The maps are dropped, not emptied: a read that started before the change (the web
    console reads through its own connection) fills the map it took, no longer in use."""
    db.memo.pop("articles", None)
    db.memo.pop("search", None)


async def get(db: Database, article_id: str) -> StoredArticle | None:
    """One published article by id, or None (withdrawn articles are hidden); from memory
    after its first read (issue 17)."""
    cache = _cached(db)
    article = cache.get(article_id)
    if article is not None:
        return article
    row = await db.fetch_one(
        "SELECT * FROM articles WHERE id = ? AND status = 'published'", (article_id,)
    )
    if row is None:
        return None
    article = _article(row)
    if len(cache) < _CACHE_MAX:
        cache[article_id] = article
    return article


async def is_withdrawn(db: Database, article_id: str) -> bool:
    """True when the article exists but was withdrawn (/gobai)."""
    value = await db.fetch_value("SELECT status FROM articles WHERE id = ?", (article_id,))
    return value == "withdrawn"


async def title_of(db: Database, article_id: str) -> str | None:
    """An article's title, or None when there is no such article."""
    article = await get(db, article_id)
    return None if article is None else article.title


async def count(db: Database) -> int:
    """Number of published articles."""
    return int(
        await db.fetch_value("SELECT COUNT(*) FROM articles WHERE status = 'published'") or 0
    )


async def latest(db: Database, *, limit: int, offset: int = 0) -> list[ArticleHeader]:
    """Newest published first (by date, then id)."""
    rows = await db.fetch_all(
        "SELECT id, title, date FROM articles WHERE status = 'published'"
        " ORDER BY date DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [ArticleHeader(r["id"], r["title"], r["date"]) for r in rows]


def query_tokens(query: str) -> list[str]:
    """The folded search words of a user query (no FTS syntax can survive this)."""
    tokens = [t for t in _TOKEN.findall(fold(query)) if len(t) <= MAX_TOKEN_LENGTH]
    seen: list[str] = []
    for t in tokens:
        if t not in seen:
            seen.append(t)
    return seen[:MAX_QUERY_TOKENS]


# Search-as-you-type (inline mode, the console) matches the last word as a prefix, but
# only from this many characters on. FTS5 has no prefix index here, so "t"* merges the
# position lists of every word starting with t — four times per query (count, window,
# bm25's document frequencies): 75 ms typical and up to 0.6 s at 10,000 articles, "tu"*
# 23 ms, "tuy"* 6 ms (BENCHMARKS.md "Performance"). A shorter last word is matched whole:
# in Vietnamese one- and two-letter words are mostly whole syllables (ở, là, về, tư, I).
MIN_PREFIX = 3


def match_expression(tokens: list[str], *, any_word: bool = False, prefix: bool = False) -> str:
    """An FTS5 MATCH string built from folded tokens: each is a quoted string, so quotes,
    asterisks, NEAR, AND/OR/NOT typed by users are plain words. `prefix`: the last token
    also matches longer words (from MIN_PREFIX characters on)."""
    parts = [f'"{t}"' for t in tokens]
    if prefix and parts and len(tokens[-1]) >= MIN_PREFIX:
        parts[-1] += "*"
    return (" OR " if any_word else " ").join(parts)


@dataclass(frozen=True)
class SearchPage:
    """One page of search results; `approximate`: no article had every word."""

    results: list[ArticleHeader]
    total: int
    approximate: bool


# Ranking a match costs a bm25 evaluation over that article's hits (~5-10 µs on the
# 2-core machine): a common word over 10,000 articles took 25-50 ms to rank. So only the
# RANK_WINDOW most recently indexed matches are ranked (bm25, title 5×; ties newest
# first), and the older matches follow them newest first; every match is counted. With
# fewer matches than the window (any office's usual collection) every match is ranked.
# rowid is the indexing order: files are indexed sorted by name, ids start with the date,
# and a new file gets the next rowid. 300 = 60 pages of /search, 30 of inline mode.
RANK_WINDOW = 300

# The window's rowids in rank order, each with the count of every match (one trip). The
# window = the newest RANK_WINDOW matches: FTS5 walks the matches newest first and stops
# there (LIMIT), and bm25 is evaluated only for the rows it returns; then they are sorted
# by rank. (A separate "rowid of the 300th newest match" subquery cost a third pass over
# the matches, ~0.3 ms.) The count is a non-correlated subquery: evaluated once.
_RANKED = (
    "SELECT rowid, (SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH :q) FROM ("
    "SELECT rowid, bm25(articles_fts, 5.0, 1.0) AS score FROM articles_fts"
    " WHERE articles_fts MATCH :q ORDER BY rowid DESC LIMIT :window) ORDER BY score, rowid DESC"
)
_PAGE_OLDER = (
    "SELECT a.id, a.title, a.date FROM (SELECT rowid FROM articles_fts"
    " WHERE articles_fts MATCH :q AND rowid < :floor ORDER BY rowid DESC"
    " LIMIT :limit OFFSET :offset) f JOIN articles a ON a.rowid = f.rowid"
    " AND a.status = 'published' ORDER BY f.rowid DESC"
)

# A query's count and ranked window, by (match expression, window), cleared with the
# parsed articles by forget_cached(). The count (1-2 ms at 10,000 articles) and bm25 over
# the window (2-4 ms, most of it bm25's document frequencies, computed per query) are
# what a search costs; a /search page button, inline mode's scrolling and the same words
# typed again repeat them (issue 17). Bounded (least recently used out), so strangers'
# queries cannot grow it: 256 windows of 300 rowids are 0.6 MB.
_MATCHES_MAX = 256


@dataclass(frozen=True)
class _Matches:
    """Every match counted, and the ranked window's rowids best first."""

    total: int
    ranked: array[int]

    @property
    def floor(self) -> int:
        """Older matches than this rowid are not ranked (0: every match is ranked)."""
        return min(self.ranked) if self.total > len(self.ranked) else 0


async def _matches(db: Database, expr: str) -> _Matches:
    cache: dict[tuple[str, int], _Matches] = db.memo.setdefault("search", {})
    key = (expr, RANK_WINDOW)
    found = cache.pop(key, None)
    if found is None:
        rows = await db.fetch_all(_RANKED, {"q": expr, "window": RANK_WINDOW})
        total = int(rows[0][1]) if rows else 0
        ranked = array("q", (int(r[0]) for r in rows))
        found = _Matches(total, ranked)
        if len(cache) >= _MATCHES_MAX:
            del cache[next(iter(cache))]
    cache[key] = found
    return found


async def search(
    db: Database, query: str, *, limit: int, offset: int = 0, prefix: bool = False
) -> SearchPage:
    """Ranked results (bm25, title weighted 5×) for all words, else for any word; only
    the newest RANK_WINDOW matches are ranked, older ones follow (see RANK_WINDOW)."""
    tokens = query_tokens(query)
    if not tokens:
        return SearchPage([], 0, False)
    for any_word in (False, True):
        if any_word and len(tokens) == 1:
            break
        expr = match_expression(tokens, any_word=any_word, prefix=prefix)
        matches = await _matches(db, expr)
        if matches.total:
            results = await _search_page(db, expr, matches, limit=limit, offset=offset)
            return SearchPage(results, matches.total, any_word)
    return SearchPage([], 0, False)


async def _search_page(
    db: Database, expr: str, matches: _Matches, *, limit: int, offset: int
) -> list[ArticleHeader]:
    ranked = max(0, min(limit, RANK_WINDOW - offset))
    results: list[ArticleHeader] = []
    shown = list(matches.ranked[offset : offset + ranked])
    if shown:
        marks = ", ".join("?" * len(shown))
        rows = await db.fetch_all(
            f"SELECT rowid, id, title, date FROM articles WHERE rowid IN ({marks})"
            " AND status = 'published'",
            shown,
        )
        by_rowid = {int(r[0]): ArticleHeader(r["id"], r["title"], r["date"]) for r in rows}
        results += [by_rowid[rowid] for rowid in shown if rowid in by_rowid]
    if limit > ranked and matches.total > RANK_WINDOW:
        params = {
            "q": expr,
            "floor": matches.floor,
            "limit": limit - ranked,
            "offset": max(0, offset - RANK_WINDOW),
        }
        rows = await db.fetch_all(_PAGE_OLDER, params)
        results += [ArticleHeader(r["id"], r["title"], r["date"]) for r in rows]
    return results


async def record_read(db: Database, article_id: str, day: str, *, fulltext: bool) -> None:
    """Count one card open (or full-text open) of an article on a local day."""
    await record_reads(db, {(article_id, day): (0, 1) if fulltext else (1, 0)})


async def record_reads(db: Database, counts: dict[tuple[str, str], tuple[int, int]]) -> None:
    """Add {(article id, day): (card opens, full-text opens)} in one transaction."""
    if not counts:
        return
    await db.executemany(
        "INSERT INTO article_reads (article_id, day, card_opens, fulltext_opens)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (article_id, day) DO UPDATE SET"
        " card_opens = card_opens + excluded.card_opens,"
        " fulltext_opens = fulltext_opens + excluded.fulltext_opens",
        [(a, d, c, f) for (a, d), (c, f) in counts.items()],
    )


class ReadCounter:
    """Card and full-text opens counted in memory and written in batches.

    A read is statistics, not a promise to anyone: writing each in its own transaction
    cost four trips to the database thread per open (issue 17). Counts reach the table
    within `interval` seconds (flush() from a timer) and at shutdown; a crash loses at
    most that interval's counts.
    """

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self._pending: dict[tuple[str, str], tuple[int, int]] = {}

    def add(self, article_id: str, day: str, *, fulltext: bool) -> bool:
        """Count one open; True when enough are pending to flush now."""
        key = (article_id, day)
        cards, full = self._pending.get(key, (0, 0))
        self._pending[key] = (cards, full + 1) if fulltext else (cards + 1, full)
        return len(self._pending) >= self.max_pending

    async def flush(self, db: Database) -> None:
        """Write what is pending (kept for the next flush if the write fails)."""
        pending, self._pending = self._pending, {}
        try:
            await record_reads(db, pending)
        except BaseException:
            for key, (c, f) in pending.items():
                cards, full = self._pending.get(key, (0, 0))
                self._pending[key] = (cards + c, full + f)
            raise
