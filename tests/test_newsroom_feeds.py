"""The feeds worker against a local news site: RSS and Atom, ETag/304, an old item re-published
under a new guid, broken XML, 500s then recovery, pausing, `tudong` publishing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain import clock
from bot.services import Services
from bot.store import articles as article_store
from bot.store import feeds as store
from bot.store import newsroom
from bot.store.db import Database
from bot.workers.feeds import PAUSE_AFTER, FeedWorker, backoff
from tests.harness import make_settings
from tests.newsroom_site import NewsSite, atom, rss


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    server = NewsSite()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[FeedWorker]:
    settings = make_settings(
        tmp_path,
        "http://127.0.0.1:9/bot",
        fetch_allow_private=True,
        fetch_timeout=2,
        feed_interval=60,
    )
    db = Database(settings.db_path)
    await db.open()
    w = FeedWorker(Services(settings=settings, db=db))
    try:
        yield w
    finally:
        await w.stop()
        await db.close()


def _items(site: NewsSite, n: int) -> list[tuple[str, str, str, str]]:
    """RSS items linking to the site's article pages (short descriptions: the page is read)."""
    return [
        (f"guid-{a.slug}", site.url(f"/bai/{a.slug}.html"), a.title, a.paragraphs[0][:120])
        for a in site.articles[:n]
    ][::-1]


async def _due_now(w: FeedWorker) -> None:
    await w.svc.db.execute("UPDATE feeds SET next_poll_at = 0")


async def _add(w: FeedWorker, url: str, mode: str = "duyet", topic: str | None = None) -> int:
    return await store.add_feed(
        w.svc.db, url, topic=topic, mode=mode, actor_id=1, actor_role="admin", now=clock.now()
    )


async def test_rss_new_items_become_drafts_once(site: NewsSite, worker: FeedWorker) -> None:
    site.feeds["/rss.xml"] = rss(site.base, _items(site, 3))
    feed_id = await _add(worker, site.url("/rss.xml"), topic="tuyen-truyen")
    [result] = await worker.poll_due()
    assert result.status == "updated" and len(result.new_drafts) == 3
    drafts = await newsroom.waiting_drafts(worker.svc.db)
    assert [d.title for d in drafts] == [a.title for a in site.articles[:3]]  # oldest first
    d = drafts[0]
    assert d.source_kind == "feed" and d.feed_id == feed_id and d.topic == "tuyen-truyen"
    assert d.paragraphs == site.articles[0].paragraphs  # the page was read, not the summary
    assert await article_store.count(worker.svc.db) == 0  # duyet: nothing published

    # unchanged: the second poll is a conditional GET answered 304
    await _due_now(worker)
    [again] = await worker.poll_due()
    assert again.status == "unchanged" and site.not_modified == 1

    # one new item on top: only it is taken
    site.feeds["/rss.xml"] = rss(site.base, _items(site, 4))
    await _due_now(worker)
    [more] = await worker.poll_due()
    assert len(more.new_drafts) == 1
    assert len(await newsroom.waiting_drafts(worker.svc.db)) == 4


async def test_old_item_republished_under_new_guid_is_skipped(
    site: NewsSite, worker: FeedWorker
) -> None:
    items = _items(site, 2)
    site.etags = False  # a site without validators: a byte-identical body counts as unchanged
    site.feeds["/rss.xml"] = rss(site.base, items)
    await _add(worker, site.url("/rss.xml"))
    await worker.poll_due()
    await _due_now(worker)
    [same] = await worker.poll_due()
    assert same.status == "unchanged"
    guid, link, title, text = items[-1]
    site.feeds["/rss.xml"] = rss(
        site.base, [(guid + "-moi", link + "?utm_source=rss", title, text), *items]
    )
    await _due_now(worker)
    [result] = await worker.poll_due()
    assert result.new_drafts == () and result.skipped == 1
    assert len(await newsroom.waiting_drafts(worker.svc.db)) == 2


async def test_atom_full_content_and_tudong(site: NewsSite, worker: FeedWorker) -> None:
    a = site.articles[5]
    content = "".join(f"<p>{p}</p>" for p in a.paragraphs)
    site.feeds["/atom.xml"] = atom(
        site.base, [("urn:bai:5", site.url("/khong-can-tai"), a.title, content)]
    )
    await _add(worker, site.url("/atom.xml"), mode="tudong")
    [result] = await worker.poll_due()
    assert len(result.published) == 1 and not result.new_drafts
    article = await article_store.get(worker.svc.db, result.published[0])
    assert article is not None and article.title == a.title
    assert article.paragraphs == a.paragraphs
    assert "/khong-can-tai" not in site.hits  # full text in the feed: the page is not fetched
    hits = (await article_store.search(worker.svc.db, a.title, limit=5)).results
    assert [h.id for h in hits][:1] == [article.id]


async def test_failures_back_off_then_pause_and_recover(site: NewsSite, worker: FeedWorker) -> None:
    site.feeds["/rss.xml"] = rss(site.base, _items(site, 1))
    site.fail["/rss.xml"] = 2
    feed_id = await _add(worker, site.url("/rss.xml"))
    [r1] = await worker.poll_due()
    assert r1.status == "failed" and "500" in (r1.error or "")
    feed = await store.get_feed(worker.svc.db, feed_id)
    assert feed.failures == 1 and feed.next_poll_at >= clock.now() + backoff(60, 1) - 2
    assert await worker.poll_due() == []  # backing off: not due yet
    await _due_now(worker)
    await worker.poll_due()
    await _due_now(worker)
    [r3] = await worker.poll_due()  # recovered: the item is taken, failures reset
    assert r3.status == "updated" and len(r3.new_drafts) == 1
    assert (await store.get_feed(worker.svc.db, feed_id)).failures == 0

    # broken XML every time: paused after PAUSE_AFTER failures, nothing taken
    site.feeds["/hong.xml"] = "<rss><channel><item><title>Bài bị cắt"
    broken = await _add(worker, site.url("/hong.xml"))
    statuses = []
    for _ in range(PAUSE_AFTER):
        await _due_now(worker)
        statuses += [r.status for r in await worker.poll_due() if r.feed_id == broken]
    assert statuses == ["failed"] * (PAUSE_AFTER - 1) + ["paused"]
    assert (await store.get_feed(worker.svc.db, broken)).state == "paused"
    await _due_now(worker)
    assert [r for r in await worker.poll_due() if r.feed_id == broken] == []
    assert len(await newsroom.waiting_drafts(worker.svc.db)) == 1


async def test_slow_feed_and_unreadable_link_lose_nothing(
    site: NewsSite, worker: FeedWorker
) -> None:
    site.slow_seconds = 3
    site.feeds["/rss.xml"] = rss(
        site.base,
        [
            ("g-cham", site.url("/slow.html"), "Bài trên máy chủ chậm", "Tóm tắt ngắn."),
            *_items(site, 1),
        ],
    )
    await _add(worker, site.url("/rss.xml"))
    [r] = await worker.poll_due()
    assert len(r.new_drafts) == 1  # the readable item is taken; the slow one waits
    site.slow_seconds = 0
    await _due_now(worker)
    [again] = await worker.poll_due()
    assert again.status == "updated"  # not "unchanged": an item was left for later
    # /slow.html has no article at all: still not taken, retried at the next poll
    assert again.new_drafts == ()
    assert site.hits["/slow.html"] == 2


async def test_restamped_feed_is_not_parsed_again(
    site: NewsSite, worker: FeedWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.workers import feeds as feeds_worker

    parses: list[str] = []
    real = feeds_worker.parse_feed

    def counting(data: bytes, url: str) -> Any:
        parses.append(url)
        return real(data, url)

    monkeypatch.setattr(feeds_worker, "parse_feed", counting)
    site.etags = False
    site.stamp = True  # every answer differs (lastBuildDate), the items do not
    site.feeds["/rss.xml"] = rss(site.base, _items(site, 2))
    await _add(worker, site.url("/rss.xml"))
    [first] = await worker.poll_due()
    assert len(first.new_drafts) == 2 and len(parses) == 1
    for _ in range(2):
        await _due_now(worker)
        [again] = await worker.poll_due()
        assert again.status == "unchanged"
    assert len(parses) == 1 and site.stamps == 3
    # a new item: parsed, taken
    site.feeds["/rss.xml"] = rss(site.base, _items(site, 3))
    await _due_now(worker)
    [more] = await worker.poll_due()
    assert len(more.new_drafts) == 1 and len(parses) == 2
