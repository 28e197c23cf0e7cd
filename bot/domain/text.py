"""Vietnamese text helpers: normalisation, folding for search, HTML escaping, splitting."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

# Old-style ("hoà", "uỷ") and new-style ("hòa", "ủy") tone placement are both NFC but
# differ; folding removes the marks entirely so both match (Unicode NFC/NFD, UAX #15).
_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")

TELEGRAM_TEXT_LIMIT = 4096


def nfc(text: str) -> str:
    """Unicode NFC, the one form Loa stores and compares."""
    return unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """NFC, no zero-width characters, single spaces, trimmed lines, no trailing blank lines."""
    text = _ZERO_WIDTH.sub("", nfc(text)).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def fold(text: str) -> str:
    """Lower case without diacritics and with đ→d: "Thành Uỷ" → "thanh uy"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


def escape(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (only <, > and & matter there)."""
    return html.escape(text, quote=False)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word boundary with "…" (a Vietnamese
    syllable is a word: cutting inside one makes another word, or none)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if not text[limit - 1].isspace():
        cut = max(head.rfind(" "), head.rfind("\n"))
        if cut > 0:
            head = head[:cut]
    return head.rstrip(" \n,;:–-") + "…"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts message length in."""
    return len(text.encode("utf-16-le")) // 2


def split_for_telegram(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split plain text at paragraph (then line, then word) boundaries into parts under limit."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n"):
        for piece in _pieces(paragraph, limit):
            candidate = f"{current}\n{piece}" if current else piece
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                if current.strip():
                    parts.append(current.strip())
                current = piece
    if current.strip():
        parts.append(current.strip())
    return parts


def _pieces(paragraph: str, limit: int) -> list[str]:
    """A paragraph as is, or cut at spaces (then hard) when it alone exceeds the limit."""
    if utf16_len(paragraph) <= limit:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for word in paragraph.split(" "):
        while utf16_len(word) > limit:  # a single huge "word": hard cut
            if current:
                pieces.append(current)
                current = ""
            cut = limit // 2
            pieces.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}" if current else word
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


_TAG = re.compile(r"<[^>]*>")


def html_visible_len(markup: str) -> int:
    """UTF-16 length of Telegram-HTML text after entity parsing (tags gone, &amp; → &)."""
    return utf16_len(html.unescape(_TAG.sub("", markup)))


def pack_html_lines(lines: Iterable[str], limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Join whole, already escaped HTML lines into as few messages ≤ `limit` as possible.

    A line is never cut, so a tag or an entity (&amp;) is never split and every message
    parses. Lengths are counted as Telegram counts them (after entity parsing, in UTF-16
    units, separators included). A single line longer than `limit` on its own loses its
    formatting: it becomes plain text split at spaces and escaped again, part by part.
    Leading/trailing blank lines of each message are dropped (Telegram strips them too).
    """
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if html_visible_len(line) > limit:
            plain = html.unescape(_TAG.sub("", line))
            pieces = [escape(p) for p in split_for_telegram(plain, limit)]
        else:
            pieces = [line]
        for piece in pieces:
            length = html_visible_len(piece)
            added = length if not current else size + 1 + length
            if current and added > limit:
                messages.append("\n".join(current))
                current, added = [], length
            current.append(piece)
            size = added
    if current:
        messages.append("\n".join(current))
    return [m.strip("\n") for m in messages if m.strip()]


def quote(text: str, limit: int = 200) -> str:
    """User text as it may appear inside a Loa message: NFC, at most `limit` characters
    (cut with "…"), HTML-escaped. The one way to echo names, titles, arguments and
    comments back into Telegram HTML (issue 10: a raw "<" or a 5,000-character argument
    made Telegram refuse the whole reply)."""
    text = nfc(text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return escape(text)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_number(raw: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int | None:
    """A whole number typed or carried in a button, ASCII digits only, within bounds.

    `str.isdigit()` is true for "²" or "١" but int() refuses or misreads them; this is the
    one parser for counts, pages and ids (None when the text is not such a number)."""
    raw = raw.strip()
    if not raw or len(raw) > 19 or not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None
