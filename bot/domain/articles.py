"""Articles: the content-file model (Markdown + YAML front matter), raw-text import, digest.

Content file (content/articles/<id>.md):

    ---
    id: 2022-04-08-giao-ban-tuyen-giao-quy-i   # optional: defaults to the file name
    title: "Thành ủy Lạng Sơn: Giao ban công tác tuyên giáo quý I"
    date: 2022-04-08                            # also accepted: 08/04/2022
    author: Thanh Mai
    caption: Lãnh đạo Thành ủy Lạng Sơn phát biểu tại hội nghị   # optional
    source: https://…                                             # optional
    tags: [tuyên giáo]                                             # optional
    unit: Thành ủy Lạng Sơn                                        # optional
    ---
    Paragraphs, separated by blank lines (or one per line).

Errors are ContentError(path, line, message): `loa check` prints them as path:line: message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.domain.errors import ContentError
from bot.domain.figures import Figure, extract_figures, sentence_figures
from bot.domain.sentences import split_sentences
from bot.domain.summary import summarize
from bot.domain.text import clean, fold, nfc

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
MAX_SLUG = 48
_FIGURE_KINDS_FOR_SUMMARY = frozenset({"count", "money", "percent", "measure", "range", "ratio"})


class ArticleMeta(BaseModel):
    """The front matter, validated."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    title: str
    date: dt.date
    author: str | None = None
    caption: str | None = None
    source: str | None = None
    tags: list[str] = []
    unit: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(
                "id must be 1-48 characters of a-z, 0-9 and '-' (no '-' at either end)"
            )
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = clean(value)
        if not value:
            raise ValueError("title must not be empty")
        if len(value) > 300:
            raise ValueError("title is longer than 300 characters")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", value)
            if m:
                try:
                    return dt.date(int(m[3]), int(m[2]), int(m[1]))
                except ValueError as exc:
                    raise ValueError(f"no such date: {value.strip()}") from exc
        return value

    @field_validator("author", "caption", "unit", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be text")
        return clean(value) or None

    @field_validator("source")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("source must be an http(s) URL")
        return value or None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = [t for t in value.split(",")]
        if not isinstance(value, list):
            raise ValueError("tags must be a list")
        return [clean(str(t)) for t in value if clean(str(t))]


@dataclass(frozen=True)
class Article:
    """A loaded article: metadata plus body paragraphs (NFC, cleaned)."""

    id: str
    title: str
    date: dt.date
    author: str | None
    caption: str | None
    source: str | None
    tags: tuple[str, ...]
    unit: str | None
    paragraphs: tuple[str, ...]
    path: str = ""
    checksum: str = ""

    @property
    def body(self) -> str:
        """The full text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class Digest:
    """What the card shows: summary sentences and ranked figures."""

    sentences: tuple[str, ...]
    summary: tuple[str, ...]
    summary_indices: tuple[int, ...]
    figures: tuple[Figure, ...] = field(default_factory=tuple)

    def public(self, article: Article | None, title: str = "", date: str | None = None) -> dict:
        """The stable JSON shape of `loa digest --json`."""
        return {
            "title": article.title if article else title,
            "date": article.date.isoformat() if article else date,
            "summary": list(self.summary),
            "figures": [f.public() for f in self.figures],
        }


# ---------------------------------------------------------------- content files

_MD_NOISE = re.compile(r"^#{1,6}\s+|^>\s?|\*\*|__")


def body_paragraphs(body: str) -> list[str]:
    """Paragraphs of a Markdown body: one per line, except hard-wrapped lines (a line not
    ending a sentence followed by one starting in lower case) which are joined."""
    paragraphs: list[str] = []
    for raw in clean(body).split("\n"):
        line = _MD_NOISE.sub("", raw).strip()
        if not line:
            continue
        if (
            paragraphs
            and raw.strip()
            and line[0].islower()
            and not paragraphs[-1].endswith((".", "!", "?", "…", ":", ";"))
            and not paragraphs[-1].startswith(("- ", "* ", "• "))
        ):
            paragraphs[-1] = f"{paragraphs[-1]} {line}"
        else:
            paragraphs.append(line)
    return paragraphs


def parse_article(text: str, path: str = "<text>", default_id: str | None = None) -> Article:
    """Parse a content file's text; raise ContentError(path, line, message) when broken."""
    text = nfc(text).replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ContentError(path, 1, "missing YAML front matter: the file must start with '---'")
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise ContentError(path, 1, "front matter is not closed by a '---' line") from None
    front = "\n".join(lines[1:close])
    try:
        data = yaml.safe_load(front) if front.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 2
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ContentError(path, line, f"invalid YAML: {problem}") from None
    except ValueError:
        # A well-formed but impossible value (date: 2023-02-30): re-read everything as
        # text so the model below reports it against its key's line.
        data = yaml.load(front, Loader=yaml.BaseLoader) if front.strip() else {}
    if not isinstance(data, dict):
        raise ContentError(path, 2, "front matter must be key: value pairs")
    if "id" not in data and default_id is not None:
        data["id"] = default_id
    try:
        meta = ArticleMeta.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = str(err["loc"][0]) if err.get("loc") else ""
        line = _key_line(lines[1:close], key) if key else 1
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = f"missing required field '{key}'"
        elif err["type"] == "extra_forbidden":
            message = f"unknown field '{key}' (allowed: {', '.join(ArticleMeta.model_fields)})"
        elif key:
            message = f"{key}: {message}"
        raise ContentError(path, line, message) from None
    paragraphs = body_paragraphs("\n".join(lines[close + 1 :]))
    if not paragraphs:
        raise ContentError(path, close + 2, "the article has no body text")
    return Article(
        id=meta.id,
        title=meta.title,
        date=meta.date,
        author=meta.author,
        caption=meta.caption,
        source=meta.source,
        tags=tuple(meta.tags),
        unit=meta.unit,
        paragraphs=tuple(paragraphs),
        path=path,
        checksum=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _key_line(front_lines: list[str], key: str) -> int:
    """1-based file line of `key:` in the front matter (1: the opening '---')."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for i, line in enumerate(front_lines):
        if pattern.match(line):
            return i + 2
    return 1


def load_file(path: Path) -> Article:
    """Read and parse one content file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(str(path), 1, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ContentError(str(path), 1, f"cannot read: {exc.strerror}") from None
    stem = path.stem if SLUG.match(path.stem) else None
    return parse_article(text, str(path), default_id=stem)


def load_directory(folder: Path) -> tuple[list[Article], list[ContentError]]:
    """Every *.md article under folder (sorted), and the errors of the broken ones.
    Duplicate ids: the first file (by name) wins, the others are errors."""
    articles: list[Article] = []
    errors: list[ContentError] = []
    if not folder.is_dir():
        return articles, errors
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.md")):
        try:
            article = load_file(path)
        except ContentError as exc:
            errors.append(exc)
            continue
        if article.id in seen:
            text = path.read_text(encoding="utf-8")
            line = _key_line(text.split("\n")[1:], "id")
            errors.append(
                ContentError(
                    str(path), line, f"duplicate id '{article.id}' (also {seen[article.id]})"
                )
            )
            continue
        seen[article.id] = str(path)
        articles.append(article)
    return articles, errors


def render_article(article: Article) -> str:
    """The content-file text of an article (front matter + paragraphs)."""
    meta: dict[str, Any] = {"id": article.id, "title": article.title, "date": article.date}
    if article.author:
        meta["author"] = article.author
    if article.caption:
        meta["caption"] = article.caption
    if article.source:
        meta["source"] = article.source
    if article.tags:
        meta["tags"] = list(article.tags)
    if article.unit:
        meta["unit"] = article.unit
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n\n" + "\n\n".join(article.paragraphs) + "\n"


# ---------------------------------------------------------------- raw import

_COMMENTS = re.compile(r"^(?:ý kiến|y kien|bình luận)\s*\(\s*\d*\s*\)\s*$", re.IGNORECASE)
_DATELINE = re.compile(r"^(?:\([A-ZĐ0-9.\s]{2,12}\)\s*)?[–—-]\s*")
_SENTENCE_END = (".", "!", "?", "…", ":", ";", "”", '"')
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_FULL_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


@dataclass(frozen=True)
class RawParts:
    """The parts detected in a raw article text."""

    title: str
    caption: str | None
    paragraphs: list[str]
    author: str | None
    stamp: dt.date | None = None  # a publication stamp line ("08/04/2022 09:15"), if any


_UNIT_NOTE = re.compile(r"\s*\([^()]{1,60}\)$")
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_.]*\.?$")


_INITIALS = re.compile(r"^(?:[A-ZĐ][a-zđ]?\.){1,3}[A-ZĐ]?\.?$")


def _is_byline(line: str) -> bool:
    """The author line: in capitals ("THANH MAI", "PV", "VĂN ĐỨC – THU HÀ", "T.L"), initials
    ("P.H.", "Đ.T."), or a capitalised name with its unit in brackets ("Nguyễn Văn Hải
    (TTVH huyện)"), or a "Theo …" source credit ("Theo TTXVN")."""
    if _INITIALS.match(line):
        return True
    if not 0 < len(line) <= 80 or line.endswith((".", ":", ";", ",", "!", "?")):
        return False
    if any(ch.isdigit() for ch in line):
        return False
    name = _UNIT_NOTE.sub("", line).strip()
    letters = [c for c in name if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters) and len(name) <= 60:
        return True
    words = name.split()
    capitalised = bool(words) and all(_NAME_WORD.match(w) and w[0].isupper() for w in words)
    if capitalised and name != line and 2 <= len(words) <= 5:
        return True
    credit = line.split()
    return credit[0] == "Theo" and 2 <= len(credit) <= 6 and all(w[0].isupper() for w in credit[1:])


def _nice_name(byline: str) -> str:
    """ "THANH MAI" → "Thanh Mai"; acronyms without vowels ("PV", "TTXVN") stay; a mixed-case
    line and the unit in brackets are kept as written."""
    note = _UNIT_NOTE.search(byline)
    name = byline[: note.start()] if note else byline
    tail = byline[note.start() :] if note else ""
    if any(c.islower() for c in name):
        return byline
    vowels = set("aeiouyăâêôơưáàảãạ")

    def word(w: str) -> str:
        if not any(ch in vowels for ch in fold(w)):
            return w
        return w[:1].upper() + w[1:].lower()

    return " ".join(word(w) for w in name.split()) + tail


# Lines that are not article text: a photo credit/caption inside the body ("Ảnh: …"),
# a bare publication stamp ("08/04/2022 09:15", "Thứ Sáu, 08/04/2022 | 09:15"),
# the site's share/print/comment widgets.
_PHOTO_LINE = re.compile(r"^(?:ảnh|ảnh minh họa|ảnh minh hoạ|nguồn ảnh|video)\s*:", re.IGNORECASE)
_STAMP_LINE = re.compile(
    r"^(?:(?:thứ\s+\S+|chủ nhật)\s*,?\s*)?(?:ngày\s+)?\d{1,2}/\d{1,2}/\d{4}"
    r"(?:\s*[|,-]?\s*\d{1,2}[:h]\d{2}(?:\s*(?:\(?GMT\+7\)?|SA|CH|AM|PM))?)?$",
    re.IGNORECASE,
)
# The page around the article, after its last line: related links ("Tin liên quan" and
# the headlines under it), the masthead ("Tổng Biên tập: …", "Tòa soạn: …") and the source
# line ("Theo Báo Lạng Sơn", "Nguồn: Tổng cục Thống kê").
_RELATED = re.compile(
    r"^(?:tin liên quan|bài liên quan|tin cùng chuyên mục|đọc thêm|xem thêm|tin khác)\s*:?$", re.I
)
_MASTHEAD = re.compile(
    r"^(?:tổng biên tập|phó tổng biên tập|tòa soạn|toà soạn|địa chỉ|điện thoại|email|"
    r"giấy phép|bản quyền|©)\s*:?",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^(?:theo|nguồn\s*:)\s+\S", re.IGNORECASE)
# A photo caption inside the body: "… phát biểu tại hội nghị. Ảnh: P.H.", "(Ảnh: Hà Trang)".
_CAPTION_CREDIT = re.compile(r"(?:^|[.\s(])ảnh\s*:\s*\S.{0,40}$", re.IGNORECASE)
_WIDGET_LINE = re.compile(
    r"^(?:chia sẻ|in bài|lưu|bản in|gửi bài|tin liên quan|bài liên quan)$", re.I
)


def split_raw(text: str) -> RawParts:
    """Detect title, photo caption, body paragraphs and byline in raw article text."""
    lines = [line for line in clean(text).split("\n") if line.strip()]
    related = next((i for i, line in enumerate(lines) if _RELATED.match(line)), None)
    if related is not None and related > 1:
        del lines[related:]  # the related-link headlines are other articles
    while lines and (_COMMENTS.match(lines[-1]) or _WIDGET_LINE.match(lines[-1])):
        lines.pop()
    stamp = None
    for line in lines:
        m = _FULL_DATE.search(line) if _STAMP_LINE.match(line) else None
        if m and stamp is None:
            with contextlib.suppress(ValueError):
                stamp = dt.date(int(m[3]), int(m[2]), int(m[1]))
    lines = [line for line in lines if not _STAMP_LINE.match(line) and not _WIDGET_LINE.match(line)]
    if not lines:
        raise ValueError("the text is empty")
    title = lines.pop(0)
    while len(lines) > 1 and _MASTHEAD.match(lines[-1]):
        lines.pop()
    if (
        len(lines) > 2
        and _SOURCE_LINE.match(lines[-1])
        and len(lines[-1].split()) <= 8
        and not lines[-1].endswith(_SENTENCE_END)
        and _is_byline(lines[-2])
    ):
        lines.pop()  # "Theo Báo Lạng Sơn" after the byline: the byline is the author
    author = None
    if lines and _is_byline(lines[-1]):
        author = _nice_name(lines.pop())
    caption = None
    if (
        len(lines) >= 2
        and not lines[0].endswith(_SENTENCE_END)
        and len(lines[0]) <= 250
        and not _DATELINE.match(lines[0])
    ):
        caption = lines.pop(0)
    if lines:
        lines[0] = _DATELINE.sub("", lines[0], count=1).strip() or lines[0]
    # later photo captions are not body text (the first one, under the title, is the caption)
    lines = [line for line in lines if not _PHOTO_LINE.match(line)] or lines
    # a photo caption further down, or the title/caption repeated under a photo
    repeats = {fold(title), fold(caption or "")}
    lines = [
        line for line in lines if fold(line) not in repeats and not _CAPTION_CREDIT.search(line)
    ] or lines
    if caption and _PHOTO_LINE.match(caption):
        caption = caption.split(":", 1)[1].strip() or caption  # "Ảnh: Đường…" → "Đường…"
    if not lines:
        raise ValueError("the text has a title but no body")
    return RawParts(title=title, caption=caption, paragraphs=lines, author=author, stamp=stamp)


def slugify(title: str, date: dt.date | None = None) -> str:
    """An ASCII id ≤ 48 characters: "2022-04-08-thanh-uy-lang-son-giao-ban-cong-tac"."""
    words = re.findall(r"[a-z0-9]+", fold(title))
    prefix = f"{date.isoformat()}-" if date else ""
    slug = prefix.rstrip("-")
    for w in words:
        candidate = f"{slug}-{w}" if slug else w
        if len(candidate) > MAX_SLUG:
            break
        slug = candidate
    return slug or "bai-viet"


def article_date(
    parts: RawParts, name: str = "", today: dt.date | None = None
) -> tuple[dt.date | None, str]:
    """The article's date and how it was found: the file name (YYYY-MM-DD…), a publication
    stamp line, a full date in the lead ("Sáng ngày 5.9.2023"), the lead's day/month in the
    latest year not after `today` ("Sáng 14/12"), any other full date that is not part of a
    document reference, else `today`. ("", None) when nothing tells."""
    m = _DATE_IN_NAME.search(Path(name).stem if name else "")
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])), "name"
        except ValueError:
            pass
    if parts.stamp:
        return parts.stamp, "stamp"
    lead = parts.paragraphs[0] if parts.paragraphs else ""
    lead_figures = sentence_figures(lead, 0)
    # the event date is the lead's first date ("Trong hai ngày 14 và 15/5" → its last day)
    first = next((f.value for f in lead_figures if f.kind == "date"), None)
    bits = [b for b in re.split(r"/", first.rsplit("-", 1)[-1])] if first else []
    if len(bits) == 3 and all(b.isdigit() for b in bits):
        try:
            return dt.date(int(bits[2]), int(bits[1]), int(bits[0])), "lead"
        except ValueError:
            pass
    if len(bits) >= 2 and all(b.isdigit() for b in bits[:2]) and today is not None:
        day, month = int(bits[0]), int(bits[1])
        # a year named in the lead ("(20.11.1982 – 20.11.2023)", "năm 2023"), else the
        # latest year that does not put the date in the future
        named = [int(y) for y in re.findall(r"\b((?:19|20)\d{2})\b", lead)]
        named = [y for y in named if y <= today.year]
        for year in ([max(named)] if named else []) + [today.year, today.year - 1]:
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                continue
            if candidate <= today:
                return candidate, "lead-guess"
    for paragraph in parts.paragraphs:
        for f in sentence_figures(paragraph, 0):
            bits = f.value.split("/")
            if f.kind == "date" and len(bits) == 3 and "-" not in f.value:
                try:
                    return dt.date(int(bits[2]), int(bits[1]), int(bits[0])), "text"
                except ValueError:
                    continue
    if today is not None:
        return today, "today"
    return None, ""


def import_raw(
    text: str,
    *,
    name: str = "",
    date: dt.date | None = None,
    source: str | None = None,
    today: dt.date | None = None,
) -> Article:
    """Turn raw article text into an Article. The date comes from `date`, else
    article_date() (with `today` as the last resort); ValueError when nothing tells.
    The id is the file name when it is already a dated slug, else made from date + title."""
    parts = split_raw(text)
    stem = Path(name).stem if name else ""
    if date is None:
        date, _ = article_date(parts, name, today)
    if date is None:
        raise ValueError("cannot tell the article's date: pass --date YYYY-MM-DD")
    slug = stem.lower() if SLUG.match(stem.lower()) and _DATE_IN_NAME.match(stem) else ""
    meta = ArticleMeta(
        id=slug or slugify(parts.title, date),
        title=parts.title,
        date=date,
        author=parts.author,
        caption=parts.caption,
        source=source,
    )
    return Article(
        id=meta.id,
        title=meta.title,
        date=meta.date,
        author=meta.author,
        caption=meta.caption,
        source=meta.source,
        tags=(),
        unit=None,
        paragraphs=tuple(parts.paragraphs),
    )


def read_any(path: Path, *, date: dt.date | None = None) -> tuple[Article | None, RawParts]:
    """A content file (Article) or raw text (RawParts, Article when a date is known)."""
    text = path.read_text(encoding="utf-8")
    if nfc(text).lstrip("\ufeff").startswith("---"):
        article = parse_article(
            text, str(path), default_id=path.stem if SLUG.match(path.stem) else None
        )
        return article, RawParts(
            article.title, article.caption, list(article.paragraphs), article.author
        )
    parts = split_raw(text)
    try:
        return import_raw(text, name=path.name, date=date), parts
    except ValueError:
        return None, parts


# ---------------------------------------------------------------- digest


def sentences_of(paragraphs: Iterable[str]) -> tuple[list[str], set[int]]:
    """Body sentences and the indices that start a paragraph."""
    sentences: list[str] = []
    starts: set[int] = set()
    for paragraph in paragraphs:
        starts.add(len(sentences))
        sentences.extend(split_sentences(paragraph))
    return sentences, starts


_ALL_CAPS = re.compile(r"^[^a-zà-ỹđ]*$")
_FOOTNOTE = re.compile(r"^\(\d{1,2}\)\s")


def is_furniture(paragraph: str, title: str = "") -> bool:
    """A line of the page, not of the story: a heading or photo caption (no sentence end),
    an all-caps line ("KỶ LUẬT NGHIÊM"), a byline or credit ("P.H.", "Theo Báo Lạng Sơn",
    "Nguồn: …"), a masthead line, a footnote ("(1) Nghị quyết …"), the title repeated."""
    text = paragraph.strip()
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    if len(letters) >= 2 and _ALL_CAPS.match(text):
        return True
    if title and fold(text) == fold(title):
        return True
    if _is_byline(text) or _MASTHEAD.match(text) or _FOOTNOTE.match(text):
        return True
    if _CAPTION_CREDIT.search(text) or _PHOTO_LINE.match(text):
        return True
    if _SOURCE_LINE.match(text) and len(text.split()) <= 8 and not text.endswith(_SENTENCE_END):
        return True
    # a heading, caption or link headline: short and without a sentence end
    return not text.rstrip("”\"'»)").endswith((".", "!", "?", "…", ";")) and len(text.split()) <= 25


def digest(paragraphs: Iterable[str], title: str = "", k: int = 3) -> Digest:
    """Summary (1..k sentences, article order) and ranked key figures of a body."""
    paragraphs = list(paragraphs)
    sentences, starts = sentences_of(paragraphs)
    figures = extract_figures(sentences, starts)
    counts = [0] * len(sentences)
    for f in figures:
        if f.kind in _FIGURE_KINDS_FOR_SUMMARY:
            counts[f.sentence_index] += 1
    excluded: set[int] = set()
    index = 0
    for paragraph in paragraphs:
        n = len(split_sentences(paragraph))
        if is_furniture(paragraph, title):
            excluded.update(range(index, index + n))
        index += n
    chosen = summarize(sentences, title, k, counts, excluded=excluded)
    return Digest(
        sentences=tuple(sentences),
        summary=tuple(sentences[i] for i in chosen),
        summary_indices=tuple(chosen),
        figures=tuple(figures),
    )
