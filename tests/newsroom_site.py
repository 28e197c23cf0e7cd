"""A local news website for the newsroom tests: realistic Vietnamese article pages
(navigation, breadcrumbs, related links, comment form and comments, footer), RSS 2.0 and
Atom feeds with ETag/Last-Modified, and the hostile cases (broken XML, 500s, a slow server,
a huge page, a PDF, redirect chains, a page in windows-1258)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

DATA = Path(__file__).parent / "data" / "articles"


@dataclass
class RawArticle:
    """A sample article split into what a news site shows."""

    slug: str
    title: str
    caption: str
    paragraphs: list[str]
    author: str


def sample_articles() -> list[RawArticle]:
    """The raw samples of tests/data/articles as site articles."""
    out = []
    for path in sorted(DATA.glob("*.txt")):
        lines = [x.strip() for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]
        lines = [x for x in lines if not x.startswith("Ý kiến")]
        title, caption, *body = lines
        author = body.pop() if body and body[-1].isupper() else "PV"
        body[0] = body[0].lstrip("–- ").strip()
        out.append(RawArticle(path.stem, title, caption, body, author))
    return out


def article_page(a: RawArticle, day: str = "08/04/2022", charset: str = "utf-8") -> str:
    """A Vietnamese provincial-news page: the article among everything else a site shows."""
    nav = "".join(
        f'<li><a href="/chuyen-muc/{i}">{name}</a></li>'
        for i, name in enumerate(
            [
                "Trang chủ",
                "Thời sự",
                "Chính trị",
                "Kinh tế",
                "Xã hội",
                "Văn hóa",
                "Thể thao",
                "Quốc phòng - An ninh",
                "Pháp luật",
                "Bạn đọc",
            ]
        )
    )
    related = "".join(
        f'<li><a href="/bai/lien-quan-{i}.html">Hội nghị sơ kết công tác tuyên giáo'
        f" 6 tháng đầu năm tại huyện số {i}</a></li>"
        for i in range(8)
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
    comments = "".join(
        f'<div class="comment"><b>Bạn đọc {i}</b><p>Bài viết rất hay, cảm ơn quý báo đã'
        f" thông tin kịp thời về hoạt động của địa phương.</p></div>"
        for i in range(3)
    )
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="{charset}">
<title>{html.escape(a.title)} - Báo Lạng Sơn điện tử</title>
<meta property="og:title" content="{html.escape(a.title)}">
<meta name="author" content="{html.escape(a.author)}">
<meta property="article:published_time" content="2022-04-08T09:15:00+07:00">
</head><body>
<header class="site-header"><div class="logo">BÁO LẠNG SƠN</div>
<nav class="main-menu"><ul>{nav}</ul></nav>
<div class="search"><form action="/tim-kiem"><input name="q" placeholder="Tìm kiếm"></form></div>
</header>
<div class="breadcrumb"><a href="/">Trang chủ</a> » <a href="/chuyen-muc/2">Chính trị</a></div>
<main><article class="detail">
<h1 class="title">{html.escape(a.title)}</h1>
<div class="meta"><span class="date">Thứ Sáu, {day} 09:15</span>
<div class="share">Chia sẻ: Facebook | Zalo | In bài</div></div>
<figure><img src="/anh/1.jpg" alt="{html.escape(a.caption)}">
<figcaption>{html.escape(a.caption)}</figcaption></figure>
<div class="content">{body}<p class="author"><strong>{html.escape(a.author)}</strong></p></div>
</article>
<section class="related"><h3>Tin liên quan</h3><ul>{related}</ul></section>
<section class="comments"><h3>Ý kiến bạn đọc (3)</h3>{comments}
<form class="comment-form"><textarea name="noi_dung">Nhập ý kiến của bạn</textarea>
<input name="ho_ten" placeholder="Họ và tên"><button>Gửi ý kiến</button></form></section>
</main>
<footer><p>Cơ quan chủ quản: Tỉnh ủy Lạng Sơn. Giấy phép số 123/GP-BTTTT.</p>
<p>Địa chỉ: Số 1 đường Hùng Vương, thành phố Lạng Sơn. Điện thoại: 0205 3812 345.</p>
<p>© Bản quyền thuộc về Báo Lạng Sơn. Ghi rõ nguồn khi phát hành lại.</p></footer>
</body></html>"""


def to_cp1258(text: str) -> bytes:
    """Vietnamese in windows-1258 as old Windows tools wrote it: letters with their
    circumflex/breve/horn precomposed, tone marks as combining characters."""
    out = []
    for ch in text:
        d = unicodedata.normalize("NFD", ch)
        kept = "".join(m for m in d[1:] if m in "\u0302\u0306\u031b")
        tones = "".join(m for m in d[1:] if m not in kept)
        out.append(unicodedata.normalize("NFC", d[0] + kept) + tones)
    return "".join(out).encode("cp1258", "replace")


def rss(base: str, items: list[tuple[str, str, str, str]]) -> str:
    """RSS 2.0: (guid, link, title, description) per item, newest first."""
    parts = "".join(
        f'<item><guid isPermaLink="false">{html.escape(g)}</guid><link>{html.escape(link)}</link>'
        f"<title>{html.escape(t)}</title><description>{html.escape(d)}</description>"
        f"<pubDate>Fri, 08 Apr 2022 09:15:00 +0700</pubDate></item>"
        for g, link, t, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Báo Lạng Sơn - Thời sự</title><link>{base}/</link>"
        f"<description>Tin thời sự</description>{parts}</channel></rss>"
    )


def atom(base: str, entries: list[tuple[str, str, str, str]]) -> str:
    """Atom with full content: (id, link, title, html content) per entry."""
    parts = "".join(
        f'<entry><id>{html.escape(i)}</id><link href="{html.escape(link)}"/>'
        f"<title>{html.escape(t)}</title><updated>2022-04-08T09:15:00+07:00</updated>"
        f'<content type="html">{html.escape(c)}</content></entry>'
        for i, link, t, c in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Ban Tuyên giáo</title><id>{base}/atom</id>"
        f"<updated>2022-04-08T09:15:00+07:00</updated>{parts}</feed>"
    )


@dataclass
class NewsSite:
    """The server; tests change `feeds`, `fail` counters and read `hits`."""

    articles: list[RawArticle] = field(default_factory=sample_articles)
    feeds: dict[str, str] = field(default_factory=dict)  # path → XML
    fail: dict[str, int] = field(default_factory=dict)  # path → 500s still to answer
    hits: dict[str, int] = field(default_factory=dict)
    not_modified: int = 0
    streamed: int = 0  # bytes of /50mb.html written
    etags: bool = True
    stamp: bool = False
    stamps: int = 0
    slow_seconds: float = 5.0
    base: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if self.fail.get(path, 0) > 0:
            self.fail[path] -= 1
            return web.Response(status=500, text="Lỗi máy chủ")
        if path in self.feeds:
            body = self.feeds[path].encode("utf-8")
            if self.stamp:  # a CMS that re-stamps the feed on every request
                self.stamps += 1
                body = body.replace(
                    b"<channel>", f"<channel><lastBuildDate>{self.stamps}</lastBuildDate>".encode()
                )
            tag = f'"{abs(hash(body))}"'
            if self.etags and request.headers.get("If-None-Match") == tag:
                self.not_modified += 1
                return web.Response(status=304)
            headers = {"ETag": tag} if self.etags else {}
            headers["Last-Modified"] = format_datetime(
                datetime(2022, 4, 8, tzinfo=UTC), usegmt=True
            )
            return web.Response(
                body=body, content_type="application/rss+xml", charset="utf-8", headers=headers
            )
        if path.startswith("/bai/") and path.endswith(".html"):
            slug = path[len("/bai/") : -len(".html")]
            for a in self.articles:
                if a.slug == slug:
                    return web.Response(
                        text=article_page(a), content_type="text/html", charset="utf-8"
                    )
            return web.Response(status=404, text="Không tìm thấy")
        if path == "/cp1258.html":
            page = article_page(self.articles[0], charset="windows-1258")
            # declared only in the page (no charset in the header), as old CMSs do
            return web.Response(body=to_cp1258(page), headers={"Content-Type": "text/html"})
        if path == "/slow.html":
            await asyncio.sleep(self.slow_seconds)
            return web.Response(text="<html></html>", content_type="text/html")
        if path == "/huge.html":
            filler = "<p>" + "Nội dung rất dài. " * 200 + "</p>"
            return web.Response(
                text="<html><body>" + filler * 2000 + "</body></html>", content_type="text/html"
            )
        if path == "/van-ban.pdf":
            return web.Response(body=b"%PDF-1.4 fake", content_type="application/pdf")
        if path == "/den":  # a redirect to any address (?u=...)
            raise web.HTTPFound(request.query.get("u", "/"))
        if path == "/vong":  # a redirect loop
            raise web.HTTPFound("/vong")
        if path == "/50mb.html":  # streamed without Content-Length; counts what was sent
            resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
            await resp.prepare(request)
            chunk = b"<p>" + "Nội dung rất dài. ".encode() * 3000 + b"</p>"
            with contextlib.suppress(ConnectionError, RuntimeError):
                while self.streamed < 50_000_000:
                    await resp.write(chunk)
                    self.streamed += len(chunk)
            return resp
        if path == "/mai.html":  # a page that never finishes: a byte now and then
            resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
            await resp.prepare(request)
            with contextlib.suppress(ConnectionError, RuntimeError):
                for _ in range(600):
                    await resp.write(b" ")
                    await asyncio.sleep(0.1)
            return resp
        if path.startswith("/chuyen/"):
            n = int(path.rsplit("/", 1)[1])
            target = f"/chuyen/{n - 1}" if n > 0 else f"/bai/{self.articles[0].slug}.html"
            raise web.HTTPFound(target)
        return web.Response(status=404, text="Không tìm thấy")
