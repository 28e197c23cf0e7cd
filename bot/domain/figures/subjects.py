"""What a figure counts: the noun phrase after it or the phrase before it; qualifiers."""

from __future__ import annotations

import re

from bot.domain.figures.model import _Found
from bot.domain.figures.vocab import (
    _APPROX,
    _ASPECT,
    _CLASSIFIERS,
    _COMPOUNDS,
    _CUT_BEFORE,
    _DIRECTIONS,
    _STOP_AFTER,
    _TRIM,
    _VERB_OBJECT,
    QUALIFIERS_1,
    QUALIFIERS_2,
    QUALIFIERS_3,
)

_WORD = re.compile(r"[^\s]+")


# Verbs that can open a clause after a comma: "186 buổi, thu hút …" ends the noun phrase,
# "11 huyện, thành phố" goes on (coordinated nouns).
_CLAUSE_VERBS = frozenset(
    [
        "góp",
        "thu",
        "tạo",
        "giúp",
        "nâng",
        "đưa",
        "làm",
        "bảo",
        "hoàn",
        "thực",
        "triển",
        "xây",
        "hỗ",
        "trao",
        "tặng",
        "tham",
        "phục",
        "nộp",
        "tạm",
        "xử",
        "bắt",
        "khám",
        "vận",
        "huy",
        "gây",
        "chia",
        "phát",
        "đẩy",
        "tập",
        "đón",
        "mở",
        "giải",
        "kiểm",
        "tiếp",
        "ban",
        "đề",
        "yêu",
        "ký",
        "lắp",
        "sửa",
        "hướng",
        "cứu",
        "tìm",
        "khắc",
        "chỉ",
        "tổ",
        "quản",
        "vượt",
        "giữ",
        "cho",
        "nhận",
        "duy",
        "khẳng",
        "đánh",
        "góp",
        "tiến",
        "ra",
        "vào",
    ]
)
# A defining clause after the head noun: "hộ còn dư nợ", "đảng viên có vi phạm",
# "ngôi nhà bị ngập sâu"; a topic: "vụ phạm tội về ma túy", "nhà cho hộ nghèo".
_CLAUSE_OPENERS = frozenset({"có", "còn", "bị", "được"})
_TOPIC_OPENERS = frozenset({"về", "cho"})
_PREPOSITIONS = frozenset(
    [
        "với",
        "của",
        "tại",
        "trong",
        "cho",
        "về",
        "từ",
        "đến",
        "ở",
        "vào",
        "theo",
        "so",
        "bằng",
        "trên",
    ]
)
_NUMBER_WORDS = frozenset({"trăm", "nghìn", "ngàn", "chục", "triệu", "tỷ", "vạn"})
_SEGMENT = re.compile(r"[^,;:.()!?…]*")


def _segment_after(rest: str, pos: int) -> tuple[str, str]:
    """The words from pos to the next punctuation mark, and the mark ("" at the end)."""
    m = _SEGMENT.match(rest, pos)
    text = m.group(0) if m else ""
    end = pos + len(text)
    return text, rest[end : end + 1]


def _continues(rest: str, pos: int, max_words: int, clause: bool = False) -> bool:
    """Whether the clause from pos to the next punctuation mark may belong to the noun
    phrase: short, without numbers, and not opened by a verb or a function word."""
    text, mark = _segment_after(rest, pos)
    words = text.split()
    stop = next((i for i, w in enumerate(words) if i and w.lower() in _STOP_AFTER), None)
    if stop is not None:
        if words[stop].lower() not in _PREPOSITIONS:
            return False  # "…, toàn tỉnh đã hỗ trợ": a new clause
        words, mark = words[:stop], ""  # "huyện, thành phố với 200 xã": ends at "với"
    if not words or len(words) > max_words or any(c.isdigit() for c in " ".join(words)):
        return False
    first = words[0].lower().strip("“”\"'")
    if first in _STOP_AFTER or first in QUALIFIERS_1:
        return False
    if not clause and any(w.lower() in _CLAUSE_VERBS or w.lower() in _ASPECT for w in words):
        return False  # "…, tỉnh hoàn thành": a clause with its own verb
    return mark in ("", ",", ".", ";", ")")


def _tokens_after(sentence: str, end: int, limit: int = 12) -> list[str]:
    """The noun phrase after position `end`: words up to punctuation or a stop word; it
    takes in coordinated nouns after a comma ("huyện, thành phố"), a short defining clause
    ("hộ còn dư nợ") and a topic ("vụ phạm tội về ma túy")."""
    words: list[str] = []
    rest = sentence[end:]
    if rest[:1] not in ("", " ") or rest.lstrip()[:1] in ("(", "[", '"'):
        return words
    for m in _WORD.finditer(rest):
        raw = m.group(0)
        word = raw.strip("“”\"'()[]")
        stripped = word.rstrip(".,;:!?…)”\"'")
        if not stripped or not stripped[0].isalpha() or any(c.isdigit() for c in stripped):
            break
        low = stripped.lower()
        compound = bool(words) and f"{words[-1].lower()} {low}" in _COMPOUNDS
        if not compound and words and low in _VERB_OBJECT:
            # "412 trường đạt chuẩn quốc gia", "45 học sinh đạt giải": a defining clause
            nxt = rest[m.end() :].lstrip().split(" ", 1)[0].lower().rstrip(".,;:")
            compound = nxt in _VERB_OBJECT[low]
        if not compound and words and (low in _CLAUSE_OPENERS or low in _TOPIC_OPENERS):
            compound = _continues(rest, m.end(), 5, clause=True)
        if not compound and words and low in QUALIFIERS_1 and low not in _STOP_AFTER:
            # "hàng" in "lượt phương tiện chở hàng", "tổng" in "ma túy tổng hợp": a
            # qualifier only before a number ("hàng trăm", "tổng 5 tỷ")
            nxt = rest[m.end() :].lstrip().split(" ", 1)[0].lower()
            compound = not (any(c.isdigit() for c in nxt) or nxt in _NUMBER_WORDS)
        if words and not compound and (low in _STOP_AFTER or low in QUALIFIERS_1):
            break
        if not words and low in _STOP_AFTER:
            break
        if low == "và":
            following = rest[m.end() :].lstrip()
            clause = re.split(r"[,;:.()]", following, maxsplit=1)[0]
            if not following or any(c.isdigit() for c in clause) or len(words) >= 8:
                break
            nxt = following.split(" ", 1)[0].lower()
            if nxt in QUALIFIERS_1 or nxt in _STOP_AFTER:
                break
        words.append(stripped)
        if len(words) >= limit:
            break
        if stripped != word or raw.startswith("("):
            tail = word[len(stripped) :]
            if tail == "," and not raw.endswith(("”", '"')) and _continues(rest, m.end(), 4):
                words[-1] += ","
                continue  # "huyện, thành phố", "cán bộ, đảng viên tham dự"
            break
    while words and (
        (words[-1].lower() in _TRIM and " ".join(words[-2:]).lower() not in _COMPOUNDS)
        or words[-1].lower() in _DANGLING
    ):
        words.pop()  # "… lần thứ" (its number was cut off) is no subject
    if words:
        words[-1] = words[-1].rstrip(",")
    return words


_OPENERS = ("trong đó", "trong số đó", "riêng", "đặc biệt", "ngoài ra", "bên cạnh đó", "cụ thể")
_PARENS = re.compile(r"\([^()]*\)")
# Adverbs between a subject and its figure ("lần lượt đạt 97,5% và 96,3%").
_ADVERBS = ("lần lượt", "tương ứng", "hiện", "ước")
# Verbs after which the object names the figure ("là đạt tỷ lệ bao phủ trên 95%").
_LINK_VERBS = frozenset({"là", "đạt", "chiếm", "gồm", "bằng"})


# Words opening a clause that are never part of its subject.
_LEADING = frozenset(
    [
        "trong",
        "sáng",
        "chiều",
        "tối",
        "trưa",
        "đêm",
        "sau",
        "từ",
        "theo",
        "tại",
        "khi",
        "nếu",
        "riêng",
        "ngoài",
        "đến",
        "qua",
        "hiện",
    ]
)
# Cause markers: the subject is what follows ("Nguyên nhân chủ yếu do nguồn thu …").
_CAUSES = frozenset({"do", "vì", "bởi", "nhờ"})
# Words left dangling when a period or date in the phrase is cut off ("Lạm phát cơ bản tháng").
_TIME_WORDS = frozenset({"tháng", "năm", "quý", "ngày", "kỳ", "đợt", "I", "II", "III", "IV"})


def _phrase_before(sentence: str, start: int, limit: int = 14) -> list[str]:
    """The phrase before position `start` back to punctuation: "X là N" names X; else the
    verb phrase after an aspect marker ("đã tổ chức tuyên truyền"), narrowed to what
    follows "với" ("với tổng vốn đăng ký") or a linking verb, up to a preposition."""
    head = _PARENS.sub(" ", sentence[:start])  # asides: "tăng trưởng kinh tế (GRDP)"
    cut = max(head.rfind(p) for p in (",", ";", ":", "(", ")", "–", "—", "“", '"', ". "))
    segment = head[cut + 1 :] if cut >= 0 else head
    tail = [w for w in segment.split() if w.lower() not in QUALIFIERS_1 | _LINK_VERBS | _TRIM]
    if cut >= 0 and head[cut] == "," and 0 < len(tail) == len(segment.split()) <= 2:
        # "Ngành chế biến, chế tạo tăng 1,6%", "Giá trị sản xuất nông, lâm nghiệp đạt …":
        # a short tail coordinated with the words before the comma
        prev_cut = max(head.rfind(p, 0, cut) for p in (",", ";", ":", "(", ")", "–", ". "))
        previous = head[prev_cut + 1 : cut].split()
        if (
            0 < len(previous) <= 6
            and not any(c.isdigit() for c in " ".join(previous))
            and previous[0].lower() not in _LEADING
            and previous[0].lower() not in QUALIFIERS_1
            and not any(w.lower() in _ASPECT or w.lower() in _LINK_VERBS for w in previous)
        ):
            segment = head[prev_cut + 1 :] if prev_cut >= 0 else head
    words = [w.strip("“”\"'()") for w in segment.split()]
    words = [w for w in words if any(c.isalnum() for c in w)]  # bullets "-", "•"
    # drop the qualifiers right before the number
    while words:
        if len(words) >= 2 and " ".join(words[-2:]).lower() in QUALIFIERS_2:
            del words[-2:]  # "bình quân", "ước đạt": both syllables
        elif words[-1].lower() in QUALIFIERS_1 or (
            words[-1].lower() in _TRIM and words[-1].lower() != "là"
        ):
            words.pop()
        else:
            break
    # discourse markers opening the clause: "trong đó xuất khẩu đạt …"
    for marker in _OPENERS:
        n = len(marker.split())
        if len(words) > n and " ".join(words[:n]).lower() == marker:
            words = words[n:]
    for adverb in _ADVERBS:
        n = len(adverb.split())
        if " ".join(words[-n:]).lower() == adverb:
            words = words[:-n]
    if len(words) > 1 and words[-1].lower() == "là":
        # "Tổng vốn đầu tư công được giao năm 2023 là 4.120 tỷ đồng": the subject is
        # the noun phrase before the copula, up to its first verb or preposition
        words = words[:-1]
        for i, w in enumerate(words):
            if i > 0 and (w.lower() in _ASPECT or w.lower() in _CUT_BEFORE):
                words = words[:i]
                break
    else:
        if words and words[-1].lower() == "là":
            words.pop()
        rate = " ".join(words[:2]).lower() in ("tỷ lệ", "tỉ lệ", "tổng số")
        if not rate and any(w.lower() in _ASPECT for w in words[:-1]):
            # "tỉnh đã bố trí": the verb phrase; but in "tỷ lệ hồ sơ được xử lý trực tuyến"
            # the passive clause belongs to the rate's noun
            last = max(i for i, w in enumerate(words[:-1]) if w.lower() in _ASPECT)
            receiver = [w for w in words[:last] if w.lower() not in _ASPECT]
            passive = words[last].lower() == "được"
            words = words[last + 1 :]
            if passive and len(words) <= 2 and 0 < len(receiver) <= 5:
                # "Mỗi căn nhà xây mới được hỗ trợ 50 triệu đồng": what is given to whom
                words = [*words, receiver[0].lower(), *receiver[1:]]
        # "… với tổng trị giá 420 triệu đồng": the phrase after the last "với" names it
        last_with = [i for i, w in enumerate(words[:-1]) if w.lower() == "với"]
        if last_with:
            words = words[last_with[-1] + 1 :]
        link = [i for i, w in enumerate(words[:-1]) if i > 0 and w.lower() in _LINK_VERBS]
        if link:
            words = words[link[-1] + 1 :]
        for i, w in enumerate(words):
            nxt = " ".join(words[i + 1 : i + 3]).lower()
            if (
                i > 0
                and w.lower() in _CUT_BEFORE
                and not (w.lower() == "trên" and nxt == "địa bàn")
            ):
                words = words[:i]
                break
    cause = [i for i, w in enumerate(words[:-1]) if w.lower() in _CAUSES]
    if cause and " ".join(words[:2]).lower() in ("nguyên nhân", "lý do", "lí do"):
        words = words[cause[-1] + 1 :]
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w) or "§" in w:
            words = words[:i]
            break
    while words and (words[-1] in _TIME_WORDS or words[-1].lower() in _TIME_WORDS):
        words.pop()
    while words and (
        (words[0].lower() in _TRIM and " ".join(words[:2]).lower() not in _COMPOUNDS)
        or (words[0].lower() in _LEADING and len(words) > 1)
    ):
        words.pop(0)
    while words and words[-1].lower() in _TRIM:
        words.pop()
    return words[:limit]


def _qualifier(sentence: str, start: int) -> str:
    words = sentence[:start].split()[-3:]
    lows = [w.lower() for w in words]
    if lows and lows[-1][-1:] in ",;:":
        return ""  # punctuation separates the word from the number
    if len(lows) == 3 and " ".join(lows) in QUALIFIERS_3:
        return " ".join(lows)
    lows = lows[-2:]
    if len(lows) == 2 and " ".join(lows) in QUALIFIERS_2:
        return " ".join(lows)
    if lows and lows[-1] in QUALIFIERS_1:
        if (
            len(lows) == 2
            and lows[0] in _DIRECTIONS
            and lows[-1] in _APPROX
            and lows[0] != lows[-1]
        ):
            return " ".join(lows)
        return lows[-1]
    return ""


def _subject(sentence: str, start: int, end: int, kind: str) -> tuple[str, bool]:
    after = _tokens_after(sentence, end)
    qual = _qualifier(sentence, start)
    qual_start = start
    if qual:
        qual_start = sentence.lower().rfind(qual, 0, start)
        qual_start = qual_start if qual_start >= 0 else start
    before = _phrase_before(sentence, qual_start)
    if kind in ("percent", "ratio") and not after:
        base = _COMPARED.match(sentence, end)
        if base:
            # "tăng 15,5% so với cùng kỳ năm trước": the percent is of the comparison base
            return base.group(1), False
    if kind == "percent" and after:
        return " ".join(after), False
    if kind in ("money", "percent"):
        if before:
            purpose = _PURPOSE.match(sentence, end)
            if kind == "money" and len(before) <= 2 and purpose:
                goal = _tokens_after(sentence, purpose.end() - 1, limit=6)
                if goal:
                    return f"{' '.join(before)} {purpose.group(1)} {' '.join(goal)}", True
            if kind == "money" and len(before) <= 2 and after:
                # "thu giữ thêm 150 triệu đồng tiền mặt", "đóng góp 86 tỷ đồng xây dựng …"
                return f"{' '.join(before)} {' '.join(after)}", True
            return " ".join(before), True
        return " ".join(after), False
    unit = sentence[start:end].split()[-1].lower() if kind == "measure" else ""
    if unit in _DURATIONS:
        # "Sau 3 năm thực hiện", "Kỳ họp diễn ra trong 2 ngày": how long something took
        what = after or before
        if what:
            return f"thời gian {' '.join(what)}", False
        return "", False
    if kind == "ratio" and before and _qualifier(sentence, start) == "gấp":
        return " ".join(before), True  # "Con số này gấp 2,3 lần cùng kỳ"
    if (
        after
        and len(after) == 1
        and before
        and (after[0].lower() in _CLASSIFIERS or kind == "measure")
    ):
        return f"{after[0]} ({' '.join(before)})", False
    if after:
        return " ".join(after), False
    if before:
        return " ".join(before), True
    return "", False


_DANGLING = frozenset({"thứ", "lần", "số", "khóa", "khoá", "kỳ", "đợt", "ngày", "tháng"})
_PURPOSE = re.compile(r"\s+(cho|để)\s")
_COMPARED = re.compile(r"\s+(so\s+với\s+[^,;:.()]{2,40}?)\s*(?=[,;:.()]|$|\s+(?:và|nhưng)\s)")
_DURATIONS = frozenset({"năm", "tháng", "ngày", "tuần", "giờ"})
_COORDINATION = re.compile(r"^\s*(?:,|và|,\s*và|hoặc)\s*$")
_RATE_HEAD = re.compile(r"\b(?:tỷ lệ|tỉ lệ)\s", re.IGNORECASE)


def _fill_subjects(sentence: str, found: list[_Found]) -> None:
    """Subjects a figure shares with its neighbours: "lần lượt đạt 97,5% và 96,3%" (the
    second is coordinated with the first); a percentage without a subject of its own
    counts the "tỷ lệ …" (rate) named earlier in its sentence."""
    for i, f in enumerate(found):
        if f.subject or f.kind in ("period", "date"):
            continue
        prev = found[i - 1] if i else None
        if (
            prev is not None
            and prev.subject
            and prev.kind == f.kind
            and _COORDINATION.match(sentence[prev.end : f.start].replace(f.qualifier, "", 1))
        ):
            f.subject, f.subject_first = prev.subject, prev.subject_first
            continue
        if f.kind == "percent" or (f.kind == "range" and f.value.endswith("%")):
            heads = list(_RATE_HEAD.finditer(sentence, 0, f.start))
            if heads:
                head = heads[-1]
                words = _tokens_after(sentence, head.end() - 1, limit=8)
                if words:
                    f.subject = f"{head.group(0).strip()} {' '.join(words)}"
                    f.subject_first = True
