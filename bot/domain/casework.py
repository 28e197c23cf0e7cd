"""Ý kiến as casework (issue 15): categories, case states and their transitions,
deadlines in working days, reminders, ratings, public answers and quarterly figures.

Pure Python: no Telegram, no database. The store, the handlers, the reminder worker and
the CLI all call these functions, so each rule lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from bot.domain.errors import InvalidInput
from bot.domain.spreadsheets import CellValue, Table
from bot.domain.stats import format_percent, median
from bot.domain.text import clean, fold
from bot.domain.workdays import WorkCalendar

# --------------------------------------------------------------------------- categories

OTHER = "khác"  # always offered; comments from before casework migrate to it
DEFAULT_CATEGORIES = (
    "đất đai",
    "môi trường",
    "giao thông",
    "an ninh trật tự",
    "y tế",
    "giáo dục",
    "chính sách xã hội",
    OTHER,
)
MAX_CATEGORY_CHARS = 40  # a button label stays readable; callback data carries an index


def parse_categories(value: str | Iterable[str]) -> tuple[str, ...]:
    """ "đất đai, y tế" → ("đất đai", "y tế", "khác"): NFC, trimmed, unique (ignoring
    case and diacritics), "khác" added last when missing. ValueError when empty or long."""
    words = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    seen: set[str] = set()
    for word in words:
        name = clean(str(word))
        if not name:
            continue
        if len(name) > MAX_CATEGORY_CHARS:
            raise ValueError(f"category {name!r} is longer than {MAX_CATEGORY_CHARS} characters")
        key = fold(name)
        if key not in seen:
            seen.add(key)
            out.append(name)
    if not out:
        raise ValueError("needs at least one category")
    if fold(OTHER) not in seen:
        out.append(OTHER)
    return tuple(out)


def find_category(categories: Sequence[str], text: str) -> str | None:
    """The configured category matching `text` (case and diacritics ignored), or None."""
    key = fold(clean(text))
    for name in categories:
        if fold(name) == key:
            return name
    return None


def parse_category_days(value: str, categories: Sequence[str]) -> dict[str, int]:
    """ "đất đai=15, y tế=5" → {"đất đai": 15, "y tế": 5}; ValueError naming the bad part."""
    out: dict[str, int] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        name, sep, days = part.partition("=")
        category = find_category(categories, name)
        if not sep or category is None:
            raise ValueError(f"{part.strip()!r}: expected <category>=<working days>")
        if not days.strip().isdigit() or not 1 <= int(days) <= 365:
            raise ValueError(f"{part.strip()!r}: working days must be 1-365")
        out[category] = int(days)
    return out


# --------------------------------------------------------------------------- states

NEW = "moi"
IN_PROGRESS = "dang_xu_ly"
ANSWERED = "da_tra_loi"
CLOSED = "da_dong"
REFUSED = "tu_choi"
DUPLICATE = "trung_lap"
TRANSFERRED = "chuyen"

STATE_VI = {
    NEW: "Mới",
    IN_PROGRESS: "Đang xử lý",
    ANSWERED: "Đã trả lời",
    CLOSED: "Đã đóng",
    REFUSED: "Từ chối",
    DUPLICATE: "Trùng lặp",
    TRANSFERRED: "Chuyển cơ quan khác",
}
OPEN_STATES = frozenset({NEW, IN_PROGRESS})  # the deadline runs
# Where each state may go. Reopening (back to "đang xử lý") is allowed from every
# outcome: a follow-up or a "chưa hài lòng" may show the case was not settled.
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({IN_PROGRESS, ANSWERED, REFUSED, DUPLICATE, TRANSFERRED, CLOSED}),
    IN_PROGRESS: frozenset({ANSWERED, REFUSED, DUPLICATE, TRANSFERRED, CLOSED}),
    ANSWERED: frozenset({ANSWERED, CLOSED, IN_PROGRESS}),
    REFUSED: frozenset({CLOSED, IN_PROGRESS}),
    DUPLICATE: frozenset({CLOSED, IN_PROGRESS}),
    TRANSFERRED: frozenset({CLOSED, IN_PROGRESS}),
    CLOSED: frozenset({IN_PROGRESS}),
}
MAX_NOTE_CHARS = 300  # the body a case is transferred to, a reason


def check_transition(current: str, target: str) -> None:
    """InvalidInput (Vietnamese) when a case in `current` may not move to `target`."""
    if target not in STATE_VI:
        raise InvalidInput("Trạng thái không hợp lệ.")
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidInput(
            f"Không thể chuyển ý kiến từ «{STATE_VI.get(current, current)}» sang "
            f"«{STATE_VI[target]}»."
        )


def check_note(target: str, note: str | None) -> str | None:
    """The cleaned note; a transfer must name the body it goes to."""
    text = clean(note or "")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"Ghi chú quá dài (tối đa {MAX_NOTE_CHARS} ký tự).")
    if target == TRANSFERRED and not text:
        raise InvalidInput("Hãy ghi tên cơ quan nhận chuyển, ví dụ: /chuyen 12 UBND phường.")
    return text or None


def is_resolved(state: str) -> bool:
    """The office has given its outcome (answered, refused, duplicate, transferred, closed)."""
    return state not in OPEN_STATES


def citizen_notice(number: int, state: str, note: str | None) -> str | None:
    """What the citizen is told when their case changes state (plain text; None: nothing).

    Answers reach the citizen with the answer itself, so "đã trả lời" says nothing here.
    """
    head = f"Ý kiến #{number} của bạn"
    if state == IN_PROGRESS:
        return f"🔄 {head} đang được cán bộ xử lý."
    if state == REFUSED:
        return f"ℹ️ {head} không được tiếp nhận xử lý." + (f" Lý do: {note}" if note else "")
    if state == DUPLICATE:
        return f"ℹ️ {head} trùng với một ý kiến đã được xử lý." + (f" {note}" if note else "")
    if state == TRANSFERRED:
        return f"📤 {head} đã được chuyển đến {note or 'cơ quan có thẩm quyền'} để giải quyết."
    if state == CLOSED:
        return f"✅ {head} đã được giải quyết xong và đóng hồ sơ. Cảm ơn bạn!"
    return None


# --------------------------------------------------------------------------- deadlines


def due_date(received: date, days: int, calendar: WorkCalendar) -> date:
    """The day by which the office answers: `days` working days after receipt."""
    return calendar.add_workdays(received, days)


REMIND = "remind"
ESCALATE = "escalate"


def alert_for(due: date, today: date, calendar: WorkCalendar, remind_days: int) -> str | None:
    """REMIND when at most `remind_days` working days are left (due day included),
    ESCALATE once the due day has passed, else None. Only open cases ask."""
    if today > due:
        return ESCALATE
    if calendar.workdays_between(today, due) < remind_days:
        return REMIND
    return None


def format_day(day: date | None) -> str:
    """dd/mm/yyyy, or "—"."""
    return day.strftime("%d/%m/%Y") if day else "—"


def local_day(ts: int, tz: tzinfo) -> date:
    """The local date of unix seconds."""
    return datetime.fromtimestamp(ts, tz).date()


# --------------------------------------------------------------------------- ratings

GOOD, FAIR, POOR = "hai_long", "binh_thuong", "chua_hai_long"
RATING_VI = {GOOD: "😊 Hài lòng", FAIR: "😐 Bình thường", POOR: "☹️ Chưa hài lòng"}
RATING_CODES = {"g": GOOD, "f": FAIR, "p": POOR}  # in callback data


# --------------------------------------------------------------------------- public answers


def public_text(number: int, category: str, question: str, answer: str) -> str:
    """A published question and answer (plain text): no name, no id, the masked text."""
    return f"❓ Hỏi (ý kiến #{number}, lĩnh vực {category}):\n{question}\n\n💬 Trả lời:\n{answer}"


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class CaseFact:
    """What the quarterly figures need of one case."""

    category: str
    unit: str | None
    received: date
    due: date
    resolved: date | None  # first day the office gave an outcome
    rating: str | None


@dataclass(frozen=True)
class CaseFigures:
    """One row of the quarterly table (a category, a unit, or the total)."""

    label: str
    received: int
    on_time: int
    late: int  # resolved after the due day, or still open past it
    open: int  # not resolved yet (late ones included)
    median_days: float | None  # working days from receipt to outcome
    ratings: dict[str, int]

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    def share(self, rating: str) -> float | None:
        """The share of ratings that are `rating` (None: nobody rated)."""
        return self.ratings.get(rating, 0) / self.rated if self.rated else None


NO_UNIT_VI = "(không ghi địa bàn)"


def figures(
    facts: Iterable[CaseFact], calendar: WorkCalendar, today: date, *, by: str, label: str = ""
) -> list[CaseFigures]:
    """Figures grouped `by` "category" or "unit" (sorted by name), or one "total" row."""
    groups: dict[str, list[CaseFact]] = {}
    for f in facts:
        if by == "category":
            key = f.category
        elif by == "unit":
            key = f.unit or NO_UNIT_VI
        else:
            key = label or "Tổng"
        groups.setdefault(key, []).append(f)
    out = []
    for key in sorted(groups, key=fold):
        items = groups[key]
        on_time = sum(1 for f in items if f.resolved is not None and f.resolved <= f.due)
        late = sum(
            1
            for f in items
            if (f.resolved is not None and f.resolved > f.due)
            or (f.resolved is None and today > f.due)
        )
        days = [
            float(calendar.workdays_between(f.received, f.resolved))
            for f in items
            if f.resolved is not None
        ]
        ratings: dict[str, int] = {}
        for f in items:
            if f.rating:
                ratings[f.rating] = ratings.get(f.rating, 0) + 1
        out.append(
            CaseFigures(
                key,
                len(items),
                on_time,
                late,
                sum(1 for f in items if f.resolved is None),
                median(days),
                ratings,
            )
        )
    return out


def figures_line(g: CaseFigures) -> str:
    """One plain-text line of the table."""
    med = "—" if g.median_days is None else f"{g.median_days:g}".replace(".", ",")
    line = (
        f"{g.label}: nhận {g.received}; đúng hạn {g.on_time}; trễ hạn {g.late};"
        f" chưa xong {g.open}; trung vị {med} ngày làm việc"
    )
    if g.rated:
        line += (
            f"; hài lòng {format_percent(g.share(GOOD))},"
            f" chưa hài lòng {format_percent(g.share(POOR))} ({g.rated} đánh giá)"
        )
    return line


# --------------------------------------------------------------------------- export

EXPORT_COLUMNS = (
    "Số",
    "Ngày nhận",
    "Lĩnh vực",
    "Địa bàn",
    "Trạng thái",
    "Người xử lý",
    "Hạn trả lời",
    "Ngày có kết quả",
    "Đúng hạn",
    "Số ngày làm việc",
    "Đánh giá",
    "Chuyển đến",
    "Ý kiến",
    "Trả lời",
    "Ý kiến trước (theo dõi)",
)


@dataclass(frozen=True)
class ExportCase:
    """One case as exported (texts already masked)."""

    number: int
    received_at: datetime
    category: str
    unit: str | None
    state: str
    holder: str | None
    due: date
    resolved: date | None
    rating: str | None
    transferred_to: str | None
    text: str
    answer: str | None
    follow_up_of: int | None


def export_table(cases: Iterable[ExportCase], calendar: WorkCalendar, today: date) -> Table:
    """The cases as a Table (Vietnamese columns, typed cells) for CSV and .xlsx."""
    rows: list[list[CellValue]] = []
    for c in cases:
        if c.resolved is not None:
            on_time = "Có" if c.resolved <= c.due else "Không"
            days: int | None = calendar.workdays_between(c.received_at.date(), c.resolved)
        else:
            on_time = "Quá hạn" if today > c.due else "Chưa đến hạn"
            days = None
        rows.append(
            [
                c.number,
                c.received_at,
                c.category,
                c.unit or "",
                STATE_VI.get(c.state, c.state),
                c.holder or "",
                c.due,
                c.resolved,
                on_time,
                days,
                RATING_VI.get(c.rating or "", ""),
                c.transferred_to or "",
                c.text,
                c.answer or "",
                c.follow_up_of,
            ]
        )
    return Table(EXPORT_COLUMNS, rows, sheet="Ý kiến")


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class CasePolicy:
    """The office's casework settings in one value (built from Settings once)."""

    categories: tuple[str, ...]
    default_days: int
    category_days: dict[str, int]
    calendar: WorkCalendar
    tz: tzinfo
    remind_days: int = 2

    def days_for(self, category: str) -> int:
        """Working days to answer a case of this category."""
        return self.category_days.get(category, self.default_days)

    def due_for(self, created_at: int, category: str) -> date:
        """The due day of a case received at `created_at` (unix seconds)."""
        return due_date(local_day(created_at, self.tz), self.days_for(category), self.calendar)


@dataclass(frozen=True)
class Intake:
    """What the citizen chose besides the text: category, place, photo, consent, link."""

    category: str = OTHER
    unit: str | None = None
    photo_file_id: str | None = None
    photo_caption: str | None = None  # masked
    allow_publish: bool = False
    follow_up_of: int | None = None
    due: date | None = None
