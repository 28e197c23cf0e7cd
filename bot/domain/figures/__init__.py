"""Key figures of a Vietnamese news article: numbers with what they count and a qualifier.

Pipeline per sentence (pure string work, no NLP model):
1. periods and dates are found first ("quý I/2022", "6 tháng đầu năm", "8/4", "10/12/2021",
   "ngày 8-4", "năm 2022", "giai đoạn 2021-2025") and their spans masked;
2. things that contain digits but are not figures are masked: document numbers
   ("03-NQ/TU", "Quyết định số 12"), names with digits ("COVID-19", "H5N1"), ordinals and
   identifiers ("lần thứ 9", "tổ 3", "Điều 5"), list numbering, clock times, phone numbers;
3. every remaining number (Vietnamese format: dot thousands, comma decimals, nghìn/triệu/tỷ)
   is read with its range partner, percent sign or unit, the qualifier before it
   (hơn, trên, gần, khoảng, đạt, tăng, giảm, vượt…) and its subject: the noun phrase after
   it ("lượt người nghe") or, for money, percentages and bare classifiers, the phrase
   before it ("tổng kinh phí", "buổi (tuyên truyền lồng ghép)").
Figures are then de-duplicated and ranked: the reporting period first, then the counts of
what was done (counts, money, percentages, measures, ranges) in article order, dates last.
"""

from __future__ import annotations

import dataclasses
import re

from bot.domain.figures.dates import _periods_and_dates
from bot.domain.figures.model import (
    KIND_ORDER,
    MAX_FIGURES,
    Figure,
    _mask,
    format_number,
    parse_number,
)
from bot.domain.figures.numbers import _LIST_MARK, _MASKS, _WORD_PERIOD, _numbers
from bot.domain.figures.roles import fill_roles, is_anaphor
from bot.domain.figures.subjects import _fill_subjects
from bot.domain.figures.vocab import QUALIFIERS_1, QUALIFIERS_2, QUALIFIERS_3, _mask_identifiers
from bot.domain.text import nfc

__all__ = [
    "KIND_ORDER",
    "MAX_FIGURES",
    "QUALIFIERS_1",
    "QUALIFIERS_2",
    "QUALIFIERS_3",
    "Figure",
    "card_figures",
    "dedupe",
    "extract_figures",
    "format_number",
    "parse_number",
    "rank",
    "sentence_figures",
]


def sentence_figures(
    sentence: str, index: int, *, first_in_paragraph: bool = False
) -> list[Figure]:
    """All figures of one sentence, in order of appearance."""
    sentence = nfc(sentence)
    if not any(ch.isdigit() for ch in sentence) and not _WORD_PERIOD.search(sentence):
        return []  # only "quý I", "sáu tháng đầu năm"… can be figures without digits
    chars = list(sentence)
    if first_in_paragraph:
        mark = _LIST_MARK.match(sentence)
        if mark:
            _mask(chars, mark.start(), mark.end())
    found = _periods_and_dates(sentence, chars)
    masked = "".join(chars)
    if any(ch.isdigit() for ch in masked):
        _mask_identifiers(masked, chars)
        masked = "".join(chars)
        for pattern in _MASKS:
            spans = [(m.start(), m.end()) for m in pattern.finditer(masked)]
            if spans:
                for start, end in spans:
                    _mask(chars, start, end)
                masked = "".join(chars)
    found.extend(_numbers(sentence, chars))
    found.sort(key=lambda f: f.start)
    _fill_subjects(sentence, found)
    fill_roles(sentence, found)
    return [
        Figure(
            value=f.value,
            qualifier=f.qualifier,
            subject=f.subject,
            kind=f.kind,
            sentence_index=index,
            position=f.start,
            number=f.number,
            subject_first=f.subject_first,
        )
        for f in found
    ]


def extract_figures(sentences: list[str], paragraph_starts: set[int] | None = None) -> list[Figure]:
    """Every figure of an article's body sentences, ranked and de-duplicated."""
    starts = paragraph_starts if paragraph_starts is not None else set()
    figures: list[Figure] = []
    for i, sentence in enumerate(sentences):
        found = sentence_figures(sentence, i, first_in_paragraph=i in starts)
        for j, f in enumerate(found):
            if is_anaphor(f.subject):
                # "Con số này gấp 2,3 lần …": the last quantity of the sentence before
                antecedent = next(
                    (
                        g
                        for g in reversed(figures)
                        if g.sentence_index == i - 1
                        and g.kind not in ("date", "period")
                        and g.subject
                        and not is_anaphor(g.subject)
                    ),
                    None,
                )
                if antecedent is not None:
                    found[j] = dataclasses.replace(
                        f, subject=antecedent.subject, subject_first=antecedent.subject_first
                    )
        figures.extend(found)
        if len(figures) >= MAX_FIGURES:
            break  # a pasted table, not an article: keep digest time bounded
    return rank(dedupe(figures))


def dedupe(figures: list[Figure]) -> list[Figure]:
    """Drop repeats: the same period/date once; the same value+subject once; a year-less
    quarter when the same quarter with its year is present."""
    seen: dict[tuple[str, str, str], int] = {}
    result: list[Figure] = []
    values = {f.value for f in figures if f.kind == "period"}
    for f in figures:
        key = (f.kind, f.value, "" if f.kind in ("period", "date") else f.subject.lower())
        if key in seen and (f.kind in ("period", "date") or seen[key] != f.sentence_index):
            continue  # equal values in one sentence are list items: "1 đồng chí …, 1 đồng chí …"
        if (
            f.kind == "measure"
            and f.value.endswith(" tháng")
            and not f.qualifier
            and any(v.startswith(f.value + " ") for v in values)
        ):
            continue  # "Trong 9 tháng, …" restates the reporting period "9 tháng đầu năm"
        if (
            f.kind == "period"
            and not re.search(r"\d{4}$", f.value)
            and any(v.startswith((f.value + "/", f.value + " ")) for v in values)
        ):
            full = next(v for v in values if v.startswith((f.value + "/", f.value + " ")))
            key = ("period", full, "")
            if key in seen:
                continue
            f = Figure(full, f.qualifier, f.subject, f.kind, f.sentence_index, f.position)
        seen.setdefault(key, f.sentence_index)
        result.append(f)
    return result


def rank(figures: list[Figure]) -> list[Figure]:
    """The reporting period first, then what was done (in article order), dates last."""
    return sorted(figures, key=lambda f: (KIND_ORDER.get(f.kind, 3), f.sentence_index, f.position))


def card_figures(figures: list[Figure], limit: int = 6) -> list[Figure]:
    """The figures a card shows: at most 2 periods and 1 date (each with its subject),
    then the best of the rest."""
    caps = {"period": 2, "date": 1}
    chosen: list[Figure] = []
    used: dict[str, int] = {}
    for f in figures:
        cap = caps.get(f.kind)
        if cap is not None and used.get(f.kind, 0) >= cap:
            continue
        if cap is not None and not f.subject.strip():
            continue  # a bare "quý I/2022" or "08/4" tells the reader nothing on a card
        used[f.kind] = used.get(f.kind, 0) + 1
        chosen.append(f)
        if len(chosen) >= limit:
            break
    return rank(chosen)
