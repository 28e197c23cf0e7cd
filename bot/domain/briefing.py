"""The quarterly briefing (issue 16): a draft article in the style of the office's own
"giao ban công tác tuyên giáo" reports, written from the quarter's data.

The sample (shared/samples/) reports "tổ chức tuyên truyền lồng ghép được 350 buổi cho
hơn 12.000 lượt người nghe": large figures are rounded down to two significant digits
with "hơn" (more than), small ones are exact. Every figure written is also returned as a
`Fact`, so a test can check that Loa's own digest of the draft finds them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.domain.periods import Period
from bot.domain.stats import format_int, format_percent

# A comment counts as answered on time when answered within this many days.


@dataclass(frozen=True)
class PollSummary:
    """A poll closed in the quarter: its question, voters and the leading option."""

    question: str
    voters: int
    top_option: str | None
    top_share: float | None


@dataclass(frozen=True)
class BriefingData:
    """Everything the briefing reports for one quarter."""

    period: Period
    next_period: Period
    sessions: int = 0
    listeners: int = 0
    reporting_units: int = 0
    topics: Sequence[str] = ()  # most frequent first
    by_format: Sequence[tuple[str, int]] = ()  # (format label, sessions), most first
    directives: int = 0
    directive_groups: int = 0  # deliveries of directives that arrived
    directive_acks: int = 0
    announcements: int = 0
    articles: int = 0
    reads: int = 0
    comments: int = 0
    answered: int = 0
    answered_on_time: int = 0
    polls: Sequence[PollSummary] = field(default_factory=tuple)


@dataclass(frozen=True)
class Fact:
    """A figure as written: "hơn" or "", the number as printed, the noun after it."""

    qualifier: str
    value: str
    noun: str


@dataclass(frozen=True)
class Draft:
    """The briefing: title, paragraphs (one per topic) and the figures it states."""

    title: str
    paragraphs: tuple[str, ...]
    facts: tuple[Fact, ...]


def rounded(n: int) -> tuple[str, str]:
    """(qualifier, number) as the sample writes it: 350 → ("", "350");
    12345 → ("hơn", "12.000"); 12000 → ("", "12.000")."""
    if n < 1000:
        return "", format_int(n)
    step = 10 ** (len(str(n)) - 2)
    down = n - n % step
    return ("hơn" if down != n else ""), format_int(down)


class _Writer:
    """Collects sentences and the facts they state."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def exact(self, n: int, noun: str) -> str:
        self.facts.append(Fact("", format_int(n), noun))
        return f"{format_int(n)} {noun}"

    def approx(self, n: int, noun: str) -> str:
        qualifier, value = rounded(n)
        self.facts.append(Fact(qualifier, value, noun))
        return f"{qualifier} {value} {noun}".strip()


def _join(items: Sequence[str]) -> str:
    """ "a", "a và b", "a, b và c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " và " + items[-1]


def _quarter_name(p: Period) -> str:
    """ "quý I/2022" → "quý I" (the year is said once, at the start)."""
    return p.label.split("/")[0]


def write(data: BriefingData) -> Draft:
    """The draft article for `data`'s quarter."""
    w = _Writer()
    q, qn = data.period.label, _quarter_name(data.period)
    paragraphs = [
        f"Trong {q}, công tác tuyên giáo tiếp tục bám sát sự chỉ đạo của cấp trên để triển"
        " khai các chương trình, nhiệm vụ theo kế hoạch được giao, qua đó đạt được một số"
        " kết quả nhất định."
    ]
    if data.sessions:
        topics = _join(list(data.topics[:4]))
        about = f" về {topics}" if topics else ""
        text = (
            "Hoạt động của đội ngũ báo cáo viên tiếp tục được quan tâm. Trong"
            f" {qn}, các đơn vị đã tổ chức tuyên truyền được {w.exact(data.sessions, 'buổi')}"
            f" cho {w.approx(data.listeners, 'lượt người nghe')}{about}."
        )
        formats = [(label, n) for label, n in data.by_format if n]
        if len(formats) > 1:
            parts = [f"{format_int(n)} buổi {label}" for label, n in formats]
            text += f" Trong đó có {_join(parts)}."
        if data.reporting_units:
            text += (
                f" Đã có {w.exact(data.reporting_units, 'đơn vị')} gửi báo cáo kết quả"
                " tuyên truyền qua Loa."
            )
        paragraphs.append(text)
    else:
        paragraphs.append(
            f"Trong {qn}, chưa có đơn vị nào gửi báo cáo buổi tuyên truyền qua Loa; đề nghị"
            " các đơn vị báo cáo đầy đủ trong quý tới."
        )
    if data.directives:
        text = (
            f"Ban đã gửi {w.exact(data.directives, 'văn bản chỉ đạo')} đến các nhóm cán bộ,"
            f" với {w.exact(data.directive_groups, 'lượt nhóm')} nhận được"
        )
        if data.directive_groups:
            rate = format_percent(data.directive_acks / data.directive_groups)
            text += (
                f"; {w.exact(data.directive_acks, 'lượt nhóm')} đã xác nhận đã nhận, đạt {rate}."
            )
        else:
            text += "."
        paragraphs.append(text)
    news = []
    if data.announcements:
        news.append(f"gửi {w.exact(data.announcements, 'thông báo')} đến người đăng ký")
    if data.articles:
        reads = f" với {w.approx(data.reads, 'lượt đọc')}" if data.reads else ""
        news.append(f"đăng tải {w.exact(data.articles, 'tin bài')}{reads}")
    if news:
        paragraphs.append(
            "Công tác thông tin trên nền tảng số được đẩy mạnh nhằm tạo sức lan tỏa, nâng cao"
            f" hiệu quả tuyên truyền: Ban đã {_join(news)}."
        )
    opinion = (
        "Cùng đó, công tác theo dõi, nắm bắt tình hình dư luận xã hội trên địa bàn được duy"
        " trì thường xuyên."
    )
    if data.comments:
        opinion += (
            f" Ban đã tiếp nhận {w.exact(data.comments, 'ý kiến')} của Nhân dân và trả lời"
            f" {w.exact(data.answered, 'ý kiến')}"
        )
        if data.answered:
            opinion += (
                f", trong đó {w.exact(data.answered_on_time, 'ý kiến')} được trả lời đúng hạn."
            )
        else:
            opinion += "."
    for poll in data.polls[:3]:
        opinion += (
            f" Cuộc khảo sát «{poll.question.rstrip('?.… ')}» nhận được"
            f" {w.approx(poll.voters, 'lượt trả lời')}"
        )
        if poll.top_option and poll.top_share is not None:
            opinion += (
                f"; phương án «{poll.top_option}» được chọn nhiều nhất"
                f" ({format_percent(poll.top_share)})."
            )
        else:
            opinion += "."
    paragraphs.append(opinion)
    nq = data.next_period.label
    paragraphs.append(
        f"Về phương hướng, nhiệm vụ trọng tâm {nq}, công tác tuyên giáo tiếp tục hướng dẫn,"
        " đôn đốc việc triển khai các chỉ thị, nghị quyết của cấp trên; tăng cường nắm bắt,"
        " định hướng dư luận xã hội trên địa bàn; đẩy mạnh tuyên truyền về tình hình phát"
        " triển kinh tế – xã hội, quốc phòng – an ninh."
    )
    title = f"Kết quả công tác tuyên giáo {q}"
    return Draft(title, tuple(paragraphs), tuple(w.facts))


def to_markdown(draft: Draft, *, article_id: str, day: date, author: str) -> str:
    """The draft as a content file (YAML front matter + paragraphs), like articles/."""
    title = draft.title.replace("'", "''")
    front = [
        "---",
        f"id: {article_id}",
        f"title: '{title}'",
        f"date: {day.isoformat()}",
        f"author: {author}",
        "tags: [bao-cao-quy, ban-nhap]",
        "---",
        "",
        "",
    ]
    return "\n".join(front) + "\n\n".join(draft.paragraphs) + "\n"
