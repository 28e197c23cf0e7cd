"""The feeds worker: polls each active RSS/Atom feed every LOA_FEED_INTERVAL seconds.

- Conditional GET (ETag / Last-Modified); a 200 whose body is byte-for-byte the last one
  is "unchanged" too (sites without validators), so an unchanged cycle parses nothing.
- New items are recognised by guid (else normalised link) and by text checksum (a site
  re-publishing an old item under a new guid); an item is remembered only once its draft
  exists, so a failure (the linked page did not load) is retried at the next poll.
- Errors back off (interval × 2^failures, at most 6 hours); after PAUSE_AFTER failures in
  a row the feed is paused and the admins are told.
- Mode `duyet` (default): drafts wait for review (the admins are told, /bannhap lists
  them); `tudong`: published at once, without a notification (trusted feeds).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.actions import newsroom as actions
from bot.actions.fetch import FetchError, fetch, new_session
from bot.domain import clock
from bot.domain.articles import RawParts, split_raw
from bot.domain.errors import LoaError
from bot.domain.sources import (
    FeedEntry,
    decode,
    page_parts,
    parse_feed,
    raw_item_ids,
    text_checksum,
)
from bot.services import Services
from bot.store import feeds as store

log = logging.getLogger(__name__)

PAUSE_AFTER = 5
MAX_BACKOFF = 6 * 3600.0
MAX_NEW_PER_POLL = 30  # a feed's first poll takes its newest items only
FULL_TEXT_CHARS = 400  # shorter feed text: the linked page is fetched for the article
FEED_ACCEPT = (
    "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.8,*/*;q=0.1"
)


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did."""

    feed_id: int
    status: str  # unchanged | updated | failed | paused
    new_drafts: tuple[int, ...] = ()
    published: tuple[str, ...] = ()
    skipped: int = 0
    error: str | None = None


def backoff(interval: float, failures: int) -> float:
    """Seconds to wait after `failures` failed polls in a row."""
    return float(min(MAX_BACKOFF, interval * (2 ** max(failures, 0))))


class FeedWorker:
    """Polls due feeds; one instance per bot (svc.features["feeds"])."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.bot: Any = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        # Per feed, the raw item identities of the last body fully taken (in memory: after
        # a restart the first poll of each feed parses once).
        self._taken_ids: dict[str, frozenset[bytes]] = {}  # by feed URL

    async def start(self, app: Any) -> None:
        """Start polling (called after the database opens)."""
        self.bot = app.bot
        self._task = asyncio.create_task(self._loop(), name="loa-feeds")

    async def stop(self) -> None:
        """Stop polling; a poll in flight is cancelled (its items are retried next time)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        """Poll now (a feed was added or resumed)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll_due()
            except Exception:
                log.exception("feeds cycle failed")
            nxt = await store.next_due_at(self.svc.db)
            delay = 30.0 if nxt is None else min(30.0, max(0.2, nxt - clock.now()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def session(self) -> aiohttp.ClientSession:
        """The shared HTTP session (connections reused across feeds)."""
        if self._session is None or self._session.closed:
            self._session = new_session(actions.fetch_limits(self.svc.settings))
        return self._session

    async def poll_due(self, concurrency: int = 8) -> list[PollResult]:
        """Poll every due feed (a few at once); what each poll did."""
        async with self._lock:
            due = await store.due_feeds(self.svc.db, clock.now())
            if not due:
                return []
            gate = asyncio.Semaphore(concurrency)

            async def one(feed: store.Feed) -> PollResult:
                async with gate:
                    return await self.poll(feed)

            results = list(await asyncio.gather(*(one(f) for f in due)))
        await self._tell_admins(results)
        return results

    async def poll(self, feed: store.Feed) -> PollResult:
        """Poll one feed (conditional GET), make drafts of new items; never raises."""
        svc = self.svc
        interval = svc.settings.feed_interval
        now = clock.now()
        try:
            result = await fetch(
                feed.url,
                actions.fetch_limits(svc.settings),
                etag=feed.etag,
                last_modified=feed.last_modified,
                accept=FEED_ACCEPT,
                session=self.session(),
            )
            if result.status == 304:
                await store.record_success(
                    svc.db,
                    feed.id,
                    etag=None,
                    last_modified=None,
                    body_hash=None,
                    next_poll_at=now + interval,
                    now=now,
                )
                return PollResult(feed.id, "unchanged")
            body_hash = hashlib.sha256(result.body).hexdigest()
            if body_hash == feed.body_hash:
                await store.record_success(
                    svc.db,
                    feed.id,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    body_hash=None,
                    next_poll_at=now + interval,
                    now=now,
                )
                return PollResult(feed.id, "unchanged")
            raw_ids = raw_item_ids(result.body)
            if raw_ids is not None and raw_ids <= self._taken_ids.get(feed.url, frozenset()):
                # a new body (a re-stamped date, reordered items) but no item it has not
                # given before: nothing to parse
                await store.record_success(
                    svc.db,
                    feed.id,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    body_hash=body_hash,
                    next_poll_at=now + interval,
                    now=now,
                )
                return PollResult(feed.id, "unchanged")
            entries = await asyncio.to_thread(parse_feed, result.body, result.url)
            drafts, published, skipped, complete = await self._take(feed, entries)
            if complete and raw_ids is not None:
                self._taken_ids[feed.url] = raw_ids
            await store.record_success(
                svc.db,
                feed.id,
                etag=result.etag if complete else None,
                last_modified=result.last_modified if complete else None,
                # an item left for later must not make the next identical body "unchanged"
                body_hash=body_hash if complete else "",
                next_poll_at=now + interval,
                now=now,
            )
            return PollResult(feed.id, "updated", tuple(drafts), tuple(published), skipped)
        except (LoaError, aiohttp.ClientError, ValueError) as exc:
            # stored and shown as plain text (escaped where shown): user_message is HTML
            message = getattr(exc, "user_message", None)
            error = html.unescape(message) if message else f"{type(exc).__name__}: {exc}"
            paused = await store.record_failure(
                svc.db,
                feed.id,
                error=str(error),
                next_poll_at=now + backoff(interval, feed.failures + 1),
                now=now,
                pause_after=PAUSE_AFTER,
            )
            log.warning("feed %s failed (%s)%s", feed.id, error, " — paused" if paused else "")
            return PollResult(feed.id, "paused" if paused else "failed", error=str(error))

    async def _take(
        self, feed: store.Feed, entries: list[FeedEntry]
    ) -> tuple[list[int], list[str], int, bool]:
        svc = self.svc
        known = await store.known_items(svc.db, feed.id, (e.key for e in entries))
        fresh = [e for e in entries if e.key not in known]
        seen_keys: set[str] = set()
        fresh = [e for e in fresh if not (e.key in seen_keys or seen_keys.add(e.key))]  # type: ignore[func-returns-value]
        skipped = 0
        if len(fresh) > MAX_NEW_PER_POLL and not known:
            # A feed's first poll: take the newest items, remember the older ones as seen.
            for e in fresh[MAX_NEW_PER_POLL:]:
                await store.remember_item(svc.db, feed.id, e.key, "", None, clock.now())
            skipped += len(fresh) - MAX_NEW_PER_POLL
            fresh = fresh[:MAX_NEW_PER_POLL]
        drafts: list[int] = []
        published: list[str] = []
        complete = True
        for entry in reversed(fresh):  # oldest first, as the site published them
            try:
                parts = await self._parts(entry)
            except (LoaError, ValueError) as exc:  # one item's page or text, not the feed
                log.info("feed %s item %s not taken yet: %s", feed.id, entry.key, exc)
                complete = False
                continue
            checksum = text_checksum(parts.title, "\n\n".join(parts.paragraphs))
            if await store.checksum_seen(svc.db, checksum):
                await store.remember_item(svc.db, feed.id, entry.key, checksum, None, clock.now())
                skipped += 1
                continue
            try:
                draft_id = await actions.draft_from_parts(
                    svc,
                    parts,
                    source_kind="feed",
                    source=entry.link,
                    date=entry.published,
                    topic=feed.topic,
                    feed_id=feed.id,
                    created_by=None,
                )
            except LoaError as exc:
                # an item that can never be a draft (longer than any article may be): it
                # is remembered, so it is not fetched again on every poll
                log.warning("feed %s item %s skipped: %s", feed.id, entry.key, exc)
                await store.remember_item(svc.db, feed.id, entry.key, checksum, None, clock.now())
                skipped += 1
                continue
            if not await store.remember_item(
                svc.db, feed.id, entry.key, checksum, draft_id, clock.now()
            ):
                continue
            if feed.mode == "tudong":
                try:
                    result = await actions.publish(svc, draft_id, None, "feed")
                    published.append(result.article_id)
                except LoaError as exc:
                    log.warning("feed %s: automatic publishing refused: %s", feed.id, exc)
                    drafts.append(draft_id)
            else:
                drafts.append(draft_id)
        return drafts, published, skipped, complete

    async def _parts(self, entry: FeedEntry) -> RawParts:
        """The item's article: the feed's own text when it is the full article, else the
        linked page extracted (a short summary is used when the page has no article)."""
        if len(entry.text) >= FULL_TEXT_CHARS or not entry.link:
            if not entry.title or not entry.text:
                raise LoaError("mục tin không có tiêu đề hoặc nội dung")
            return split_raw(f"{entry.title}\n{entry.text}")
        result = await fetch(
            entry.link, actions.fetch_limits(self.svc.settings), session=self.session()
        )
        if result.content_type not in actions.HTML_TYPES:
            raise FetchError(f"liên kết không phải trang web ({result.content_type})")
        page = await asyncio.to_thread(page_parts, decode(result.body, result.charset), result.url)
        return page.parts

    async def _tell_admins(self, results: list[PollResult]) -> None:
        lines: list[str] = []
        buttons: list[list[InlineKeyboardButton]] = []
        for r in results:
            if r.status == "paused":
                feed = await store.get_feed(self.svc.db, r.feed_id)
                lines.append(
                    f"⏸ Nguồn tin #{feed.id} ({html.escape(feed.url)}) lỗi {PAUSE_AFTER} lần"
                    f" liên tiếp nên đã tạm dừng: {html.escape(r.error or '?')}\n"
                    f"Bật lại: /nguontin tiep {feed.id}"
                )
            if r.new_drafts:
                lines.append(
                    f"🗞 Nguồn tin #{r.feed_id}: {len(r.new_drafts)} bản nháp mới"
                    " chờ duyệt (/bannhap)."
                )
                buttons += [
                    [InlineKeyboardButton(f"Xem bản nháp #{d}", callback_data=f"nr:open:{d}")]
                    for d in r.new_drafts[:5]
                ]
            if r.published:
                lines.append(f"✅ Nguồn tin #{r.feed_id}: đã tự động đăng {len(r.published)} bài.")
        if not lines or self.bot is None:
            return
        text = actions.fit_lines("\n\n".join(lines).split("\n"))
        markup = InlineKeyboardMarkup(buttons[:20]) if buttons else None
        settings = self.svc.settings
        targets = [settings.admin_chat_id] if settings.admin_chat_id else sorted(settings.admin_ids)
        for chat_id in targets:
            try:
                await self.bot.send_message(chat_id, text, reply_markup=markup)
            except TelegramError as exc:
                log.warning("cannot tell admins about feeds in %s: %s", chat_id, exc)
