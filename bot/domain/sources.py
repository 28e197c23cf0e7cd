"""Where newsroom drafts come from, parsed: Word (.docx) and text files, web pages, RSS/Atom.

Each parser is CPU work on bytes already fetched or downloaded (callers run it in a thread)
and uses a maintained library: python-docx for Word files (the format Vietnamese offices
write in; no hand-unzipped XML), trafilatura for the article inside a news page (it drops
menus, related-link lists, comment forms and footers and reads the page's metadata),
feedparser for RSS 2.0 / Atom (it copes with the dialects and broken feeds sites serve).
Every parser returns RawParts (bot.domain.articles), the shape pasted text is split into,
so one review step serves every source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import re
import xml.sax
import zipfile
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.domain.articles import RawParts, split_raw
from bot.domain.errors import InvalidInput
from bot.domain.text import clean, fold, nfc

MAX_PARAGRAPHS = 2000
MAX_DOCX_EXPANDED = 60_000_000  # bytes inside a .docx (text, styles, pictures)


class SourceError(InvalidInput):
    """A file, page or feed that cannot be turned into an article (Vietnamese message)."""


# ---------------------------------------------------------------- charsets

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)


def declared_charset(body: bytes, header_charset: str | None) -> str:
    """The charset a page declares: the HTTP header first, then <meta charset> or the XML
    declaration in the first 4 KB, else UTF-8 (what Vietnamese sites use today)."""
    for candidate in (header_charset, *_sniff(body[:4096])):
        if candidate and _known(candidate):
            return candidate.strip().lower()
    return "utf-8"


def _sniff(head: bytes) -> list[str]:
    found = []
    for pattern in (_XML_ENCODING, _META_CHARSET):
        m = pattern.search(head)
        if m:
            found.append(m[1].decode("ascii", "replace"))
    return found


def _known(name: str) -> bool:
    import codecs

    try:
        codecs.lookup(name.strip())
    except LookupError:
        return False
    return True


def decode(body: bytes, header_charset: str | None) -> str:
    """Bytes → NFC text in the declared charset (undecodable bytes replaced, never fatal)."""
    return nfc(body.decode(declared_charset(body, header_charset), errors="replace"))


# ---------------------------------------------------------------- files


def docx_parts(data: bytes) -> RawParts:
    """A Word file: the title is its Title/Heading 1 paragraph, else the first paragraph when
    it is all bold, else the first paragraph; headings inside stay paragraphs."""
    try:
        import docx  # python-docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise SourceError("Máy chủ thiếu thư viện đọc tệp Word (python-docx).") from exc
    try:
        # A .docx is a zip: refuse one that would expand past MAX_DOCX_EXPANDED (a zip bomb)
        # before python-docx reads it.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_DOCX_EXPANDED:
                raise SourceError("Tệp Word quá lớn khi giải nén, không đọc được.")
    except zipfile.BadZipFile as exc:
        raise SourceError("Tệp .docx bị hỏng hoặc không phải tệp Word, không đọc được.") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise SourceError("Tệp .docx bị hỏng hoặc không phải tệp Word, không đọc được.") from exc
    except Exception as exc:  # zipfile.BadZipFile, lxml errors: all mean "not a Word file"
        raise SourceError("Tệp .docx bị hỏng hoặc không phải tệp Word, không đọc được.") from exc
    lines: list[str] = []
    title = ""
    for i, paragraph in enumerate(document.paragraphs):
        text = clean(paragraph.text)
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        runs = [r for r in paragraph.runs if r.text.strip()]
        bold = bool(runs) and all(
            r.bold or (r.style is not None and r.style.font.bold) for r in runs
        )
        if not title and not lines and (style in ("Title", "Heading 1") or bold or i == 0):
            title = text
            continue
        if not title and style in ("Title", "Heading 1"):
            title = text
            continue
        lines.append(text)
        if len(lines) > MAX_PARAGRAPHS:
            break
    if not title and lines:
        title = lines.pop(0)
    if not title or not lines:
        raise SourceError("Tệp Word không có đủ tiêu đề và nội dung bài.")
    return split_raw("\n".join([title, *lines]))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _utf16_without_bom(data: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when the bytes look like UTF-16 saved without a BOM (Notepad's
    "Unicode" without signature): Vietnamese text is mostly ASCII letters and spaces, whose
    high byte is NUL, so one byte position in two is NUL; UTF-8 text has no NUL at all."""
    head = data[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) // 8 and even == 0:
        return "utf-16-le"
    if even > len(head) // 8 and odd == 0:
        return "utf-16-be"
    return None


def text_file_parts(data: bytes) -> RawParts:
    """A .txt file in the raw shape (title, caption, body, byline): UTF-8, UTF-16 (with or
    without BOM) or Windows-1258, the old Vietnamese Windows code page."""
    utf16 = _utf16_without_bom(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    elif utf16 is not None:
        text = data.decode(utf16, errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Old Windows editors: Vietnamese in cp1258
            text = data.decode("cp1258", errors="replace")
    text = _CONTROL.sub("", text)  # a binary file named .txt: Telegram refuses NUL and kin
    try:
        return split_raw(nfc(text))
    except ValueError as exc:
        raise SourceError("Tệp văn bản trống hoặc chỉ có tiêu đề, chưa có nội dung bài.") from exc


# ---------------------------------------------------------------- web pages


@dataclass(frozen=True)
class PageArticle:
    """What a news page holds: the article's parts and its published date, if stated."""

    parts: RawParts
    date: dt.date | None
    url: str


def page_parts(page: str, url: str) -> PageArticle:
    """The article inside a news page (trafilatura), without navigation, related links,
    comments or footer; SourceError when the page has no article text."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        page,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
        # not deduplicate=True: trafilatura's duplicate cache is process-wide, so the same
        # article extracted twice (a retry, a second editor) would come back empty.
    )
    if doc is None:
        raise SourceError("Không tìm thấy nội dung bài viết trong trang này.")
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = clean(str(data.get("text") or ""))
    title = clean(str(data.get("title") or ""))
    paragraphs = [p for p in (clean(x) for x in text.split("\n")) if p]
    if title and paragraphs and fold(paragraphs[0]) == fold(title):
        paragraphs.pop(0)
    if not title or not paragraphs or len(" ".join(paragraphs)) < 80:
        raise SourceError("Không tìm thấy nội dung bài viết trong trang này.")
    author = clean(str(data.get("author") or "")) or None
    try:
        parts = split_raw("\n".join([title, *paragraphs[:MAX_PARAGRAPHS]]))
    except ValueError as exc:
        raise SourceError("Không tìm thấy nội dung bài viết trong trang này.") from exc
    if author and not parts.author:
        parts = RawParts(parts.title, parts.caption, parts.paragraphs, author[:100], parts.stamp)
    return PageArticle(parts=parts, date=_iso_date(data.get("date")), url=url)


def _iso_date(value: object) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# ---------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FeedEntry:
    """One feed item: its identity (guid or normalised link), link, and whatever text it carries."""

    key: str
    link: str | None
    title: str
    text: str  # plain text of content:encoded / content / summary (may be short)
    published: dt.date | None


def parse_feed(data: bytes, url: str) -> list[FeedEntry]:
    """Items of an RSS 2.0 / Atom document; SourceError when it is not a feed at all."""
    import feedparser

    if _ENTITY_DECLARATION.search(data[:65536]):
        # Real feeds never declare their own entities; nested ones (the "billion laughs")
        # cost feedparser seconds of CPU per poll before it gives up.
        raise SourceError("Nguồn tin khai báo thực thể XML (&lt;!ENTITY&gt;), không đọc.")
    # Sanitising and URI resolution are 40% of feedparser's time; the text is reduced to
    # plain paragraphs (html_to_text) and escaped wherever it is shown, so neither is needed.
    parsed = feedparser.parse(
        data,
        response_headers={"content-location": url},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries = list(parsed.get("entries") or [])
    reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
    # feedparser recovers what it can from broken XML; what it recovers from a truncated
    # or mangled document (items without link or text) is not trusted.
    mangled = isinstance(reason, xml.sax.SAXException) and any(
        not (e.get("link") or e.get("summary") or e.get("content")) for e in entries
    )
    if (not entries and (reason is not None or not parsed.get("feed"))) or mangled:
        raise SourceError(f"Nguồn tin không phải RSS/Atom hợp lệ ({type(reason).__name__}).")
    items: list[FeedEntry] = []
    for entry in entries:
        link = str(entry.get("link") or "") or None
        guid = str(entry.get("id") or "")
        key = guid.strip() or (normalize_link(link) if link else "")
        title = clean(html_to_text(str(entry.get("title") or "")))
        if not key:
            key = "title:" + hashlib.sha256(fold(title).encode()).hexdigest()[:32]
        content = entry.get("content") or []
        bodies = [str(c.get("value") or "") for c in content] + [str(entry.get("summary") or "")]
        text = max((html_to_text(b) for b in bodies), key=len, default="")
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = dt.date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday) if stamp else None
        items.append(FeedEntry(key[:500], link, title, text, published))
    return items


_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_ITEM_START = re.compile(rb"<(?:item|entry)[\s>]", re.I)
_ITEM_ID = re.compile(
    rb"<(guid|id)\b[^>]*>(.*?)</\1\s*>|<link\b[^>]*?(?:href=[\"']([^\"']*)[\"'][^>]*)?>([^<]*)<",
    re.I | re.S,
)


def raw_item_ids(data: bytes) -> frozenset[bytes] | None:
    """The items' identities as written in the document (guid/id, else link), found without
    parsing it; None when some item has none (then only a real parse can tell). Sites that
    re-stamp <lastBuildDate> on every request change the body but not this set, so the
    feeds worker skips feedparser when the set holds nothing new."""
    chunks = _ITEM_START.split(data)[1:]
    ids: set[bytes] = set()
    for chunk in chunks:
        m = _ITEM_ID.search(chunk)
        value = (m.group(2) or m.group(3) or m.group(4) or b"").strip() if m else b""
        if not value:
            return None
        ids.add(value)
    return frozenset(ids)


_BLOCK = re.compile(r"</?(?:p|div|br|li|h[1-6]|blockquote|tr)\b[^>]*>", re.I)
_TAGS = re.compile(r"<[^>]+>")


_HIDDEN = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.I | re.S)


def html_to_text(fragment: str) -> str:
    """A feed's HTML fragment as plain paragraphs (one per line); scripts and styles dropped."""
    text = _BLOCK.sub("\n", _HIDDEN.sub("", fragment))
    text = html.unescape(_TAGS.sub("", text))
    return "\n".join(line for line in (clean(x) for x in text.split("\n")) if line)


_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|zarsrc|zarsrc\w*|ref)$", re.I)


def normalize_link(url: str) -> str:
    """The same article whatever the decoration: lower-case scheme and host, no fragment,
    no tracking parameters, no trailing slash, http and https alike."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("http", host, path, query, ""))


def text_checksum(title: str, body: str) -> str:
    """The checksum of an item's text (folded, whitespace collapsed): a site re-publishing an
    old item under a new guid or link is recognised by it."""
    words = " ".join(fold(f"{title}\n{body}").split())
    return hashlib.sha256(words.encode("utf-8")).hexdigest()
