"""Periods and dates: "quý I/2022", "6 tháng đầu năm", "8/4", "ngày 10 và 11-1"."""

from __future__ import annotations

import re

from bot.domain.figures.model import _Found, _mask
from bot.domain.figures.subjects import _qualifier, _subject
from bot.domain.figures.vocab import _STOP_AFTER

_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_ROMAN_Q = r"IV|I{1,3}"

_PERIOD_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            rf"\bquý\s+({_ROMAN_Q}|[1-4])\b(?:\s*[/-]\s*(\d{{4}})|\s+năm\s+(\d{{4}}))?",
            re.IGNORECASE,
        ),
        "quarter",
    ),
    (
        re.compile(
            r"\b(\d{1,2}|sáu|chín|ba)\s+tháng\s+"
            r"(?:(đầu|cuối)\s+năm(?:\s+(\d{4}))?|(?:của\s+)?năm\s+(\d{4})\b)",
            re.IGNORECASE,
        ),
        "months",
    ),
    (
        re.compile(
            r"\bhọc\s+kỳ\s+(I{1,2}|[12])\b(?:\s*[/,]?\s*năm học\s+(\d{4}\s*[-–]\s*\d{4}))?",
            re.IGNORECASE,
        ),
        "semester",
    ),
    (
        re.compile(
            r"\b(giai đoạn|nhiệm kỳ|thời kỳ|năm học|niên khóa|niên khoá)"
            r"\s+(\d{4})\s*[-–]\s*(\d{4})",
            re.IGNORECASE,
        ),
        "span",
    ),
    (re.compile(r"\btháng\s+(\d{1,2})\s*(?:/|-|\s+năm\s+)\s*(\d{4})\b", re.IGNORECASE), "month"),
    # "những tháng cuối năm 2023", "những tháng đầu năm"
    (
        re.compile(r"\bnhững\s+tháng\s+(đầu|cuối)\s+năm(?:\s+((?:19|20)\d{2}))?\b", re.I),
        "some-months",
    ),
    # "trong tháng 01", "riêng tháng 6": a month of the reporting year
    (
        re.compile(r"\b(?:trong|riêng|của)\s+tháng\s+(\d{1,2})\b(?!\s*[/.-]\s*\d)", re.I),
        "bare-month",
    ),
    # "từ đầu năm 2021 đến nay", "từ năm 2020 đến nay"
    (
        re.compile(r"\btừ\s+(đầu\s+)?năm\s+((?:19|20)\d{2})\s+(?:đến|tới)\s+nay\b", re.I),
        "since",
    ),
    (re.compile(r"\bnăm\s+((?:19|20)\d{2})\b(?!\s*[-–/]\s*\d)", re.IGNORECASE), "year"),
]
_PERIOD_KEYS = {
    "quarter": "quý",
    "months": "tháng",
    "semester": "học kỳ",
    "span": "\x00",
    "month": "tháng",
    "some-months": "những tháng",
    "bare-month": "tháng",
    "since": "nay",
    "year": "năm",
}
_SPAN_KEYS = re.compile(r"giai đoạn|nhiệm kỳ|thời kỳ|năm học|niên kh")
_DATE_FULL = re.compile(r"(?<![\d/.-])(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})(?![\d/])")
_DATE_WORDS = re.compile(
    r"\bngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s+năm\s+(\d{4}))?", re.IGNORECASE
)
# "20.11.1982", "5-9-2023": a four-digit year makes a dotted/dashed date unambiguous.
_DATE_DOTTED = re.compile(r"(?<![\d.,/-])(\d{1,2})([.-])(\d{1,2})\2((?:19|20)\d{2})(?![\d.,/-]\d)")
# A date right after a document number is part of the reference:
# "Kế hoạch số 45-KH/TU ngày 20/11/2023", "Quyết định 1234/QĐ-UBND ngày 5/4".
_AFTER_DOCUMENT = re.compile(
    r"\d[\w.]*(?:/\d+)*\s*[-/]\s*[A-ZĐ][\w.]*(?:[-/][\w.]+)*\s+(?:ngày\s+)?$"
)
# A day word or a part of the day announces a date written with "-" or ".": "ngày 8-4",
# "sáng 9.4", "chiều 5-7-2023".
_DAY_WORDS = r"(?:ngày|sáng|chiều|tối|trưa|đêm|hôm|rạng sáng)"
_DATE_NGAY = re.compile(
    rf"\b{_DAY_WORDS}\s+(\d{{1,2}})[-.](\d{{1,2}})(?:[-.](\d{{4}}))?(?![\d]|[.,]\d)", re.I
)
# Two days of one month: "ngày 14 và 15/5", "ngày 10 và 11-1", "từ ngày 1 đến hết 15-12",
# "đêm 10 và rạng sáng 11-9", "từ ngày 8 đến ngày 9 tháng 7".
_DATE_RANGE = re.compile(
    rf"\b{_DAY_WORDS}\s+(\d{{1,2}})\s*(?:đến\s+hết|đến|tới|và|-|–|,)\s*"
    rf"(?:(?:hết\s+)?{_DAY_WORDS}\s+)?(\d{{1,2}})"
    r"(?:\s+tháng\s+(Giêng|Chạp|\d{1,2})|\s*[/.-]\s*(\d{1,2})(?!\d))"
    r"(?:\s*[/.-]\s*(\d{4})|\s+năm\s+(\d{4}))?",
    re.IGNORECASE,
)
_HAS_DAY_WORD = re.compile(_DAY_WORDS, re.IGNORECASE)
_DATE_LUNAR = re.compile(
    r"(?:\bngày\s+)?\b(\d{1,2})\s+tháng\s+(Giêng|Chạp|\d{1,2})\b(?!\s*(?:đầu|cuối))", re.IGNORECASE
)
# "8/4" (a date) or "18/20", "630/847" (a part of a whole, when a noun follows)
_DATE_SHORT = re.compile(
    r"(?<![\d/.,-])(\d{1,3}(?:\.\d{3})*)/(\d{1,3}(?:\.\d{3})*)(?![\d/]|,\d|\.\d)"
)
_DATE_CONTEXT = re.compile(
    r"(?:ngày|sáng|chiều|tối|trưa|đêm|hôm|từ|đến|tới|trước|sau|vào|đầu|cuối|nay|qua|hạn|đợt)"
    r"\s*(?:ngày\s*)?$",
    re.IGNORECASE,
)

_DASHES = re.compile(r"\s*[-–]\s*")
_WORD = re.compile(r"[^\s]+")


def _roman(text: str) -> str:
    return {"1": "I", "2": "II", "3": "III", "4": "IV"}.get(text, text.upper())


def _valid_dm(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _periods_and_dates(sentence: str, chars: list[str]) -> list[_Found]:
    found: list[_Found] = []

    def free(start: int, end: int) -> bool:
        return all(ch != "§" for ch in chars[start:end])

    low = sentence.lower()
    for pattern, kind in _PERIOD_PATTERNS:
        if _PERIOD_KEYS[kind] not in low and not (kind == "span" and _SPAN_KEYS.search(low)):
            continue
        for m in pattern.finditer(sentence):
            if not free(m.start(), m.end()):
                continue
            if kind == "quarter":
                year = m.group(2) or m.group(3)
                value = f"quý {_roman(m.group(1))}" + (f"/{year}" if year else "")
            elif kind == "months":
                count = {"sáu": "6", "chín": "9", "ba": "3"}.get(m.group(1).lower(), m.group(1))
                if m.group(2):
                    value = f"{count} tháng {m.group(2).lower()} năm" + (
                        f" {m.group(3)}" if m.group(3) else ""
                    )
                else:
                    value = f"{count} tháng năm {m.group(4)}"
            elif kind == "semester":
                years = _DASHES.sub("-", m.group(2)) if m.group(2) else ""
                value = f"học kỳ {_roman(m.group(1))}" + (f" năm học {years}" if years else "")
            elif kind == "span":
                value = f"{m.group(1).lower()} {m.group(2)}-{m.group(3)}"
            elif kind == "month":
                if not 1 <= int(m.group(1)) <= 12:
                    continue
                value = f"tháng {int(m.group(1))}/{m.group(2)}"
            elif kind == "some-months":
                value = f"những tháng {m.group(1).lower()} năm" + (
                    f" {m.group(2)}" if m.group(2) else ""
                )
            elif kind == "bare-month":
                if not 1 <= int(m.group(1)) <= 12:
                    continue
                value = f"tháng {int(m.group(1))}"
                found.append(_Found(m.end(1) - len(m.group(1)) - 6, m.end(), value, "period"))
                _mask(chars, m.end(1) - len(m.group(1)) - 6, m.end())
                continue
            elif kind == "since":
                opening = "từ đầu năm" if m.group(1) else "từ năm"
                value = f"{opening} {m.group(2)} đến nay"
            else:
                value = f"năm {m.group(1)}"
            found.append(_Found(m.start(), m.end(), value, "period"))
            _mask(chars, m.start(), m.end())

    has_day = bool(_HAS_DAY_WORD.search(low))
    has_month = "tháng" in low
    for m in _DATE_RANGE.finditer(sentence) if has_day else ():
        if not free(m.start(), m.end()):
            continue
        first, second = int(m.group(1)), int(m.group(2))
        month = m.group(3) or m.group(4)
        if not (1 <= first <= 31 and 1 <= second <= 31 and first < second):
            continue
        value = f"{first}-{second}/{month}" if m.group(4) else f"{first}-{second} tháng {month}"
        if m.group(5):
            value += f"/{m.group(5)}"
        found.append(_Found(m.start(1), m.end(), value, "date"))
        _mask(chars, m.start(), m.end())
    for m in _DATE_LUNAR.finditer(sentence) if has_month else ():
        if free(m.start(), m.end()) and 1 <= int(m.group(1)) <= 31:
            found.append(
                _Found(m.start(1), m.end(), f"{int(m.group(1))} tháng {m.group(2)}", "date")
            )
            _mask(chars, m.start(), m.end())
    for pattern in (_DATE_WORDS, _DATE_FULL, _DATE_NGAY, _DATE_DOTTED):
        if (pattern is _DATE_FULL and "/" not in low) or (
            pattern not in (_DATE_FULL, _DATE_DOTTED) and not has_day
        ):
            continue
        for m in pattern.finditer(sentence):
            if not free(m.start(), m.end()):
                continue
            if pattern is _DATE_DOTTED:
                day, month, year = int(m.group(1)), int(m.group(3)), m.group(4)
            else:
                day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
            if not _valid_dm(day, month):
                continue
            if _AFTER_DOCUMENT.search(sentence[: m.start()]):
                _mask(chars, m.start(), m.end())  # part of a document reference
                continue
            value = f"{day}/{month}" + (f"/{year}" if year else "")
            start = m.start(1) if pattern is _DATE_NGAY or pattern is _DATE_WORDS else m.start()
            found.append(_Found(start, m.end(), value, "date"))
            _mask(chars, m.start(), m.end())

    for m in _DATE_SHORT.finditer(sentence) if "/" in low else ():
        if not free(m.start(), m.end()):
            continue
        a_text, b_text = m.group(1), m.group(2)
        a, b = int(a_text.replace(".", "")), int(b_text.replace(".", ""))
        short = len(a_text) <= 2 and len(b_text) <= 2
        before = sentence[: m.start()]
        if _AFTER_DOCUMENT.search(before):
            _mask(chars, m.start(), m.end())  # "Quyết định 1234/QĐ-UBND ngày 5/4"
            continue
        after = sentence[m.end() :]
        in_parens = before.rstrip().endswith("(")
        date_context = bool(_DATE_CONTEXT.search(before.rstrip())) or in_parens
        next_word = _WORD.match(after.lstrip())
        noun_follows = bool(
            next_word
            and next_word.group(0)[0].isalpha()
            and next_word.group(0).lower() not in {"năm", "vừa", "tại", "và", "tới", "đến"}
            and next_word.group(0).lower() not in _STOP_AFTER
            and not after.startswith(("/", ","))
        )
        if (not date_context or not short) and noun_follows and a <= b:
            qualifier = _qualifier(sentence, m.start())
            subject, first = _subject(sentence, m.start(), m.end(), "ratio")
            found.append(
                _Found(
                    m.start(),
                    m.end(),
                    f"{a_text}/{b_text}",
                    "ratio",
                    qualifier,
                    subject,
                    a / b if b else None,
                    first,
                )
            )
        elif short and _valid_dm(a, b):
            found.append(_Found(m.start(), m.end(), f"{a}/{b}", "date"))
        else:
            continue
        _mask(chars, m.start(), m.end())
    return found
