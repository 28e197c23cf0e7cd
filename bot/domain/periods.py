"""Report periods: "quý I/2022", "2022-Q1", "Q1/2022", a year, a month, or two dates.

Pure: the caller passes today's local date; bounds() turns a period into unix seconds
in a time zone. A period is [start, end) in local days: `end` is the day after the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from bot.domain.errors import InvalidInput
from bot.domain.text import fold

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_ROMAN_VALUE = {"i": 1, "ii": 2, "iii": 3, "iv": 4}

PERIOD_HELP = (
    "Kỳ báo cáo không hợp lệ. Ví dụ: «quý I/2022», «quy 2/2022», «2022-Q3», «Q4/2022», "
    "«tháng 4/2022», «năm 2022», hoặc hai ngày «01/04/2022 30/06/2022» "
    "(hay «2022-04-01 2022-06-30»)."
)

_QUARTER_A = re.compile(r"^(?:quy|q)\s*([ivx]+|[1-4])(?:\s*(?:/|-|\s|nam)\s*(\d{4}))?$", re.ASCII)
_QUARTER_B = re.compile(r"^(\d{4})\s*[-/ ]?\s*q\s*([1-4])$", re.ASCII)
_MONTH = re.compile(r"^(?:thang|t)\s*(\d{1,2})\s*(?:/|-|\s|nam)\s*(\d{4})$", re.ASCII)
_YEAR = re.compile(r"^(?:nam\s*)?(\d{4})$", re.ASCII)
_DATE = r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}-\d{1,2}-\d{1,2})"
_RANGE = re.compile(rf"^(?:tu\s+)?{_DATE}\s*(?:-|–|—|den|toi|to|\.\.|\s)\s*{_DATE}$", re.ASCII)


@dataclass(frozen=True)
class Period:
    """A reporting period of whole local days, [start, end)."""

    start: date
    end: date  # exclusive
    label: str  # Vietnamese, e.g. "quý I/2022" or "01/04/2022 – 30/06/2022"
    key: str  # short ASCII id for file names, e.g. "2022-Q1" or "20220401-20220630"

    @property
    def last_day(self) -> date:
        """The last day included."""
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        """Number of days."""
        return (self.end - self.start).days

    def bounds(self, tz: tzinfo) -> tuple[int, int]:
        """Unix seconds of local midnight at start and at end."""
        return (
            int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=tz).timestamp()),
            int(datetime(self.end.year, self.end.month, self.end.day, tzinfo=tz).timestamp()),
        )

    def previous(self) -> Period:
        """The period of the same length just before (quarters: the previous quarter)."""
        if self.key[4:6] == "-Q":
            year, q = int(self.key[:4]), int(self.key[6])
            return quarter(year - 1, 4) if q == 1 else quarter(year, q - 1)
        start = self.start - timedelta(days=self.days)
        return date_range(start, self.start - timedelta(days=1))


def quarter(year: int, q: int) -> Period:
    """Quarter q (1-4) of a year."""
    if not 1 <= q <= 4:
        raise InvalidInput(PERIOD_HELP)
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return Period(start, end, f"quý {ROMAN[q]}/{year}", f"{year}-Q{q}")


def quarter_of(day: date) -> Period:
    """The quarter that contains a day."""
    return quarter(day.year, (day.month - 1) // 3 + 1)


def date_range(first: date, last: date) -> Period:
    """From `first` to `last`, both included."""
    if last < first:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.")
    return Period(
        first,
        last + timedelta(days=1),
        f"{first:%d/%m/%Y} – {last:%d/%m/%Y}",
        f"{first:%Y%m%d}-{last:%Y%m%d}",
    )


def _parse_date(text: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text, re.ASCII):
            y, m, d = (int(x) for x in text.split("-"))
        else:
            d, m, y = (int(x) for x in re.split(r"[/.-]", text))
        return date(y, m, d)
    except ValueError:
        raise InvalidInput(f"Ngày không tồn tại: {text}.") from None


def parse_period(text: str, today: date) -> Period:
    """Parse what an admin types after /stats; empty means the current quarter.

    Digits are ASCII only; a year at the edge of the calendar ("9999-Q4" ends in year
    10000) is refused like any other wrong period instead of raising."""
    try:
        period = _parse_period(text, today)
    except (ValueError, OverflowError):
        raise InvalidInput(PERIOD_HELP) from None
    if not 1900 <= period.start.year <= period.end.year <= 3000:  # previous() must exist too
        raise InvalidInput(PERIOD_HELP)
    return period


def _parse_period(text: str, today: date) -> Period:
    t = re.sub(r"\s+", " ", fold(text).strip())
    if not t:
        return quarter_of(today)
    if m := _QUARTER_A.match(t):
        raw = m[1]
        q = int(raw) if raw.isdigit() else _ROMAN_VALUE.get(raw, 0)
        year = int(m[2]) if m[2] else today.year
        return quarter(year, q)
    if m := _QUARTER_B.match(t):
        return quarter(int(m[1]), int(m[2]))
    if m := _MONTH.match(t):
        month, year = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise InvalidInput(PERIOD_HELP)
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period(date(year, month, 1), end, f"tháng {month}/{year}", f"{year}-{month:02d}")
    if m := _YEAR.match(t):
        year = int(m[1])
        return Period(date(year, 1, 1), date(year + 1, 1, 1), f"năm {year}", str(year))
    if m := _RANGE.match(t):
        return date_range(_parse_date(m[1]), _parse_date(m[2]))
    raise InvalidInput(PERIOD_HELP)
