"""Working days of a Vietnamese state office: Monday to Friday, minus public holidays
(solar and lunar: Tết Nguyên Đán, Giỗ Tổ Hùng Vương, with the government's substituted
days off), minus the office's extra days off, plus its make-up working days (a Saturday
worked to bridge a holiday, e.g. 26/04/2025 for 02/05/2025).

No I/O but one: public holidays come from the maintained `holidays` library (its Vietnam
calendar computes the lunar dates and the announced substitutions), run in a child
process (see _public_holidays); the office's own changes come from settings
(LOA_MAKEUP_WORKDAYS, LOA_EXTRA_DAYS_OFF).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.domain.errors import InvalidInput

MAX_DAYS = 365  # a deadline longer than a year of working days is a typo


# Vietnam's public holidays are computed by the `holidays` library in a short-lived child
# process, and only the dates come back: importing it loads every country's calendar
# (~300 modules, ~17 MB resident, ~0.4 s) for a dozen days a year, which the bot would
# then carry for its whole life (issue 17: idle memory < 70 MB). One child computes a
# few years at once; each year is computed once per process.
_HOLIDAYS_SCRIPT = """
import json, sys
import holidays
first, last = int(sys.argv[1]), int(sys.argv[2])
days = holidays.country_holidays("VN", years=range(first, last + 1), language="vi")
print(json.dumps({day.isoformat(): name for day, name in days.items()}, ensure_ascii=False))
"""
_HOLIDAY_YEARS_AHEAD = 2  # a deadline of 40 working days may cross into the next year
_holidays: dict[int, dict[date, str]] = {}
_holidays_lock = threading.Lock()


def _public_holidays(year: int) -> dict[date, str]:
    """Vietnam's public holidays of a year, Vietnamese names (computed once per year)."""
    found = _holidays.get(year)
    if found is not None:
        return found
    with _holidays_lock:  # the casework worker computes them in a thread at start
        if year not in _holidays:
            _load_holidays(year - 1, year + _HOLIDAY_YEARS_AHEAD)
        return _holidays[year]


def _load_holidays(first: int, last: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HOLIDAYS_SCRIPT, str(first), str(last)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the holidays library failed for {first}-{last}: {detail}")
    by_year: dict[int, dict[date, str]] = {y: {} for y in range(first, last + 1)}
    for day, name in json.loads(done.stdout).items():
        when = date.fromisoformat(day)
        by_year[when.year][when] = name
    for y, days in by_year.items():
        _holidays.setdefault(y, days)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days for the office."""

    makeup_days: frozenset[date] = frozenset()  # weekend days worked (make-up days)
    extra_days_off: frozenset[date] = frozenset()  # office-specific days off
    _cache: dict[date, bool] = field(default_factory=dict, compare=False, repr=False)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's Vietnamese name, "Nghỉ bù/nghỉ riêng" for an office day
        off, else None (weekends are not named)."""
        if day in self.makeup_days:
            return None
        if day in self.extra_days_off:
            return "Ngày nghỉ của cơ quan"
        return _public_holidays(day.year).get(day)

    def is_workday(self, day: date) -> bool:
        """Monday-Friday that is not a holiday or an office day off, or a make-up day."""
        known = self._cache.get(day)
        if known is not None:
            return known
        if day in self.makeup_days:
            result = True
        elif day in self.extra_days_off or day.weekday() >= 5:
            result = False
        else:
            result = day not in _public_holidays(day.year)
        self._cache[day] = result
        return result

    def add_workdays(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (the day of receipt does not count).

        A comment received on Friday 24/01/2025 with 10 working days is due on
        Friday 14/02/2025: Tết (27/01-31/01) is skipped.
        """
        if days < 0:
            raise ValueError("days must be >= 0")
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: 0 for the same day; negative if end < start."""
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count


_DATE_WORD = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$|^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def parse_dates(text: str | Iterable[str]) -> frozenset[date]:
    """ "26/04/2025, 2025-08-22" → dates; ValueError (English, for settings) otherwise."""
    words = text.split(",") if isinstance(text, str) else list(text)
    out: set[date] = set()
    for word in words:
        if not word.strip():
            continue
        m = _DATE_WORD.match(word)
        if not m:
            raise ValueError(f"{word.strip()!r} is not a date (dd/mm/yyyy or yyyy-mm-dd)")
        d, mo, y = (m[1], m[2], m[3]) if m[1] else (m[6], m[5], m[4])
        try:
            out.add(date(int(y), int(mo), int(d)))
        except ValueError:
            raise ValueError(f"{word.strip()!r} is not a real date") from None
    return frozenset(out)


@dataclass(frozen=True)
class OfficeHours:
    """The part of a working day when reminders may be sent (local time)."""

    start: time = time(7, 30)
    end: time = time(17, 0)

    def contains(self, moment: datetime, calendar: WorkCalendar) -> bool:
        """True on a working day between start and end."""
        return calendar.is_workday(moment.date()) and self.start <= moment.time() < self.end


_HOURS = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")


def parse_office_hours(text: str) -> OfficeHours:
    """ "07:30-17:00" → OfficeHours; ValueError otherwise."""
    m = _HOURS.match(text)
    if not m:
        raise ValueError("must look like 07:30-17:00")
    start = time(int(m[1]), int(m[2]))
    end = time(23, 59, 59) if m[3] == "24" else time(int(m[3]), int(m[4]))
    if end <= start:
        raise ValueError("the end must be after the start")
    return OfficeHours(start, end)


def check_days(days: int) -> int:
    """A deadline in working days: 1..365, else InvalidInput (Vietnamese)."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"Thời hạn phải từ 1 đến {MAX_DAYS} ngày làm việc.")
    return days
