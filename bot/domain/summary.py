"""Extractive summaries of Vietnamese news articles.

Method (no model, no word segmenter: Vietnamese is written as space-separated syllables,
so syllable n-grams work):
- each sentence becomes a TF-IDF vector over folded syllables and syllable pairs
  (stop syllables removed; IDF over the article's sentences);
- centrality: TextRank (PageRank on the cosine-similarity graph, damping 0.85);
- title similarity: cosine with the title's vector;
- figures: sentences carrying counts, money, percentages or measures get a boost
  (reports of results are what a cadre wants to read);
- position: news leads carry the "who did what, when" (inverted pyramid), so the first
  substantive sentence is always kept, and earlier sentences get a small prior;
- very short sentences and attendance lists ("Tham dự hội nghị có …") are damped;
- selection is greedy MMR: each next sentence maximises score − 0.5 × its highest
  similarity to what is already chosen, and near-duplicates (cosine > 0.6) are skipped.
The chosen sentences are returned in article order. Only body sentences are candidates:
the caller never passes the title, photo caption, byline or comment counter.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Collection, Sequence

from bot.domain.text import fold

# Sentences in an article card's summary unless LOA_SUMMARY_SENTENCES says otherwise (the
# default of Settings.summary_sentences; `loa digest` uses it without building Settings).
SUMMARY_SENTENCES = 3

# Folded Vietnamese function syllables (they say nothing about the topic).
_STOP = frozenset(
    [
        "va",
        "cua",
        "cac",
        "duoc",
        "trong",
        "cho",
        "voi",
        "la",
        "co",
        "da",
        "nhung",
        "mot",
        "de",
        "tai",
        "theo",
        "ve",
        "tu",
        "nay",
        "do",
        "khi",
        "thi",
        "nhu",
        "cung",
        "se",
        "dang",
        "vao",
        "ra",
        "len",
        "hon",
        "tren",
        "nhieu",
        "rat",
        "con",
        "nen",
        "ma",
        "hay",
        "hoac",
        "bi",
        "boi",
        "vi",
        "tat",
        "ca",
        "moi",
        "neu",
        "nham",
        "qua",
        "sau",
        "truoc",
        "giua",
        "ngoai",
        "lai",
        "van",
        "chua",
        "khong",
        "nay",
        "no",
        "ho",
        "chung",
        "ta",
        "toi",
        "ong",
        "ba",
        "anh",
        "chi",
        "em",
        "dong",
        "thoi",
        "viec",
        "nhu",
        "vay",
        "cu",
        "the",
        "gom",
        "o",
        "den",
        "toi",
    ]
)
_SYLLABLE = re.compile(r"[a-z0-9]+")
_ATTENDANCE = re.compile(r"^(?:tham du|du hoi nghi|cung du|du buoi|du le|co mat)\b")
# "Dự Đại hội có …", "Đến dự …": who attended (NFC lower case: folded "du" is ambiguous).
_ATTENDANCE_VI = re.compile(r"^(?:dự|tham dự|cùng dự|đến dự|về dự|có mặt)\s")
# A list item ("- …", "• …", "1. …", "a) …") or a lead-in ending with ":" does not stand alone.
_FRAGMENT = re.compile(r"^(?:[-–•+*]\s|\(?(?:\d{1,2}|[a-zđ])[.)]\s)")

WEIGHTS = {"centrality": 0.35, "title": 0.25, "figures": 0.20, "position": 0.20}
REDUNDANCY = 0.5
DUPLICATE = 0.6
MIN_SYLLABLES = 6
# A further summary sentence must score (after the redundancy penalty) at least this share
# of the best sentence's score.
ENOUGH = 0.5
# Candidates are the first MAX_CANDIDATES sentences: news puts what matters first, and
# the similarity graph is quadratic, so a 1 MB paste must not take seconds.
MAX_CANDIDATES = 120

Vector = dict[str, float]


_FOLD_TABLE: dict[int, str] = {}


def fast_fold(text: str) -> str:
    """fold() for NFC text, memoised per character (folding is per character on NFC)."""
    missing = {ch for ch in text if ord(ch) not in _FOLD_TABLE}
    for ch in missing:
        _FOLD_TABLE[ord(ch)] = fold(ch)
    return text.translate(_FOLD_TABLE)


def _terms(sentence: str) -> list[str]:
    syllables = [s for s in _SYLLABLE.findall(fast_fold(sentence)) if not s.isdigit()]
    terms = [s for s in syllables if s not in _STOP]
    terms.extend(
        f"{a}_{b}" for a, b in itertools.pairwise(syllables) if a not in _STOP or b not in _STOP
    )
    return terms


def _vectors(texts: Sequence[str]) -> list[Vector]:
    bags = [Counter(_terms(t)) for t in texts]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    n = len(texts)
    vectors: list[Vector] = []
    for bag in bags:
        vec = {t: (1 + math.log(c)) * math.log(1 + n / df[t]) for t, c in bag.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    return vectors


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _textrank(sim: list[list[float]], damping: float = 0.85, iterations: int = 30) -> list[float]:
    n = len(sim)
    if n == 0:
        return []
    out = [sum(row) for row in sim]
    # weights[i][j]: share of j's score that flows to i
    weights = [[sim[j][i] / out[j] if out[j] > 0 else 0.0 for j in range(n)] for i in range(n)]
    scores = [1.0 / n] * n
    base = (1 - damping) / n
    for _ in range(iterations):
        new = [
            base + damping * sum(w * s for w, s in zip(row, scores, strict=True)) for row in weights
        ]
        delta = sum(abs(a - b) for a, b in zip(new, scores, strict=True))
        scores = new
        if delta < 1e-6:
            break
    return scores


def score_sentences(
    sentences: Sequence[str], title: str = "", figure_counts: Sequence[int] | None = None
) -> list[float]:
    """A score per sentence in [0, ~1] (the first MAX_CANDIDATES); see the module docstring."""
    counts = figure_counts[:MAX_CANDIDATES] if figure_counts is not None else None
    return _score(sentences[:MAX_CANDIDATES], title, counts)[0]


def _score(
    sentences: Sequence[str], title: str, figure_counts: Sequence[int] | None
) -> tuple[list[float], list[list[float]]]:
    n = len(sentences)
    if n == 0:
        return [], []
    vectors = _vectors([*sentences, title])
    title_vec = vectors[-1]
    vectors = vectors[:-1]
    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            sim[i][j] = sim[j][i] = cosine(vectors[i], vectors[j])
    central = _textrank(sim)
    top = max(central) or 1.0
    counts = figure_counts or [0] * n
    scores: list[float] = []
    for i, sentence in enumerate(sentences):
        syllables = len(sentence.split())
        value = (
            WEIGHTS["centrality"] * central[i] / top
            + WEIGHTS["title"] * (cosine(vectors[i], title_vec) if title else 0.0)
            + WEIGHTS["figures"] * min(counts[i], 3) / 3
            + WEIGHTS["position"] * (1.0 / (1.0 + 0.3 * i))
        )
        if syllables < MIN_SYLLABLES:
            value *= 0.3
        if _ATTENDANCE.match(fast_fold(sentence).lstrip("–- ")) or _ATTENDANCE_VI.match(
            sentence.lower()
        ):
            value *= 0.4
        if _FRAGMENT.match(sentence) or sentence.endswith(":"):
            value *= 0.5
        scores.append(value)
    return scores, sim


def summarize(
    sentences: Sequence[str],
    title: str = "",
    k: int = 3,
    figure_counts: Sequence[int] | None = None,
    excluded: Collection[int] = (),
) -> list[int]:
    """Indices (in article order) of the 1..k sentences that summarise the article.

    `excluded` sentences (page furniture: headings, captions, bylines) are never chosen.
    k is the maximum: a further sentence is added only while its score (after the
    redundancy penalty) is at least ENOUGH × the lead's, so a short or single-fact
    article gets a shorter summary."""
    sentences = sentences[:MAX_CANDIDATES]
    if figure_counts is not None:
        figure_counts = figure_counts[:MAX_CANDIDATES]
    n = len(sentences)
    if n == 0 or k <= 0:
        return []
    scores, sim = _score(sentences, title, figure_counts)
    allowed = [i for i in range(n) if i not in excluded] or list(range(n))
    chosen: list[int] = []
    lead = next((i for i in allowed if len(sentences[i].split()) >= MIN_SYLLABLES), allowed[0])
    chosen.append(lead)
    floor = ENOUGH * max(scores[lead], max(scores[i] for i in allowed))
    while len(chosen) < min(k, n):
        best, best_value = -1, -math.inf
        for i in allowed:
            if i in chosen:
                continue
            overlap = max(sim[i][j] for j in chosen)
            if overlap > DUPLICATE:
                continue
            value = scores[i] - REDUNDANCY * overlap
            if value > best_value:
                best, best_value = i, value
        if best < 0 or best_value < floor:
            break
        chosen.append(best)
    return sorted(chosen)


def lead_baseline(sentences: Sequence[str], k: int = 3) -> list[int]:
    """Lead-k: the first k sentences (the baseline the method must beat)."""
    return list(range(min(k, len(sentences))))
