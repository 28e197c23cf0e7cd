"""Working days around Tết, Giỗ Tổ and 30/4-1/5, with the office's make-up days."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.domain.workdays import (
    OfficeHours,
    WorkCalendar,
    parse_dates,
    parse_office_hours,
)


def test_public_holidays_known_dates() -> None:
    """The library's lunar dates match the government's announced calendars."""
    cal = WorkCalendar()
    # Tết Ất Tỵ 2025: 29 Tết (27/01) to mùng 4 (31/01) on working days.
    for d in range(27, 32):
        assert not cal.is_workday(date(2025, 1, d)), d
    assert cal.is_workday(date(2025, 1, 24)) and cal.is_workday(date(2025, 2, 3))
    assert cal.holiday_name(date(2025, 1, 29)) == "Tết Nguyên Đán"
    # Tết Bính Ngọ 2026: 16/02-20/02.
    for d in range(16, 21):
        assert not cal.is_workday(date(2026, 2, d)), d
    assert cal.is_workday(date(2026, 2, 13)) and cal.is_workday(date(2026, 2, 23))
    # Giỗ Tổ Hùng Vương (10/3 âm lịch): Monday 07/04/2025; 26/04/2026 is a Sunday,
    # observed Monday 27/04/2026.
    assert not cal.is_workday(date(2025, 4, 7))
    assert "Hùng Vương" in (cal.holiday_name(date(2025, 4, 7)) or "")
    assert not cal.is_workday(date(2026, 4, 27))
    # 30/4 and 1/5.
    for day in (date(2025, 4, 30), date(2025, 5, 1), date(2026, 4, 30), date(2026, 5, 1)):
        assert not cal.is_workday(day)
    # 02/05/2025 was a substituted day off (worked on Saturday 26/04/2025).
    assert not cal.is_workday(date(2025, 5, 2))


def test_deadline_across_tet() -> None:
    cal = WorkCalendar()
    # Received Friday 24/01/2025: the five days of Tết and the weekends are skipped.
    assert cal.add_workdays(date(2025, 1, 24), 10) == date(2025, 2, 14)
    assert cal.add_workdays(date(2025, 1, 24), 1) == date(2025, 2, 3)
    # Received on a holiday: counting starts at the first working day after it.
    assert cal.add_workdays(date(2026, 2, 17), 1) == date(2026, 2, 23)
    assert cal.workdays_between(date(2025, 1, 24), date(2025, 2, 14)) == 10
    assert cal.workdays_between(date(2025, 1, 24), date(2025, 1, 24)) == 0
    assert cal.workdays_between(date(2025, 2, 14), date(2025, 1, 24)) == -10


def test_deadline_around_30_4_with_makeup_day() -> None:
    # Without the office's make-up day: Mon 28, Tue 29 count; 30/4, 1/5, 2/5 do not.
    plain = WorkCalendar()
    assert plain.add_workdays(date(2025, 4, 25), 3) == date(2025, 5, 5)
    # The office worked Saturday 26/04/2025 (the make-up for 02/05): it counts.
    office = WorkCalendar(makeup_days=parse_dates("26/04/2025"))
    assert office.is_workday(date(2025, 4, 26))
    assert office.add_workdays(date(2025, 4, 25), 3) == date(2025, 4, 29)
    assert office.workdays_between(date(2025, 4, 25), date(2025, 5, 5)) == 4
    # An extra day off of the office (e.g. its anniversary) moves deadlines too.
    off = WorkCalendar(extra_days_off=parse_dates("2025-04-29"))
    assert off.add_workdays(date(2025, 4, 25), 2) == date(2025, 5, 5)
    assert off.holiday_name(date(2025, 4, 29)) == "Ngày nghỉ của cơ quan"


def test_parsers_and_office_hours() -> None:
    assert parse_dates("26/04/2025, 2025-08-22 ,") == {date(2025, 4, 26), date(2025, 8, 22)}
    with pytest.raises(ValueError):
        parse_dates("31/02/2025")
    with pytest.raises(ValueError):
        parse_dates("ngày mai")
    hours = parse_office_hours("07:30-17:00")
    cal = WorkCalendar()
    assert hours.contains(datetime(2025, 2, 3, 8, 0), cal)
    assert not hours.contains(datetime(2025, 2, 3, 17, 0), cal)
    assert not hours.contains(datetime(2025, 1, 29, 9, 0), cal)  # Tết
    assert not hours.contains(datetime(2025, 2, 1, 9, 0), cal)  # Saturday
    assert OfficeHours().start == time(7, 30)
    for bad in ("17:00-07:00", "8h-17h", "25:00-26:00"):
        with pytest.raises(ValueError):
            parse_office_hours(bad)
