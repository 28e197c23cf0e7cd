"""Polls (phiếu lấy ý kiến): what staff type, Telegram's poll limits, combining the results
of the native polls sent to many chats, and the results as text and as a table.

Telegram gives every sent poll its own id, so one Loa poll sent to 50 chats is 50 native
polls. Non-anonymous polls report each voter (`poll_answer` updates, Bot API "PollAnswer");
anonymous ones only per-option totals (`poll` updates). Both are combined here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.domain import clock
from bot.domain.errors import InvalidInput
from bot.domain.spreadsheets import Table
from bot.domain.stats import format_int, format_percent
from bot.domain.text import clean, fold

# Bot API sendPoll: question 1-300 characters, each option 1-100; the issue: 2-10 options.
MAX_QUESTION = 300
MAX_OPTION = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 10

USAGE = (
    "📊 <b>Tạo phiếu lấy ý kiến</b>: /khaosat rồi, trong cùng tin nhắn:\n"
    "dòng 1: câu hỏi; mỗi dòng sau: một phương án (2–10 phương án);\n"
    "tùy chọn, mỗi dòng một mục: «hạn: 25/12/2026 17:00» (hoặc «hạn: 3 ngày», «hạn: 5 giờ»),"
    " «chọn nhiều», «công khai» (biết ai chọn gì; mặc định ẩn danh).\n"
    "Ví dụ:\n<code>/khaosat Bạn biết đến chủ trương mới qua kênh nào?\n"
    "- Loa phát thanh\n- Mạng xã hội\n- Họp tổ dân phố\nhạn: 3 ngày\nchọn nhiều</code>"
)

_BULLET = re.compile(r"^\s*(?:[-•*+–]|\d{1,2}[.)]|[a-jA-J][.)])\s*")
_DEADLINE = re.compile(r"^(?:han|het han|dong luc|dong)\s*:?\s*(.+)$")
_RELATIVE = re.compile(r"^(\d{1,4})\s*(phut|gio|ngay|tuan)$")
_UNIT_SECONDS = {"phut": 60, "gio": 3600, "ngay": 86400, "tuan": 7 * 86400}


@dataclass(frozen=True)
class PollSpec:
    """A poll as staff asked for it."""

    question: str
    options: tuple[str, ...]
    multiple: bool
    anonymous: bool
    closes_at: int


def parse_poll(text: str, *, now: int, tz: tzinfo, default_hours: float) -> PollSpec:
    """Parse the /khaosat text; InvalidInput (Vietnamese, with the rule broken) otherwise."""
    lines = [ln for ln in clean(text).split("\n") if ln.strip()]
    if not lines:
        raise InvalidInput(USAGE)
    question = lines[0]
    options: list[str] = []
    multiple = False
    anonymous = True
    closes_at = now + int(default_hours * 3600)
    for line in lines[1:]:
        key = " ".join(fold(line).split())
        if key in ("chon nhieu", "nhieu lua chon", "nhieu phuong an"):
            multiple = True
        elif key in ("cong khai", "khong an danh"):
            anonymous = False
        elif key == "an danh":
            anonymous = True
        elif m := _DEADLINE.match(key):
            raw = line.split(":", 1)[1] if ":" in line else m[1]
            closes_at = parse_deadline(raw, now=now, tz=tz)
        else:
            option = _BULLET.sub("", line, count=1).strip()
            if option:
                options.append(option)
    if len(question) > MAX_QUESTION:
        raise InvalidInput(f"Câu hỏi dài {len(question)} ký tự; tối đa {MAX_QUESTION}.")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise InvalidInput(
            f"Cần từ {MIN_OPTIONS} đến {MAX_OPTIONS} phương án (mỗi dòng một phương án);"
            f" đang có {len(options)}.\n\n{USAGE}"
        )
    for option in options:
        if len(option) > MAX_OPTION:
            raise InvalidInput(
                f"Phương án «{html.escape(option[:30])}…» dài quá {MAX_OPTION} ký tự."
            )
    folded = [fold(o) for o in options]
    if len(set(folded)) != len(folded):
        raise InvalidInput("Có hai phương án giống nhau.")
    return PollSpec(question, tuple(options), multiple, anonymous, closes_at)


def parse_deadline(text: str, *, now: int, tz: tzinfo) -> int:
    """«3 ngày», «5 giờ», «30 phút» or «dd/mm/yyyy hh:mm»; at least a minute ahead."""
    key = " ".join(fold(text).split())
    if m := _RELATIVE.match(key):
        when = now + int(m[1]) * _UNIT_SECONDS[m[2]]
    else:
        try:
            when = clock.parse_local(text.strip(), tz)
        except InvalidInput:
            raise InvalidInput(
                "Hạn khảo sát không hợp lệ: ghi «hạn: dd/mm/yyyy hh:mm», «hạn: 3 ngày»"
                " hoặc «hạn: 5 giờ»."
            ) from None
    if when < now + 60:
        raise InvalidInput("Hạn khảo sát phải sau thời điểm hiện tại ít nhất một phút.")
    if when > now + 366 * 86400:
        raise InvalidInput("Hạn khảo sát không được quá một năm.")
    return when


def preview_html(spec: PollSpec, tz: tzinfo) -> str:
    """The poll as text (previews, approval requests, the broadcast's stored body)."""
    kind = "nhiều lựa chọn" if spec.multiple else "một lựa chọn"
    who = "ẩn danh" if spec.anonymous else "công khai người chọn"
    lines = [f"📊 <b>Khảo sát:</b> {html.escape(spec.question)}"]
    lines += [f"○ {html.escape(o)}" for o in spec.options]
    lines.append(f"<i>({kind}, {who}; hạn {clock.format_local(spec.closes_at, tz)})</i>")
    return "\n".join(lines)


@dataclass(frozen=True)
class Vote:
    """One voter's current answer in one native poll (non-anonymous polls)."""

    tg_poll_id: str
    option_ids: tuple[int, ...]


@dataclass(frozen=True)
class NativeTotals:
    """The latest per-option totals Telegram reported for one native poll."""

    tg_poll_id: str
    counts: tuple[int, ...]
    total_voters: int


@dataclass(frozen=True)
class Results:
    """A poll's results across every chat it went to."""

    options: tuple[str, ...]
    counts: tuple[int, ...]
    voters: int  # people who answered (an answer with several options counts once)
    chats: int  # chats the poll reached

    def share(self, index: int) -> float | None:
        """The share of voters who chose option `index` (None without voters)."""
        return self.counts[index] / self.voters if self.voters else None


def combine(
    options: Sequence[str],
    *,
    anonymous: bool,
    votes: Iterable[Vote],
    totals: Iterable[NativeTotals],
    chats: int,
) -> Results:
    """Sum the results of every native poll: per voter when voters are known, else the
    totals Telegram reported; an option index Telegram never offered is ignored."""
    counts = [0] * len(options)
    voters = 0
    if anonymous:
        for t in totals:
            voters += t.total_voters
            for i, n in enumerate(t.counts[: len(options)]):
                counts[i] += max(n, 0)
    else:
        for v in votes:
            chosen = {i for i in v.option_ids if 0 <= i < len(options)}
            if not chosen:
                continue  # a retracted vote
            voters += 1
            for i in chosen:
                counts[i] += 1
    return Results(tuple(options), tuple(counts), voters, chats)


def _bar(share: float | None, width: int = 10) -> str:
    filled = round((share or 0) * width)
    return "▇" * filled + "▁" * (width - filled)


def results_html(poll_id: int, question: str, results: Results, *, closed: bool) -> str:
    """Results for staff: one line per option with count, share and a bar."""
    state = "đã kết thúc" if closed else "đang diễn ra"
    lines = [f"📊 <b>Kết quả khảo sát #{poll_id}</b> ({state})", html.escape(question), ""]
    for i, option in enumerate(results.options):
        share = results.share(i)
        lines.append(
            f"{_bar(share)} {format_percent(share)} — {html.escape(option)}"
            f" ({format_int(results.counts[i])})"
        )
    lines.append("")
    lines.append(
        f"Số người trả lời: <b>{format_int(results.voters)}</b>"
        f" trong {format_int(results.chats)} cuộc trò chuyện nhận phiếu."
    )
    return "\n".join(lines)


def results_table(question: str, results: Results) -> Table:
    """Per-option counts and shares for the export."""
    rows: list[list[str | int | float | None]] = []
    for i, option in enumerate(results.options):
        share = results.share(i)
        rows.append([question, option, results.counts[i], None if share is None else share])
    return Table(["Câu hỏi", "Phương án", "Số lượt chọn", "Tỉ lệ"], rows, sheet="Khảo sát")


def voters_table(
    options: Sequence[str], rows: Iterable[tuple[str, int | None, Sequence[int], datetime]]
) -> Table:
    """Per-voter answers of a non-anonymous poll (voter ids of forgotten users are empty)."""
    out: list[list[str | int | float | datetime | None]] = []
    for chat, user_id, option_ids, at in rows:
        chosen = "; ".join(options[i] for i in option_ids if 0 <= i < len(options))
        out.append([chat, user_id, chosen, at])
    return Table(["Cuộc trò chuyện", "Mã người chọn", "Lựa chọn", "Thời điểm"], out, sheet="Phiếu")
