"""Outreach statistics of a period: the figures, Vietnamese number format, text and Markdown.

Pure: bot.store.reports fills a Stats from the database; this module formats it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.domain.periods import Period
from bot.domain.text import escape

if TYPE_CHECKING:  # casework imports this module's number formats
    from bot.domain.casework import CaseFigures

NO_UNIT = "(chưa gán đơn vị)"


# --- Vietnamese numbers -----------------------------------------------------------------


def format_int(n: int) -> str:
    """12000 → "12.000" (dot thousands)."""
    sign = "-" if n < 0 else ""
    return sign + f"{abs(int(n)):,}".replace(",", ".")


def format_decimal(x: float, digits: int = 1) -> str:
    """1234.5 → "1.234,5" (dot thousands, comma decimals)."""
    text = f"{abs(x):,.{digits}f}"
    whole, _, frac = text.partition(".")
    whole = whole.replace(",", ".")
    sign = "-" if x < 0 and any(c not in "0.," for c in text) else ""
    return sign + (f"{whole},{frac}" if frac else whole)


def format_percent(ratio: float | None, digits: int = 1) -> str:
    """0.155 → "15,5%"; None → "–"."""
    if ratio is None:
        return "–"
    return format_decimal(ratio * 100, digits) + "%"


def format_change(n: int) -> str:
    """+3 / −2 / 0, with a typographic minus."""
    if n > 0:
        return f"+{format_int(n)}"
    if n < 0:
        return f"−{format_int(-n)}"
    return "0"


def format_duration(seconds: float | None) -> str:
    """A duration in Vietnamese: "45 phút", "2 giờ 15 phút", "3 ngày 4 giờ"."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "dưới 1 phút"
    if minutes < 60:
        return f"{minutes} phút"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} giờ" + (f" {minutes} phút" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{format_int(days)} ngày" + (f" {hours} giờ" if hours else "")


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def week_start(day: date) -> date:
    """Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def weeks_of(period: Period) -> list[date]:
    """Mondays of every week that overlaps the period."""
    weeks = []
    monday = week_start(period.start)
    while monday < period.end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


# --- the figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatCounts:
    """Subscribed chats at one moment."""

    private: int = 0
    groups: int = 0  # public groups
    cadre: int = 0  # cadre (approved) groups

    @property
    def total(self) -> int:
        return self.private + self.groups + self.cadre


@dataclass(frozen=True)
class UnitAck:
    """Acknowledgement of the period's directives in one unit (ward/commune)."""

    unit: str
    delivered: int  # directive messages delivered to the unit's chats
    acked: int  # of those, acknowledged

    @property
    def rate(self) -> float | None:
        return self.acked / self.delivered if self.delivered else None


@dataclass(frozen=True)
class ArticleReads:
    """Reading of one article in the period."""

    article_id: str
    title: str | None
    card_opens: int
    fulltext_opens: int


@dataclass(frozen=True)
class Stats:
    """Every figure of a period's report."""

    period: Period
    subs_start: ChatCounts = ChatCounts()
    subs_end: ChatCounts = ChatCounts()
    subs_new: int = 0
    subs_left: int = 0
    broadcasts: int = 0
    announcements: int = 0
    directives: int = 0
    delivered: int = 0
    failed: int = 0
    blocked: int = 0
    ack_by_unit: tuple[UnitAck, ...] = ()
    articles_published: int = 0
    card_opens: int = 0
    fulltext_opens: int = 0
    top_articles: tuple[ArticleReads, ...] = ()
    comments_received: int = 0
    comments_approved: int = 0
    comments_rejected: int = 0
    comments_answered: int = 0
    answer_median_seconds: float | None = None
    weekly_deliveries: dict[date, int] = field(default_factory=dict)  # Monday → count
    weekly_comments: dict[date, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # tables/columns that were absent (counted as zero)
    # Casework (issue 15): the quarter's cases by category and by unit, and the total.
    case_by_category: tuple[CaseFigures, ...] = ()
    case_by_unit: tuple[CaseFigures, ...] = ()
    case_total: CaseFigures | None = None

    @property
    def acks_delivered(self) -> int:
        return sum(u.delivered for u in self.ack_by_unit)

    @property
    def acks(self) -> int:
        return sum(u.acked for u in self.ack_by_unit)

    @property
    def ack_rate(self) -> float | None:
        return self.acks / self.acks_delivered if self.acks_delivered else None

    @property
    def has_weekly_data(self) -> bool:
        return any(self.weekly_deliveries.values()) or any(self.weekly_comments.values())

    @property
    def is_empty(self) -> bool:
        return not (
            self.has_weekly_data
            or self.ack_by_unit
            or self.broadcasts
            or self.subs_end.total
            or self.articles_published
            or self.card_opens
            or self.fulltext_opens
            or self.comments_received
            or self.case_total is not None
        )


def _lines(s: Stats) -> list[tuple[str, list[str]]]:
    """(section title, plain-text lines) shared by the Telegram and Markdown renderings."""
    n = format_int
    start, end = s.subs_start, s.subs_end
    subs = [
        f"Tổng số: {n(end.total)} ({format_change(end.total - start.total)}"
        f" so với đầu kỳ: {n(start.total)})",
        f"Cá nhân: {n(end.private)} ({format_change(end.private - start.private)})",
        f"Nhóm: {n(end.groups)} ({format_change(end.groups - start.groups)})",
        f"Nhóm cán bộ: {n(end.cadre)} ({format_change(end.cadre - start.cadre)})",
        f"Đăng ký mới: {n(s.subs_new)}; hủy hoặc chặn bot: {n(s.subs_left)}",
    ]
    total_tries = s.delivered + s.failed + s.blocked
    sends = [
        f"Bản tin đã gửi: {n(s.broadcasts)} (thông báo: {n(s.announcements)},"
        f" chỉ đạo: {n(s.directives)})",
        f"Tin nhắn đã đến: {n(s.delivered)}"
        + (f" ({format_percent(s.delivered / total_tries)})" if total_tries else ""),
        f"Gửi lỗi: {n(s.failed)}; bị chặn: {n(s.blocked)}",
    ]
    acks = [f"Xác nhận «Đã nhận»: {n(s.acks)}/{n(s.acks_delivered)} ({format_percent(s.ack_rate)})"]
    for u in s.ack_by_unit:
        acks.append(f"• {u.unit}: {n(u.acked)}/{n(u.delivered)} ({format_percent(u.rate)})")
    if not s.ack_by_unit:
        acks = ["Không có chỉ đạo nào được gửi trong kỳ."]
    articles = [
        f"Bài viết đăng trong kỳ: {n(s.articles_published)}",
        f"Lượt mở thẻ bài: {n(s.card_opens)}; lượt đọc toàn văn: {n(s.fulltext_opens)}",
    ]
    for i, a in enumerate(s.top_articles, 1):
        articles.append(
            f"{i}. {a.title or a.article_id}: {n(a.card_opens)} lượt mở,"
            f" {n(a.fulltext_opens)} lượt đọc toàn văn"
        )
    comments = [
        f"Ý kiến nhận được: {n(s.comments_received)}",
        f"Đã duyệt: {n(s.comments_approved)}; từ chối: {n(s.comments_rejected)};"
        f" đã trả lời: {n(s.comments_answered)}",
        f"Thời gian trả lời (trung vị): {format_duration(s.answer_median_seconds)}",
    ]
    sections = [
        ("Đăng ký nhận tin (cuối kỳ)", subs),
        ("Phát tin", sends),
        ("Chỉ thị và tỷ lệ xác nhận theo đơn vị", acks),
        ("Bài viết", articles),
        ("Ý kiến của Nhân dân", comments),
    ]
    if s.case_total is not None:
        from bot.domain.casework import NO_UNIT_VI, figures_line  # casework imports us

        sections.append(
            (
                "Giải quyết ý kiến theo lĩnh vực (hạn tính theo ngày làm việc)",
                [figures_line(s.case_total)] + [f"• {figures_line(g)}" for g in s.case_by_category],
            )
        )
        if any(g.label != NO_UNIT_VI for g in s.case_by_unit):
            sections.append(
                ("Giải quyết ý kiến theo địa bàn", [f"• {figures_line(g)}" for g in s.case_by_unit])
            )
    return sections


def render_telegram(s: Stats) -> str:
    """The /stats message (Telegram HTML, every value escaped); under 4096 characters."""
    p = s.period
    out = [
        f"📊 <b>Thống kê {escape(p.label)}</b>",
        f"<i>{p.start:%d/%m/%Y} – {p.last_day:%d/%m/%Y}</i>",
    ]
    for title, lines in _lines(s):
        out.append("")
        out.append(f"<b>{escape(title)}</b>")
        out.extend(escape(line) for line in lines)
    if s.missing:
        out.append("")
        out.append(f"<i>Chưa có dữ liệu: {escape(', '.join(s.missing))}.</i>")
    text = "\n".join(out)
    while len(text) > 4000 and s.top_articles:  # very long titles: fewer articles
        s = Stats(**{**s.__dict__, "top_articles": s.top_articles[:-1]})
        text = render_telegram(s)
    while len(text) > 4000 and s.case_by_unit:  # many places: the busiest ones (report: all)
        kept = sorted(s.case_by_unit, key=lambda g: -g.received)[: len(s.case_by_unit) - 1]
        s = Stats(**{**s.__dict__, "case_by_unit": tuple(sorted(kept, key=lambda g: g.label))})
        text = render_telegram(s)
    return text


def _md_escape(text: str) -> str:
    for ch in "\\`*_[]|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def render_markdown(s: Stats, chart_file: str | None, generated: str) -> str:
    """The quarterly report as Markdown (the chart as an image beside it)."""
    p = s.period
    n = format_int
    md = [
        f"# Báo cáo kết quả thông tin, tuyên truyền qua Loa — {_md_escape(p.label)}",
        "",
        f"Kỳ báo cáo: {p.start:%d/%m/%Y} – {p.last_day:%d/%m/%Y}. Lập lúc {generated}.",
        "",
    ]
    if chart_file:
        md += [f"![Biểu đồ {_md_escape(p.label)}]({chart_file})", ""]
    md += [
        "## Đăng ký nhận tin",
        "",
        "| Loại | Đầu kỳ | Cuối kỳ | Thay đổi |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, a, b in (
        ("Cá nhân", s.subs_start.private, s.subs_end.private),
        ("Nhóm", s.subs_start.groups, s.subs_end.groups),
        ("Nhóm cán bộ", s.subs_start.cadre, s.subs_end.cadre),
        ("Tổng", s.subs_start.total, s.subs_end.total),
    ):
        md.append(f"| {label} | {n(a)} | {n(b)} | {format_change(b - a)} |")
    md += ["", f"Đăng ký mới: {n(s.subs_new)}; hủy hoặc chặn bot: {n(s.subs_left)}.", ""]
    md += [
        "## Phát tin",
        "",
        "| Chỉ tiêu | Số lượng |",
        "| --- | ---: |",
        f"| Bản tin đã gửi | {n(s.broadcasts)} |",
        f"| — thông báo | {n(s.announcements)} |",
        f"| — chỉ đạo | {n(s.directives)} |",
        f"| Tin nhắn đã đến | {n(s.delivered)} |",
        f"| Gửi lỗi | {n(s.failed)} |",
        f"| Bị chặn | {n(s.blocked)} |",
        "",
        "## Chỉ thị: tỷ lệ xác nhận theo đơn vị",
        "",
    ]
    if s.ack_by_unit:
        md += ["| Đơn vị | Đã nhận tin | Đã xác nhận | Tỷ lệ |", "| --- | ---: | ---: | ---: |"]
        for u in s.ack_by_unit:
            rate = format_percent(u.rate)
            md.append(f"| {_md_escape(u.unit)} | {n(u.delivered)} | {n(u.acked)} | {rate} |")
        md.append(
            f"| **Tổng** | {n(s.acks_delivered)} | {n(s.acks)} | {format_percent(s.ack_rate)} |"
        )
    else:
        md.append("Không có chỉ đạo nào được gửi trong kỳ.")
    md += [
        "",
        "## Bài viết",
        "",
        f"Bài viết đăng trong kỳ: {n(s.articles_published)}. Lượt mở thẻ bài: {n(s.card_opens)};"
        f" lượt đọc toàn văn: {n(s.fulltext_opens)}.",
        "",
    ]
    if s.top_articles:
        md += ["| # | Bài viết | Lượt mở | Đọc toàn văn |", "| ---: | --- | ---: | ---: |"]
        for i, art in enumerate(s.top_articles, 1):
            md.append(
                f"| {i} | {_md_escape(art.title or art.article_id)} | {n(art.card_opens)} |"
                f" {n(art.fulltext_opens)} |"
            )
        md.append("")
    md += [
        "## Ý kiến của Nhân dân",
        "",
        f"- Ý kiến nhận được: {n(s.comments_received)}",
        f"- Đã duyệt: {n(s.comments_approved)}; từ chối: {n(s.comments_rejected)}",
        f"- Đã trả lời: {n(s.comments_answered)}",
        f"- Thời gian trả lời (trung vị): {format_duration(s.answer_median_seconds)}",
        "",
    ]
    if s.case_total is not None:
        md += _casework_markdown(s)
    if s.missing:
        md += [f"_Chưa có dữ liệu: {_md_escape(', '.join(s.missing))}._", ""]
    return "\n".join(md)


def report_sections(s: Stats) -> list[tuple[str, list[str]]]:
    """(section title, plain-text lines) of a report, as the web console shows them."""
    return _lines(s)


def _casework_markdown(s: Stats) -> list[str]:
    """The casework tables of the quarterly report (by category, by unit)."""
    from bot.domain.casework import GOOD, POOR  # casework imports this module

    md: list[str] = []
    for title, rows in (
        ("Giải quyết ý kiến theo lĩnh vực", s.case_by_category),
        ("Giải quyết ý kiến theo địa bàn", s.case_by_unit),
    ):
        md += [
            f"## {title}",
            "",
            "| | Nhận | Đúng hạn | Trễ hạn | Chưa xong | Trung vị (ngày làm việc) |"
            " Hài lòng | Chưa hài lòng |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        total = s.case_total
        for g in [*rows, *([total] if total is not None else [])]:
            med = "—" if g.median_days is None else format_decimal(g.median_days)
            label = f"**{_md_escape(g.label)}**" if g is total else _md_escape(g.label)
            md.append(
                f"| {label} | {format_int(g.received)} | {format_int(g.on_time)} |"
                f" {format_int(g.late)} | {format_int(g.open)} | {med} |"
                f" {format_percent(g.share(GOOD))} | {format_percent(g.share(POOR))} |"
            )
        md += ["", "Trễ hạn gồm cả ý kiến đã quá hạn mà chưa có kết quả.", ""]
    return md
