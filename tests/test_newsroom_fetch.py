"""The bounded fetch against a local news site: schemes, private addresses, redirects,
size and time limits, non-HTML answers, charsets, drafts from URLs."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.actions import newsroom as actions
from bot.actions.fetch import MAX_REDIRECTS, FetchError, FetchLimits, check_url, fetch
from bot.services import Services
from bot.store import newsroom as store
from bot.store.db import Database
from tests.harness import make_settings
from tests.newsroom_site import NewsSite

OPEN = FetchLimits(max_bytes=2_000_000, timeout=2.0, allow_private=True)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    server = NewsSite()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    settings = make_settings(
        tmp_path, "http://127.0.0.1:9/bot", fetch_allow_private=True, fetch_timeout=2
    )
    db = Database(settings.db_path)
    await db.open()
    try:
        yield Services(settings=settings, db=db)
    finally:
        await db.close()


async def test_private_and_loopback_refused_unless_allowed(site: NewsSite) -> None:
    closed = FetchLimits(max_bytes=2_000_000, timeout=2.0, allow_private=False)
    page = site.url(f"/bai/{site.articles[0].slug}.html")
    with pytest.raises(FetchError, match="nội bộ"):
        await fetch(page, closed)
    for url in (
        "http://localhost:1/",
        "http://10.0.0.1/",
        "http://[::1]:80/",
        "http://169.254.169.254/",
    ):
        with pytest.raises(FetchError, match="nội bộ"):
            await fetch(url, closed)
    # a name (not a literal) resolving to a non-public address (this machine's own name):
    # refused by the connector's resolver, before any connection
    port = site.base.rsplit(":", 1)[1]
    name = socket.gethostname()
    try:
        own = {a[4][0] for a in socket.getaddrinfo(name, None)}
    except OSError:
        own = set()
    if own and not any(ipaddress.ip_address(a).is_global for a in own):
        with pytest.raises(FetchError, match="nội bộ"):
            await fetch(f"http://{name}:{port}/bai/x.html", closed)
    assert site.hits == {}  # nothing reached the server
    assert (await fetch(page, OPEN)).status == 200


def test_address_forms_checked_before_any_request() -> None:
    """Shorthand IPv4 forms the C resolver accepts, a trailing dot, IPv4-mapped IPv6."""
    for url in (
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://localhost./",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
    ):
        with pytest.raises(FetchError, match="nội bộ"):
            check_url(url, allow_private=False)
    with pytest.raises(FetchError, match="quá dài"):
        check_url("https://x.vn/" + "a" * 600, allow_private=False)
    with pytest.raises(FetchError, match="không hợp lệ"):
        check_url("http://x.vn:port/", allow_private=False)
    assert check_url("https://baochinhphu.vn/tin.htm", allow_private=False)


async def test_only_http_and_https() -> None:
    for url in ("file:///etc/passwd", "ftp://x.vn/a", "javascript:alert(1)", "gopher://x"):
        with pytest.raises(FetchError, match="http"):
            await fetch(url, OPEN)


async def test_redirects_followed_then_bounded(site: NewsSite) -> None:
    ok = await fetch(site.url(f"/chuyen/{MAX_REDIRECTS - 1}"), OPEN)
    assert ok.status == 200 and ok.url.endswith(".html")
    with pytest.raises(FetchError, match="chuyển hướng"):
        await fetch(site.url(f"/chuyen/{MAX_REDIRECTS}"), OPEN)


async def test_size_time_and_type_limits(site: NewsSite) -> None:
    small = FetchLimits(max_bytes=100_000, timeout=2.0, allow_private=True)
    with pytest.raises(FetchError, match="quá lớn"):
        await fetch(site.url("/huge.html"), small)
    site.slow_seconds = 3
    quick = FetchLimits(max_bytes=100_000, timeout=0.5, allow_private=True)
    with pytest.raises(FetchError, match="thời gian"):
        await fetch(site.url("/slow.html"), quick)
    with pytest.raises(FetchError, match="lỗi 404"):
        await fetch(site.url("/khong-co.html"), OPEN)


async def test_user_agent_and_conditional_get(site: NewsSite) -> None:
    site.feeds["/rss.xml"] = "<rss version='2.0'><channel><title>t</title></channel></rss>"
    first = await fetch(site.url("/rss.xml"), OPEN)
    assert first.etag and first.last_modified
    again = await fetch(site.url("/rss.xml"), OPEN, etag=first.etag)
    assert again.status == 304 and site.not_modified == 1


async def test_draft_from_url_and_refusals(site: NewsSite, svc: Services) -> None:
    a = site.articles[1]
    draft_id = await actions.draft_from_url(svc, site.url(f"/bai/{a.slug}.html"), 1)
    draft = await store.get_draft(svc.db, draft_id)
    assert draft.title == a.title and draft.date == "2022-04-08"
    assert draft.source_kind == "url" and draft.source and draft.source.endswith(".html")
    assert draft.paragraphs == a.paragraphs
    assert draft.summary and draft.figures
    with pytest.raises(FetchError, match="không phải trang web"):
        await actions.draft_from_url(svc, site.url("/van-ban.pdf"), 1)
    # the page declares windows-1258 in a meta tag only
    draft_id = await actions.draft_from_url(svc, site.url("/cp1258.html"), 1)
    assert (await store.get_draft(svc.db, draft_id)).title == site.articles[0].title
