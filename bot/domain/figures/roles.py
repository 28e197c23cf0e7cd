"""Roles of dates and periods ("ngày tổ chức hội nghị", "kỳ báo cáo", "thời hạn …", "kỳ so
sánh"), shares without a subject of their own, and anaphors ("Con số này") resolved to the
figure they point back to."""

from __future__ import annotations

import re

from bot.domain.figures.model import _Found
from bot.domain.figures.vocab import _STOP_AFTER

# Verbs that say what happened on a date (news leads: "Sáng 9/4, X tổ chức hội nghị …").
_EVENT_VERBS = (
    "tổ chức",
    "khai mạc",
    "bế mạc",
    "diễn ra",
    "xảy ra",
    "công bố",
    "triển khai",
    "ban hành",
    "phát động",
    "ra quân",
    "trao",
    "tiếp nhận",
    "kiểm tra",
    "làm việc",
    "họp",
    "khánh thành",
    "khởi công",
    "bàn giao",
    "ký kết",
    "triệt phá",
    "bắt giữ",
    "phát hiện",
    "thăm",
    "dâng hương",
    "gặp mặt",
    "kỷ niệm",
    "hoàn thành",
    "tổng kết",
    "sơ kết",
    "quán triệt",
    "thông qua",
    "bầu",
    "giải ngân",
    "lật",
    "đón",
    "tiếp",
    "vay",
    "vào Đảng",
    "nâng cấp",
    "công nhận",
    "thực hiện",
    "tiêm",
    "thi",
    "đạt",
)
_EVENT = re.compile(r"\b(" + "|".join(sorted(_EVENT_VERBS, key=len, reverse=True)) + r")\b", re.I)
_DEADLINE = re.compile(r"\b(?:trước|hạn|chậm nhất|đến hết|hết|đến|tới)\s*(?:ngày|năm)?\s*$", re.I)
_COMPARISON = re.compile(r"\bso\s+với\b[^,;:]*$", re.I)
_MOMENT = re.compile(r"\bthời\s+điểm\s*(?:ngày)?\s*$|^\s*(?:đến|tính đến)\s+(?:ngày\s+)?$", re.I)
_CLAUSE_TIME = re.compile(
    r"^(?:\s|trong|hai|ba|các|những|từ|ngày|sáng|chiều|tối|trưa|đêm|rạng|hôm|khoảng|"
    r"giờ|vào|riêng|\d|§)*$",
    re.I,
)
_REVIEW = re.compile(r"\b(?:đánh giá|tổng kết|sơ kết|kiểm điểm|báo cáo|kết quả|tình hình)\b", re.I)
_PUNCT = re.compile(r"[,;:.()“”\"–]")
_ANAPHORS = ("con số này", "con số đó", "số này", "mức này", "kết quả này")


def _clause_before(sentence: str, start: int) -> str:
    head = sentence[:start]
    cut = max((m.end() for m in _PUNCT.finditer(head)), default=0)
    return head[cut:]


def _phrase_from(text: str, limit: int = 6) -> str:
    """Words of text up to punctuation, a digit or a stop word (after the first)."""
    words: list[str] = []
    for w in text.split():
        bare = w.strip(',;:.()“”"')
        if not bare or any(c.isdigit() for c in bare) or "§" in bare:
            break
        if words and bare.lower() in _STOP_AFTER:
            break
        words.append(bare)
        if bare != w.strip('“”"') or len(words) >= limit:
            break
    return " ".join(words)


def _verb_phrase(text: str, limit: int = 6) -> str:
    """The first event verb in text with what follows it: "tổ chức hội nghị tổng kết"."""
    m = _EVENT.search(text)
    if not m:
        return ""
    rest = _phrase_from(text[m.end() :], limit - 1) if text[m.end() : m.end() + 1] == " " else ""
    return f"{m.group(0)} {rest}".strip()


def _role(sentence: str, f: _Found) -> str:
    before = _clause_before(sentence, f.start)
    after = sentence[f.end :]
    if f.kind == "period" and _COMPARISON.search(before):
        return "kỳ so sánh"
    if f.kind == "date" and _MOMENT.search(before):
        return "thời điểm báo cáo"
    if _DEADLINE.search(before) and not re.search(r"\btừ\b", before, re.I):
        what = _verb_phrase(before) or _phrase_from(after.lstrip(" ,"), 5)
        return f"thời hạn {what}".strip()
    if f.kind == "period" and _REVIEW.search(before):
        return "kỳ báo cáo"  # "hội nghị đánh giá hoạt động xuất nhập khẩu quý I/2024"
    clause_start = bool(_CLAUSE_TIME.match(before))
    if f.kind == "period":
        rest = re.split(r"[,;:.]", after, maxsplit=1)[0]
        if clause_start or any(c.isdigit() for c in rest):
            return "kỳ báo cáo"
        what = _verb_phrase(before, 4)
        if what:
            return f"{'năm' if f.value.startswith('năm ') else 'thời gian'} {what}"
        return ""
    # a date
    noun = "thời gian" if "-" in f.value else "ngày"
    if clause_start:
        main = re.sub(r"^[\s,]+", "", after)
        main = re.sub(r"^(?:[^,;:.]*?\b)?(?:cho biết|thông tin|cho hay)\b\s*(?:đã\s+)?", "", main)
        what = _verb_phrase(main) or _verb_phrase(sentence[: f.start])
        return f"{noun} {what}" if what else ""
    what = _verb_phrase(before) or _verb_phrase(sentence[: f.start])
    return f"{noun} {what}" if what else ""


def fill_roles(sentence: str, found: list[_Found]) -> None:
    """Give dates and periods a role; give a bare share the count it is a share of
    ("630/847 khu dân cư …, chiếm 74,4%")."""
    for i, f in enumerate(found):
        if f.subject:
            continue
        if f.kind in ("date", "period"):
            f.subject = _role(sentence, f)
            continue
        prev = found[i - 1] if i else None
        if (
            f.kind == "percent"
            and prev is not None
            and prev.kind in ("count", "ratio")
            and prev.subject
            and re.fullmatch(r"[^\d,;]*,\s*(?:chiếm|đạt|bằng)?\s*", sentence[prev.end : f.start])
        ):
            f.subject = prev.subject


def is_anaphor(subject: str) -> bool:
    """ "Con số này", "Số này": a subject that points back to an earlier figure."""
    return subject.lower().startswith(_ANAPHORS)
