"""Outreach session reports (báo cáo viên, issue 16): the form's values, who may still
correct a report, totals by unit, topic and format, and their text and table forms."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.errors import InvalidInput
from bot.domain.spreadsheets import Table
from bot.domain.stats import format_int
from bot.domain.text import fold

FORMATS = {"truc-tiep": "trực tiếp", "long-ghep": "lồng ghép", "truc-tuyen": "trực tuyến"}
MAX_LISTENERS = 1_000_000
MAX_NOTE = 500
# A session is reported within this many days after it was held (older: a typo, surely).
MAX_AGE_DAYS = 120
# The deep link that opens the /baocao form with a cadre group's unit filled in.
START_PREFIX = "bcao_"


def report_link(bot_username: str, group_id: int) -> str:
    """t.me link opening the form for a group (payload: A-Z a-z 0-9 _ -, so no minus)."""
    return f"https://t.me/{bot_username}?start={START_PREFIX}{abs(group_id)}"


def parse_day(text: str, today: date) -> date:
    """«hôm nay», «hôm qua», dd/mm, dd/mm/yyyy or yyyy-mm-dd; not in the future."""
    t = " ".join(fold(text).split())
    if t in ("hom nay", "nay"):
        day = today
    elif t == "hom qua":
        day = today - timedelta(days=1)
    else:
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?", t)
        iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t)
        try:
            if m:
                day = date(int(m[3]) if m[3] else today.year, int(m[2]), int(m[1]))
            elif iso:
                day = date(int(iso[1]), int(iso[2]), int(iso[3]))
            else:
                raise ValueError
        except ValueError:
            raise InvalidInput(
                "Ngày không hợp lệ. Ghi dạng dd/mm/yyyy (ví dụ 08/04/2022) hoặc «hôm nay»."
            ) from None
    if day > today:
        raise InvalidInput("Buổi tuyên truyền chưa diễn ra: ngày không được ở tương lai.")
    if (today - day).days > MAX_AGE_DAYS:
        raise InvalidInput(f"Chỉ báo cáo buổi trong vòng {MAX_AGE_DAYS} ngày gần đây.")
    return day


def parse_listeners(text: str) -> int:
    """A head count: «120», «1.200», «1 200»."""
    digits = re.sub(r"[.\s,]", "", text.strip())
    if not digits.isdigit():
        raise InvalidInput("Số người nghe phải là một số, ví dụ 120.")
    n = int(digits)
    if n > MAX_LISTENERS:
        raise InvalidInput("Số người nghe quá lớn; hãy kiểm tra lại.")
    return n


def parse_note(text: str) -> str | None:
    """An optional note (500 characters at most)."""
    note = " ".join(text.split())
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"Ghi chú dài quá {MAX_NOTE} ký tự.")
    return note or None


def may_change(
    *, is_staff: bool, is_reporter: bool, created_at: int, now: int, edit_days: int
) -> bool:
    """The reporter corrects or deletes their report for `edit_days` days; staff always."""
    return is_staff or (is_reporter and now - created_at <= edit_days * 86400)


@dataclass(frozen=True)
class Line:
    """One row of a totals table."""

    label: str
    sessions: int
    listeners: int


@dataclass(frozen=True)
class Totals:
    """Sessions and listeners in a period, by unit, topic and format."""

    period_label: str
    sessions: int = 0
    listeners: int = 0
    units: int = 0
    by_unit: Sequence[Line] = field(default_factory=tuple)
    by_topic: Sequence[Line] = field(default_factory=tuple)
    by_format: Sequence[Line] = field(default_factory=tuple)


def summary_html(
    day: date, unit: str, topics: Sequence[str], fmt: str, listeners: int, note: str | None
) -> str:
    """A report as the reporter checks it before saving."""
    lines = [
        f"Ngày: {day:%d/%m/%Y}",
        f"Đơn vị: {html.escape(unit)}",
        f"Nội dung: {html.escape('; '.join(topics))}",
        f"Hình thức: {FORMATS.get(fmt, fmt)}",
        f"Số người nghe: {format_int(listeners)}",
    ]
    if note:
        lines.append(f"Ghi chú: {html.escape(note)}")
    return "\n".join(lines)


def totals_html(t: Totals) -> str:
    """Totals for staff."""
    if not t.sessions:
        return f"📋 Chưa có báo cáo buổi tuyên truyền nào trong {t.period_label}."
    out = [
        f"📋 <b>Tuyên truyền {t.period_label}</b>",
        f"{format_int(t.sessions)} buổi, {format_int(t.listeners)} lượt người nghe,"
        f" {format_int(t.units)} đơn vị báo cáo.",
    ]
    for title, lines in (
        ("Theo đơn vị", t.by_unit),
        ("Theo nội dung", t.by_topic),
        ("Theo hình thức", t.by_format),
    ):
        out.append(f"\n<b>{title}</b>")
        out += [
            f"• {html.escape(x.label[:1].upper() + x.label[1:])}: {format_int(x.sessions)} buổi,"
            f" {format_int(x.listeners)} lượt"
            for x in lines
        ]
    return "\n".join(out)


def totals_table(t: Totals) -> Table:
    """The totals as one table (group, label, sessions, listeners) for the export."""
    rows: list[list[str | int | None]] = [["Tổng", t.period_label, t.sessions, t.listeners]]
    for group, lines in (
        ("Đơn vị", t.by_unit),
        ("Nội dung", t.by_topic),
        ("Hình thức", t.by_format),
    ):
        rows += [[group, x.label, x.sessions, x.listeners] for x in lines]
    return Table(["Nhóm", "Mục", "Số buổi", "Lượt người nghe"], rows, sheet="Tuyên truyền")
