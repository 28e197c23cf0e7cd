"""Amounts: numbers with magnitude, unit, range partner, qualifier and subject; masks."""

from __future__ import annotations

import re

from bot.domain.figures.dates import _NUM
from bot.domain.figures.model import _MAGNITUDES, _Found, format_number, parse_number
from bot.domain.figures.subjects import _qualifier, _subject, _tokens_after
from bot.domain.figures.vocab import _MONEY_UNITS, _TRUE_MEASURES

_MASKS = [
    # document numbers: 03-NQ/TU, 123/QĐ-UBND, 100/2019/NĐ-CP, 05/CT-TTg
    re.compile(r"\b\d+(?:/\d+)*\s*[-/]\s*[A-ZĐ][A-Za-zĐđ]*(?:[-/][A-Za-zĐđ0-9]+)*"),
    # names with digits: COVID-19, SARS-CoV-2, H5N1, U23, Vinaphone3G
    re.compile(r"\b[^\W\d_][\w]*-?\d[\w-]*", re.UNICODE),
    # identifiers and ordinals after their noun: "lần thứ 9", "tổ 3", "Quyết định số 12"
    # clock times: "lúc 8 giờ 30", "8h30", "14 giờ"
    re.compile(r"\b\d{1,2}\s*(?:h|giờ|g)\s*\d{1,2}(?:\s*phút|')?", re.IGNORECASE),
    re.compile(
        r"\b(?:lúc|từ|đến|vào)\s+\d{1,2}\s*(?:h|giờ)\b(?:\s+\d{1,2}(?:\s*phút)?)?", re.IGNORECASE
    ),
    # "1 trong 3 huyện", "2 trong số 5 đơn vị": "one of", not a count
    re.compile(r"\b\d{1,2}\s+trong\s+(?:số\s+)?\d+\b"),
    # clock times with a part of the day: "4 giờ sáng"
    re.compile(r"\b\d{1,2}\s*giờ\s+(?:sáng|chiều|tối|trưa|đêm)\b", re.IGNORECASE),
    # footnote marks glued to a word: "yêu cầu(1);", "mới(2)."
    re.compile(r"(?<=[^\s(])\(\d{1,2}\)"),
    # licence plates: "BKS 51B-123.45", "biển số 29A-12345"
    re.compile(r"\b\d{2}[A-Z]{1,2}\d?\s*-\s*\d{3}(?:\.\d{2}|\d{2})?"),
    # a badge category next to its holders: "Huy hiệu 75 năm tuổi Đảng", "1 đồng chí 70 năm,"
    re.compile(r"\b\d{1,2}\s+năm\s+tuổi\s+Đảng\b"),
    re.compile(r"(?<=đồng chí )\d{1,2}\s+năm\b(?=\s*(?:[,;.]|và\b|$))"),
    # an age in apposition to a name: "Nguyễn Văn An, 94 tuổi,"
    re.compile(r"(?<=, )\d{1,3}\s+tuổi\b(?=\s*[,;)])"),
    # phone numbers
    re.compile(r"\b0\d{2,3}[.\s]?\d{3,4}[.\s]?\d{3,4}\b"),
    # versions / generations: "4.0", "2.0"
    re.compile(r"\b\d+\.\d(?!\d)"),
]
_WORD_PERIOD = re.compile(r"\b(?:quý|học kỳ|sáu tháng|chín tháng|ba tháng)\s", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*\(?(?:\d{1,2}|[a-zđ]|[IVX]{1,4})[.)]\s+")

# Units written glued to their number: "28km", "12.000m2", "374,925g".
_GLUED = r"(?:km2|km²|km|m2|m²|m3|m³|ha|kg|MW|mw|kWh|kwh|kW|kw|cm|mm|ml|m|g|l|tấn)\b"
_NUMBER = re.compile(rf"(?<![\w/.,§-])({_NUM})(?:(?={_GLUED})|(?![\w/§]|[.,]\d))", re.UNICODE)
_MAG = re.compile(r"\s*(nghìn tỷ|nghìn|ngàn|triệu|tỷ|tỉ)\b", re.IGNORECASE)
_RANGE = re.compile(rf"\s*(?:-|–|—|đến|tới)\s*({_NUM})(?![\w/§]|[.,]\d)")
_PERCENT = re.compile(r"\s*(%|phần trăm)")
_WORD = re.compile(r"[^\s]+")
_PER_UNIT = re.compile(r"(?:/[^\W\d_]+)+", re.UNICODE)
# "đồng" starting a noun, not the currency: "39 đồng chí", "500 đồng bào".
_DONG_NOUN = re.compile(
    r"đồng\s+(?:chí|bào|hương|đội|nghiệp|ruộng|bằng|lúa|hồ|môn|minh|tâm|ca|chủ|sáng|phạm)\b"
)
_YEAR_CONTEXT = frozenset(
    {"trong", "đến", "tới", "từ", "trước", "sau", "vào", "cuối", "đầu", "hết", "giữa", "nay"}
)
_TIMES_QUALIFIERS = frozenset({"gấp", "tăng", "giảm", "tăng gấp", "hơn", "gần", "khoảng"})
# "gấp 1,4 lần", "tăng 2 lần": a multiplier.
_TIMES = re.compile(r"\s+lần\b(?!\s+(?:thứ|lượt))")


# "25.600 ngày công": days of work, a count (not a duration).
_WORK_DAY = re.compile(r"\s+ngày\s+công\b", re.IGNORECASE)


def _written(text: str, number: float) -> str:
    """A number as the article writes it ("1904 hộ" stays "1904", "5,0%" stays "5,0");
    only leading zeros are dropped ("01" → "1")."""
    if len(text) > 1 and text[0] == "0" and text[1] != ",":
        return format_number(number)
    return text


def _numbers(sentence: str, chars: list[str]) -> list[_Found]:
    masked = "".join(chars)
    found: list[_Found] = []
    taken_until = -1
    for m in _NUMBER.finditer(masked):
        if m.start() < taken_until:
            continue
        start, end = m.start(), m.end()
        text = m.group(1)
        number = parse_number(text)
        value = _written(text, number)
        kind = "count"
        range_end: float | None = None
        rng = _RANGE.match(masked, end)
        if rng and (
            ("đến" not in rng.group(0) and "tới" not in rng.group(0))
            or sentence[:start].rstrip().lower().endswith("từ")
        ):
            range_end = parse_number(rng.group(1))
            if range_end > number or ("-" in rng.group(0) or "–" in rng.group(0)):
                end = rng.end()
                kind = "range"
                value = f"{value}-{_written(rng.group(1), range_end)}"
            else:
                range_end = None
        magnitude = ""
        mag = _MAG.match(masked, end)
        if mag:
            magnitude = mag.group(1).lower().replace("tỉ", "tỷ")
            number *= 1e12 if magnitude == "nghìn tỷ" else _MAGNITUDES[magnitude]
            end = mag.end()
        pct = _PERCENT.match(masked, end)
        unit = ""
        if pct:
            end = pct.end()
            unit = "%"
            if kind != "range":
                kind = "percent"
        else:
            rest = sentence[end:].lstrip().lower()
            for money in _MONEY_UNITS:
                if (
                    rest.startswith(money)
                    and not rest[len(money) : len(money) + 1].isalpha()
                    and not (money == "đồng" and _DONG_NOUN.match(rest) and not magnitude)
                ):
                    unit = sentence[end:].lstrip()[: len(money)]
                    end = sentence.index(unit, end) + len(unit)
                    per = _PER_UNIT.match(sentence, end)
                    if per:
                        unit += per.group(0)
                        end = per.end()
                    if kind != "range":
                        kind = "money"
                    break
            else:
                word = _WORD.match(sentence[end:].lstrip() or " ")
                first = (word.group(0) if word else "").rstrip(".,;:)”\"'").lower()
                glued = re.match(f"({_GLUED})", masked[end:])
                if glued:
                    unit = sentence[end : end + len(glued.group(1))]
                    end += len(unit)
                    if kind != "range":
                        kind = "measure"
                elif (
                    (first in _TRUE_MEASURES and first not in ("năm", "tháng", "ngày"))
                    or (first in ("năm", "tháng", "ngày", "tuần") and not magnitude)
                ) and not _WORK_DAY.match(sentence, end):
                    unit = sentence[end:].lstrip()[: len(first)]
                    end = sentence.index(unit, end) + len(unit)
                    if kind != "range":
                        kind = "measure"
        if kind == "count" and not magnitude and number.is_integer() and 1900 <= number <= 2100:
            after = _tokens_after(sentence, end)
            if not after and "." not in text:
                # a bare year is a period after a time word ("đến 2025", "trong 2023");
                # elsewhere it is part of a name ("Chương trình giáo dục phổ thông 2018")
                prev = sentence[:start].split()[-1:]
                if prev and prev[0].lower() in _YEAR_CONTEXT:
                    found.append(_Found(start, end, f"năm {text}", "period", number=number))
                taken_until = end
                continue
        times = _TIMES.match(sentence, end) if kind == "count" and not magnitude else None
        if times and (_qualifier(sentence, start) in _TIMES_QUALIFIERS or "," in text):
            # "gấp 1,4 lần": a multiplier, not a count of occasions
            end = times.end()
            subject, subject_first = _subject(sentence, start, end, "ratio")
            found.append(
                _Found(
                    start,
                    end,
                    f"{value} lần",
                    "ratio",
                    _qualifier(sentence, start),
                    subject,
                    number,
                    subject_first,
                )
            )
            taken_until = end
            continue
        shown = value
        if magnitude:
            shown = f"{shown} {magnitude}"
        if unit:
            shown = f"{shown}{unit}" if unit == "%" else f"{shown} {unit}"
        qualifier = _qualifier(sentence, start)
        subject_kind = (
            "money"
            if kind == "range" and unit and unit != "%" and unit.lower() not in _TRUE_MEASURES
            else kind
        )
        if kind == "range" and unit == "%":
            subject_kind = "percent"
        subject, subject_first = _subject(sentence, start, end, subject_kind)
        if kind == "count" and magnitude:
            shown = f"{value} {magnitude}"
        found.append(_Found(start, end, shown, kind, qualifier, subject, number, subject_first))
        taken_until = end
    return found
