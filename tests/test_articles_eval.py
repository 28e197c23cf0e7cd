"""Precision/recall of key figures and summaries against the hand-labelled test set.

tests/data/articles/*.txt are government-news articles in the sample's raw shape (one is the
sample itself, one is NFD-encoded); labels.json holds, per article, the summary an editor
would pick (3 sentence prefixes), every meaningful figure (value, kind, subject keyword,
qualifier) and digit strings that must never be figures.

tests/data/articles_sources/ (dev) and tests/data/articles_sources_heldout/ (held out: not
looked at while tuning) are articles in the styles of different sources (provincial papers,
Nhân Dân, provincial portals, statistical releases, Party committee sites) with page furniture
(bylines, mastheads, "Theo Báo …" lines, photo captions, all-caps headings, related links).
Their labels give every figure a hand-written subject noun phrase (dates and periods a role:
"ngày tổ chức hội nghị", "kỳ báo cáo") and list the furniture lines that must never be in a
summary ("furniture").

Metrics: figures P/R/F1 (a figure matches when value and unit agree); of matched figures,
subject syllable F1 (bag of lower-cased syllables, mean over figures; both empty = 1),
the share of empty subjects where the label has one, qualifier accuracy, kind accuracy;
summary sentence precision/recall against the editor's sentences, and Lead-3's.

Run `python -m tests.test_articles_eval` for a table over every set,
`python -m tests.test_articles_eval --details dev` (dev|heldout|old|old-heldout|old-heldout2)
for every mismatch of one set.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.domain.articles import digest, import_raw
from bot.domain.summary import lead_baseline
from bot.domain.text import nfc

DATA = Path(__file__).parent / "data" / "articles"
# Held-out set: written and labelled after the method was built, in styles the dev set lacks
# (congress, disaster, health, economy, school, speech-heavy, lists), with raw-shape variants
# (CRLF, BOM, NFD, no caption, no byline, mixed-case byline, "Ý kiến (12)", inner "Ảnh:" lines).
HELDOUT = Path(__file__).parent / "data" / "articles_heldout"
SOURCES = Path(__file__).parent / "data" / "articles_sources"
SOURCES_HELDOUT = Path(__file__).parent / "data" / "articles_sources_heldout"
SETS = {
    "dev": SOURCES,
    "heldout": SOURCES_HELDOUT,
    "old": DATA,
    "old-heldout": HELDOUT,
    "old-heldout2": HELDOUT.with_name("articles_heldout2"),
}


@dataclass
class Scores:
    """Aggregated metrics over the labelled set."""

    fig_tp: int = 0
    fig_pred: int = 0
    fig_gold: int = 0
    subject_ok: int = 0
    qualifier_ok: int = 0
    kind_ok: int = 0
    forbidden: int = 0
    sum_hits: int = 0
    lead_hits: int = 0
    sum_gold: int = 0
    sum_pred: int = 0
    lead_pred: int = 0
    articles: int = 0
    import_errors: int = 0
    subject_f1: float = 0.0  # summed over matched figures
    subject_empty: int = 0  # matched figures with a labelled subject but none predicted
    subject_labelled: int = 0  # matched figures whose label has a subject
    furniture: int = 0  # summary sentences that are page furniture

    @property
    def fig_f1(self) -> float:
        return self.f1(self.fig_precision, self.fig_recall)

    @property
    def subject_syllable_f1(self) -> float:
        return self.subject_f1 / self.fig_tp if self.fig_tp else 0.0

    @property
    def empty_share(self) -> float:
        return self.subject_empty / self.subject_labelled if self.subject_labelled else 0.0

    @property
    def qualifier_accuracy(self) -> float:
        return self.qualifier_ok / self.fig_tp if self.fig_tp else 0.0

    @property
    def sum_precision(self) -> float:
        return self.sum_hits / self.sum_pred if self.sum_pred else 0.0

    @property
    def sum_recall(self) -> float:
        return self.sum_hits / self.sum_gold if self.sum_gold else 0.0

    @property
    def lead_precision(self) -> float:
        return self.lead_hits / self.lead_pred if self.lead_pred else 0.0

    @property
    def lead_recall(self) -> float:
        return self.lead_hits / self.sum_gold if self.sum_gold else 0.0

    @property
    def fig_precision(self) -> float:
        return self.fig_tp / self.fig_pred if self.fig_pred else 0.0

    @property
    def fig_recall(self) -> float:
        return self.fig_tp / self.fig_gold if self.fig_gold else 0.0

    @staticmethod
    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0


def _labelled(data: Path = DATA) -> list[tuple[str, dict]]:
    labels = json.loads((data / "labels.json").read_text(encoding="utf-8"))
    return sorted(labels.items())


def _matches(sentence: str, prefixes: list[str]) -> bool:
    return any(sentence.startswith(nfc(p)) for p in prefixes)


_SYLLABLE = re.compile(r"[^\W_]+")


def syllable_f1(predicted: str, gold: str) -> float:
    """F1 of the two phrases' bags of lower-cased syllables (1.0 when both are empty)."""
    p = Counter(_SYLLABLE.findall(nfc(predicted).lower()))
    g = Counter(_SYLLABLE.findall(nfc(gold).lower()))
    if not p and not g:
        return 1.0
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def evaluate(details: list[str] | None = None, data: Path = DATA) -> Scores:
    """Run digest() over every labelled article and compare with the labels."""
    scores = Scores()
    for name, label in _labelled(data):
        raw = (data / name).read_text(encoding="utf-8")
        article = import_raw(raw, name=name, date=dt.date.fromisoformat(label["date"]))
        # the raw-import structure, where labelled
        for part in ("title", "caption", "author"):
            if part in label and getattr(article, part) != (label[part] and nfc(label[part])):
                scores.import_errors += 1
                if details is not None:
                    details.append(f"{name}: {part} {getattr(article, part)!r} != {label[part]!r}")
        for bad in label.get("body_excludes", []):
            if any(p.startswith(bad) for p in article.paragraphs):
                scores.import_errors += 1
                if details is not None:
                    details.append(f"{name}: body keeps a {bad!r} line")
        result = digest(article.paragraphs, article.title, k=3)
        scores.articles += 1
        # figures: a predicted figure is right when its value equals a gold value
        gold = [dict(f, value=nfc(f["value"])) for f in label["figures"]]
        unmatched = list(gold)
        for fig in result.figures:
            # equal values (list items "1 đồng chí …, 1 đồng chí …"): the best subject wins
            same = [g for g in unmatched if g["value"] == fig.value]
            hit = max(same, key=lambda g: syllable_f1(fig.subject, g["subject"]), default=None)
            if hit is None:
                if details is not None:
                    details.append(f"{name}: extra {fig.kind} {fig.value!r} ({fig.subject})")
                continue
            unmatched.remove(hit)
            scores.fig_tp += 1
            scores.kind_ok += hit["kind"] == fig.kind
            scores.subject_ok += nfc(hit["subject"]).lower() in fig.subject.lower()
            scores.qualifier_ok += nfc(hit["qualifier"]) == fig.qualifier
            scores.subject_f1 += syllable_f1(fig.subject, hit["subject"])
            if hit["subject"]:
                scores.subject_labelled += 1
                scores.subject_empty += not fig.subject
            if details is not None and (
                nfc(hit["subject"]).lower() not in fig.subject.lower()
                or nfc(hit["qualifier"]) != fig.qualifier
                or hit["kind"] != fig.kind
            ):
                details.append(
                    f"{name}: {fig.value!r} got {fig.kind}/{fig.qualifier!r}/{fig.subject!r},"
                    f" want {hit['kind']}/{hit['qualifier']!r}/{hit['subject']!r}"
                )
        if details is not None:
            details.extend(f"{name}: missed {g['value']!r}" for g in unmatched)
        scores.fig_pred += len(result.figures)
        scores.fig_gold += len(gold)
        scores.forbidden += sum(
            1 for fig in result.figures for bad in label["not_figures"] if fig.value == bad
        )
        # summaries: sentence-level overlap with the editor's three sentences
        prefixes = label["summary"]
        scores.sum_gold += len(prefixes)
        scores.sum_pred += len(result.summary)
        scores.sum_hits += sum(1 for s in result.summary if _matches(s, prefixes))
        furniture = label.get("furniture", [])
        scores.furniture += sum(1 for s in result.summary if _matches(s, furniture))
        if details is not None:
            details.extend(
                f"{name}: furniture in summary {s!r}"
                for s in result.summary
                if _matches(s, furniture)
            )
        lead = [result.sentences[i] for i in lead_baseline(result.sentences, 3)]
        scores.lead_pred += len(lead)
        scores.lead_hits += sum(1 for s in lead if _matches(s, prefixes))
        if details is not None:
            details.append(f"{name}: summary {list(result.summary_indices)}")
    return scores


def test_labelled_set_is_big_enough() -> None:
    assert len(_labelled()) >= 10
    assert sum(len(label["figures"]) for _, label in _labelled()) >= 100
    assert sum(len(_labelled(folder)) for folder in SETS.values()) >= 30
    assert len(_labelled(SOURCES)) + len(_labelled(SOURCES_HELDOUT)) >= 24
    # every source-styled figure label has a subject noun phrase or a role
    for folder in (SOURCES, SOURCES_HELDOUT):
        for _, label in _labelled(folder):
            assert all(f["subject"] for f in label["figures"]), label


def test_source_styled_dev_set() -> None:
    """Levels reached on the source-styled dev set (issue 13), minus a small margin."""
    s = evaluate(data=SOURCES)
    assert s.fig_precision >= 0.95 and s.fig_recall >= 0.97, report(s)
    assert s.forbidden == 0 and s.import_errors == 0, report(s)
    assert s.subject_syllable_f1 >= 0.78, report(s)
    assert s.empty_share <= 0.05, report(s)
    assert s.qualifier_accuracy >= 0.97, report(s)
    assert s.furniture == 0, report(s)
    assert s.sum_hits >= s.lead_hits, report(s)
    assert s.sum_precision >= 0.65, report(s)


def test_source_styled_heldout_set() -> None:
    """The held-out source-styled set (not looked at while tuning): measured levels."""
    s = evaluate(data=SOURCES_HELDOUT)
    assert s.fig_precision >= 0.88 and s.fig_recall >= 0.97, report(s)
    assert s.import_errors == 0, report(s)
    assert s.subject_syllable_f1 >= 0.67, report(s)
    assert s.empty_share <= 0.08, report(s)
    assert s.qualifier_accuracy >= 0.95, report(s)
    assert s.furniture == 0, report(s)
    assert s.sum_recall >= 0.78, report(s)


def test_figures_precision_and_recall() -> None:
    scores = evaluate()
    assert scores.fig_precision >= 0.85, scores
    assert scores.fig_recall >= 0.85, scores
    assert scores.forbidden == 0
    assert scores.kind_ok / scores.fig_tp >= 0.9
    assert scores.subject_ok / scores.fig_tp >= 0.75
    assert scores.qualifier_ok / scores.fig_tp >= 0.85


def test_summary_beats_lead3() -> None:
    scores = evaluate()
    ours = scores.sum_hits / scores.sum_gold
    lead = scores.lead_hits / scores.sum_gold
    assert ours > lead, (ours, lead)


def test_heldout_sets() -> None:
    """Both held-out sets (written after the method; see HELDOUT) keep their quality."""
    for data in (HELDOUT, HELDOUT.with_name("articles_heldout2")):
        scores = evaluate(data=data)
        assert scores.fig_precision >= 0.9 and scores.fig_recall >= 0.9, (data, scores)
        assert scores.forbidden == 0, data
        assert scores.subject_ok / scores.fig_tp >= 0.9, data
        assert scores.qualifier_ok / scores.fig_tp >= 0.9, data
        assert scores.import_errors == 0, data
        assert scores.sum_hits >= scores.lead_hits, data


def report(scores: Scores) -> str:
    """One line of the table: figures, subjects, qualifiers, summaries."""
    s = scores
    return (
        f"{s.articles:3d} art {s.fig_gold:4d} fig | P {s.fig_precision:.3f} R {s.fig_recall:.3f}"
        f" F1 {s.fig_f1:.3f} | subj-F1 {s.subject_syllable_f1:.3f}"
        f" empty {s.empty_share:.3f} | qual {s.qualifier_accuracy:.3f}"
        f" kind {s.kind_ok / max(s.fig_tp, 1):.3f} | forbidden {s.forbidden} |"
        f" summary P/R {s.sum_precision:.3f}/{s.sum_recall:.3f}"
        f" Lead-3 {s.lead_precision:.3f}/{s.lead_recall:.3f} | furniture {s.furniture}"
        f" | import errors {s.import_errors}"
    )


if __name__ == "__main__":
    import sys

    if "--details" in sys.argv:
        which = sys.argv[sys.argv.index("--details") + 1]
        notes: list[str] = []
        result = evaluate(notes, SETS[which])
        print("\n".join(notes))
        print(f"{which:13s} {report(result)}")
    else:
        for key, folder in SETS.items():
            print(f"{key:13s} {report(evaluate(data=folder))}")
