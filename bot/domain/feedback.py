"""Citizens' comments ("Ý kiến"): validation, personal-data masking, limits, export rows.

Pure Python: no Telegram, no database. Handlers and the store call these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.domain.errors import InvalidInput, LoaError
from bot.domain.spreadsheets import Format, Table, render, to_csv
from bot.domain.text import clean, fold, quote

MIN_CHARS = 10
MAX_CHARS = 2000

# Article ids are slugs (contract): ASCII [a-z0-9-], at most 48 characters.
ARTICLE_ID = re.compile(r"^[a-z0-9-]{1,48}$")

# Lifecycle: received -> approved | rejected -> answered (an answer keeps the decision).
RECEIVED = "received"
APPROVED = "approved"
REJECTED = "rejected"
ANSWERED = "answered"
DELETED = "deleted"

STATUS_VI = {
    RECEIVED: "Đang chờ duyệt",
    APPROVED: "Đã duyệt",
    REJECTED: "Không được duyệt",
    ANSWERED: "Đã trả lời",
    DELETED: "Đã xóa",
}

MASK_KINDS_VI = {
    "phone": "số điện thoại",
    "id": "số CCCD/CMND",
    "email": "địa chỉ email",
    "bank": "số tài khoản ngân hàng",
}


class FeedbackRefused(LoaError):
    """A comment Loa will not take (limit, duplicate, ban); the message says why."""


# --------------------------------------------------------------------------- validation

ACCEPTED_HINT = (
    "Loa chỉ nhận ý kiến bằng <b>chữ</b>, dài từ 10 đến 2.000 ký tự. "
    "Ảnh, nhãn dán (sticker), tệp, tin nhắn thoại hay tin nhắn trống không được nhận."
)


def validate_text(raw: str | None) -> str:
    """The comment as stored: NFC, zero-width characters removed, spaces tidied, trimmed.

    Raises InvalidInput (Vietnamese) when empty, shorter than 10 or longer than 2,000
    characters after trimming.
    """
    text = clean(raw or "")
    if not text:
        raise InvalidInput("Ý kiến đang trống. " + ACCEPTED_HINT)
    if len(text) < MIN_CHARS:
        raise InvalidInput(
            f"Ý kiến quá ngắn ({len(text)} ký tự). Vui lòng viết ít nhất {MIN_CHARS} ký tự."
        )
    if len(text) > MAX_CHARS:
        raise InvalidInput(
            f"Ý kiến quá dài ({_thousands(len(text))} ký tự). Tối đa là 2.000 ký tự; "
            "bạn có thể rút gọn hoặc chia thành nhiều ý kiến."
        )
    return text


_WORD = re.compile(r"\w+")


def duplicate_key(text: str, key: bytes = b"") -> str:
    """What identical-text duplicates share: a keyed hash (`key` from the database) of the
    *masked* text folded (no diacritics, lower, đ→d), only letters and digits, single
    spaces. "Hoà bình!" and "hòa  bình" give the same key; the key reveals no phone or
    ID number, even to whoever holds a backup (issue 10)."""
    words = " ".join(_WORD.findall(fold(mask(text).text)))
    return hmac.new(key, words.encode("utf-8"), hashlib.blake2s).hexdigest()


def valid_article_id(value: str | None) -> str | None:
    """The article id if it is a well-formed slug, else None."""
    if value and ARTICLE_ID.match(value):
        return value
    return None


# SQLite integers are signed 64-bit: a bigger Python int raises OverflowError when bound.
MAX_DB_INT = 2**63 - 1


def parse_id(text: str | None, *, minimum: int = 1) -> int | None:
    """A decimal id from button data or an argument, or None when it is not one that a
    row could have (not digits, below `minimum`, or beyond SQLite's 64-bit integers)."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if minimum <= value <= MAX_DB_INT else None


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# --------------------------------------------------------------------------- masking

_SEP = r"[ .\-]"
# Not glued to a preceding number ("1.084 912…" or "12.000"). Letters may touch a number
# ("cccd001099012345", "0912345678abc"): privacy beats the odd over-masked product code.
_START = r"(?<![\d+])(?<!\d[.,])"
_END = r"(?![.,]?\d)"
# Inside a phone number a closing parenthesis may separate the area code: "(0912) 345 678".
_PSEP = r"(?:\) ?|[ .\-])"
# Every Unicode decimal digit (full-width "０９１２", Arabic-Indic…) read as its ASCII digit,
# one character for one so positions do not move.
_ASCII_DIGITS = {
    cp: str(unicodedata.decimal(chr(cp)))
    for cp in range(0x80, 0x20000)
    if unicodedata.category(chr(cp)) == "Nd"
}

# Vietnamese phones: 0 or +84 / 84 / (+84), then a mobile (9 digits starting 3/5/7/8/9)
# or a landline (10 digits starting 2), digits optionally grouped by one space, dot or dash.
_PHONE = re.compile(
    r"(?<![\d+])(?<!\d[.,])"  # a letter may touch it: "sđt0912345678"
    + r"(?P<prefix>\+?84 ?\(0\) ?|\(\+?84\)"
    + _SEP
    + r"?|\+84"
    + _SEP
    + r"?|84"
    + _SEP
    + r"?|\(0|0)"
    + r"(?P<body>[35789](?:"
    + _PSEP
    + r"?\d){8}|2(?:"
    + _PSEP
    + r"?\d){9})"
    + _END
)
# CCCD: 12 digits starting with 0 (province code), contiguous or in groups of 3-4.
_CCCD = re.compile(
    _START + r"0\d{11}" + _END + r"|" + _START + r"0\d{2,3}(?:" + _SEP + r"\d{3,4}){2,3}" + _END
)
# CMND: 9 contiguous digits (thousands-grouped amounts like 123.456.789 are numbers).
_CMND = re.compile(_START + r"\d{9}" + _END)
_EMAIL = re.compile(
    r"(?<![\w.+-])(?P<local>[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63}))@"
    r"(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})+)"
)
# A number right after a bank or identity-document keyword: 8-19 digits (bank) or the
# ID lengths, any single separators; amounts ("12.000.000 đồng") are left alone.
_KEYWORD = (
    r"(?P<kw>\bs[ốo]\s*tk\b|\bstk\b|\btk\b|t[àa]i\s*kho[ảa]n|ng[âa]n\s*h[àa]ng|"
    r"chuy[ểe]n\s*kho[ảa]n|\bck\b|\baccount\b|\bacc\b|\bbank\b|"
    r"\bcccd\b|\bcmnd\b|\bcmt\b|c[ăa]n\s*c[ưu][ớo]c|ch[ứu]ng\s*minh)"
)
_KEYWORD_NUMBER = re.compile(
    _KEYWORD
    + r"(?P<gap>[^\d\n]{0,30}?)"
    + r"(?P<num>(?<![\d.,])\d(?:"
    + _SEP
    + r"?\d){7,18})"
    + r"(?![.,]?\d)(?!\s*(?:đồng|đ\b|vnđ|vnd|triệu|tỷ|tỉ|nghìn|ngàn|trăm|%))",
    re.IGNORECASE,
)
_ID_KEYWORDS = ("cccd", "cmnd", "cmt", "can", "chung")
# Every digit rule above needs at least 8 digits in a row, single separators allowed (a
# phone's body has 9-10 with ") " or [ .-] between them; CCCD 12, CMND 9, an account 8-19):
# a text without such a run has nothing for them to mask (issue 17: masking was 4 % of a
# comment's CPU; an ordinary comment now costs 13 µs instead of 93).
_LONG_NUMBER = re.compile(r"\d(?:(?:\) ?|[ .\-])?\d){7}")
# A Unicode decimal digit other than 0-9 (full-width, Arabic-Indic…): only then translate.
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(?:\.\d{3})+$")


@dataclass(frozen=True)
class Masked:
    """Text with personal data masked, and which kinds were found (keys of MASK_KINDS_VI)."""

    text: str
    kinds: frozenset[str]


def _x_digits(chunk: str, keep_head: int, keep_tail: int) -> str:
    """Replace digits by 'x' except the first keep_head and last keep_tail; keep separators."""
    positions = [i for i, ch in enumerate(chunk) if ch.isdigit()]
    hide = set(positions[keep_head : len(positions) - keep_tail if keep_tail else None])
    return "".join("x" if i in hide else ch for i, ch in enumerate(chunk))


def _mask_phone(m: re.Match[str]) -> str:
    prefix, body = m["prefix"], m["body"]
    if prefix.startswith("84") and _THOUSANDS.match(m.group(0)):
        return m.group(0)  # "84.300.000.000 đồng" is an amount, not +84 3…
    return prefix + _x_digits(body, 1, 3)


def _mask_cccd(m: re.Match[str]) -> str:
    chunk = m.group(0)
    if sum(ch.isdigit() for ch in chunk) != 12:
        return chunk  # not a CCCD; the phone and CMND rules look at it next
    return _x_digits(chunk, 0, 3)


def _mask_email(m: re.Match[str]) -> str:
    return m["local"][0] + "***@" + m["domain"]


def mask(text: str) -> Masked:
    """Mask phone numbers, CCCD/CMND numbers, emails and bank account numbers.

    Phones keep their prefix, the first digit after it and the last three digits
    ("0912 345 678" → "09xx xxx 678"); ID and account numbers keep their last three
    digits; emails keep the first character of the name and the domain.
    Ordinary figures ("12.000 lượt", "quý I/2022", "112,7 tỷ đồng", "8/4") are untouched.
    """
    if _NON_ASCII_DIGIT.search(text):
        text = text.translate(_ASCII_DIGITS)
    if "@" not in text and not _LONG_NUMBER.search(text):
        return Masked(text, frozenset())  # nothing any rule could match
    return _mask_all(text)


def _mask_all(text: str) -> Masked:
    """Every masking rule over a text whose digits are ASCII (mask's slow path)."""
    kinds: set[str] = set()

    def note(kind: str, replacement: str, original: str) -> str:
        if replacement != original:
            kinds.add(kind)
        return replacement

    out = _EMAIL.sub(lambda m: note("email", _mask_email(m), m.group(0)), text)

    def keyword_number(m: re.Match[str]) -> str:
        kw = fold(m["kw"]).split()[0] if m["kw"].strip() else ""
        kind = "id" if kw.startswith(_ID_KEYWORDS) else "bank"
        return m["kw"] + m["gap"] + note(kind, _x_digits(m["num"], 0, 3), m["num"])

    out = _KEYWORD_NUMBER.sub(keyword_number, out)
    out = _CCCD.sub(lambda m: note("id", _mask_cccd(m), m.group(0)), out)
    out = _PHONE.sub(lambda m: note("phone", _mask_phone(m), m.group(0)), out)
    out = _CMND.sub(lambda m: note("id", _x_digits(m.group(0), 0, 3), m.group(0)), out)
    return Masked(out, frozenset(kinds))


def masked_kinds_vi(kinds: Iterable[str]) -> str:
    """ "số điện thoại, địa chỉ email" for the kinds found, in a fixed order."""
    return ", ".join(MASK_KINDS_VI[k] for k in MASK_KINDS_VI if k in set(kinds))


# --------------------------------------------------------------------------- limits


def check_limits(times: Sequence[int], now: int, per_hour: int, per_day: int, tz: tzinfo) -> None:
    """Raise FeedbackRefused when the user's recent comment times exceed a limit.

    `times` are the unix times of the user's comments in the last 24 hours; a limit of
    0 means no limit. The message says when the next comment will be accepted.
    """
    for limit, window, label in ((per_hour, 3600, "một giờ"), (per_day, 86400, "24 giờ")):
        if limit <= 0:
            continue
        recent = sorted(t for t in times if t > now - window)
        if len(recent) >= limit:
            free_at = recent[len(recent) - limit] + window
            when = datetime.fromtimestamp(free_at, tz).strftime("%H:%M ngày %d/%m/%Y")
            raise FeedbackRefused(
                f"Bạn đã gửi {len(recent)} ý kiến trong {label} qua (tối đa {limit}). "
                f"Vui lòng gửi tiếp sau {when}. Cảm ơn bạn đã quan tâm!"
            )


@dataclass(frozen=True)
class Sender:
    """What the checks know about a comment's sender: a ban, an identical earlier
    comment (its id), and the times of their comments in the last 24 hours."""

    banned: bool
    duplicate_of: int | None
    recent: tuple[int, ...] = ()


def check_sender(sender: Sender, now: int, per_hour: int, per_day: int, tz: tzinfo) -> None:
    """Raise FeedbackRefused for a ban, then a duplicate, then an exceeded limit."""
    if sender.banned:
        raise FeedbackRefused(BANNED_MESSAGE)
    if sender.duplicate_of is not None:
        raise FeedbackRefused(DUPLICATE_MESSAGE.format(id=sender.duplicate_of))
    if per_hour > 0 or per_day > 0:
        check_limits(sender.recent, now, per_hour, per_day, tz)


DUPLICATE_MESSAGE = (
    "Bạn đã gửi ý kiến có nội dung giống hệt trước đây (#{id}). "
    "Loa không nhận ý kiến trùng lặp; bạn có thể xem tình trạng bằng /ykiencuatoi."
)
BANNED_MESSAGE = (
    "Rất tiếc, tài khoản của bạn hiện không thể gửi ý kiến qua Loa. "
    "Nếu cần, bạn vui lòng liên hệ trực tiếp Ban Tuyên giáo. Xin cảm ơn."
)


# --------------------------------------------------------------------------- export


def parse_day(text: str) -> date:
    """A day as dd/mm/yyyy or yyyy-mm-dd; InvalidInput otherwise."""
    value = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise InvalidInput(
        f"Ngày không hợp lệ: {quote(value, 40)}. Dùng dạng dd/mm/yyyy hoặc yyyy-mm-dd, "
        "ví dụ 31/03/2022."
    )


def day_range(start: date | None, end: date | None, tz: tzinfo) -> tuple[int, int]:
    """Unix seconds [from, to) covering whole local days start..end (inclusive)."""
    lo = 0 if start is None else int(datetime.combine(start, time(), tz).timestamp())
    try:
        hi = (
            2**62
            if end is None
            else int(datetime.combine(end + timedelta(days=1), time(), tz).timestamp())
        )
    except OverflowError:  # 31/12/9999: the day after does not exist
        hi = 2**62
    if hi <= lo:
        raise InvalidInput("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    return lo, hi


@dataclass(frozen=True)
class ExportArgs:
    """What /export was asked for."""

    start: date | None
    end: date | None
    include_all: bool
    fmt: Format = "xlsx"  # Excel opens .xlsx right everywhere; "csv" on request


_ALL_WORDS = {"tatca", "tat-ca", "all", "--all", "tất cả", "tấtcả"}
_FORMAT_WORDS: dict[str, Format] = {"csv": "csv", "xlsx": "xlsx", "excel": "xlsx"}


def parse_export_args(text: str) -> ExportArgs:
    """ "[from] [to] [tatca]" → ExportArgs; InvalidInput on a bad date."""
    words = text.split()
    include_all = False
    fmt: Format = "xlsx"
    days: list[date] = []
    for word in words:
        if fold(word) in {fold(w) for w in _ALL_WORDS}:
            include_all = True
        elif fold(word) in _FORMAT_WORDS:
            fmt = _FORMAT_WORDS[fold(word)]
        else:
            days.append(parse_day(word))
    if len(days) > 2:
        raise InvalidInput("Cú pháp: /xuatykien [từ ngày] [đến ngày] [tatca] [csv]")
    start = days[0] if days else None
    end = days[1] if len(days) > 1 else None
    return ExportArgs(start, end, include_all, fmt)


EXPORT_HEADER = ("Số", "Thời gian", "Bài viết", "Trạng thái", "Ý kiến", "Trả lời")


def export_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """CSV bytes in UTF-8 with BOM, CRLF lines, formula-like cells neutralised."""
    return to_csv(Table(EXPORT_HEADER, [list(r) for r in rows]))


def export_file(rows: Iterable[Sequence[str]], fmt: Format) -> bytes:
    """The comments export as .xlsx or CSV (bot.domain.spreadsheets writes both)."""
    return render(Table(EXPORT_HEADER, [list(r) for r in rows], sheet="Ý kiến"), fmt)


def comment_version(status: str, decision: str | None, answer: str | None) -> str:
    """THE versioning rule for moderation buttons (issue 10): a short digest of what a
    moderator is shown of a comment — its status, decision and answer. [Duyệt],
    [Từ chối], [Chặn người gửi] and [Bỏ chặn] carry it; a press on a comment that changed
    since (another moderator, /inbox, the console) is refused."""
    payload = "\x1f".join([status, decision or "", answer or ""])
    return hashlib.blake2s(payload.encode("utf-8"), digest_size=4).hexdigest()
