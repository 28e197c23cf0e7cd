"""Sentence splitting for Vietnamese news text (one paragraph line at a time).

A sentence ends at ".", "!", "?", "…" or "..." (plus closing quotes/brackets) when
whitespace and a sentence start (capital letter, digit, opening quote or bracket, dash)
follow, or at the end of the paragraph. It does not end:
- after an abbreviation that takes a dot (TP., TS., ThS., PGS., GS., BS., Q., P., TT., …)
  or a single capital initial ("Nguyễn V. An");
- inside numbers and codes ("12.000", "9.4", "quý I/2022", "COVID-19", "TP.HCM"): there is
  no whitespace after such a dot;
- at "…" / "..." followed by a lower-case word (the enumeration goes on).
A "sentence" longer than MAX_SENTENCE characters (a pasted table, a text without
punctuation) is cut at "; ", ", " or a space, so per-sentence work stays bounded.
"""

from __future__ import annotations

import re

from bot.domain.text import nfc

# Abbreviations written with a trailing dot that never end a sentence by themselves
# (compared case-sensitively, without the dot).
ABBREVIATIONS = frozenset(
    {
        "TP",
        "Tp",
        "tp",
        "TS",
        "ThS",
        "Ths",
        "PGS",
        "GS",
        "BS",
        "BSCKI",
        "BSCKII",
        "CKI",
        "CKII",
        "Q",
        "P",
        "TT",
        "TX",
        "H",
        "X",
        "KS",
        "KTS",
        "LS",
        "NSƯT",
        "NSND",
        "NGƯT",
        "NGND",
        "Th",
        "Ts",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "St",
        "No",
        "tr",
        "Tr",
        "PGS.TS",
        "GS.TS",
        "TS.BS",
        "ThS.BS",
        "Đ/c",
        "đ/c",
        "Đ.c",
        "ĐC",
        "ĐT",
        "Tel",
        "vs",
    }
)

# Candidate ends: terminal punctuation run, optional closing quotes/brackets, whitespace.
_END = re.compile(r"(\.{3}|…|[.!?]+)([”’\"')\]»]*)(\s+)")
_LIST_MARKER = re.compile(r"^\(?(?:\d{1,2}|[a-zđ]|[IVXL]{1,4})\)?$")
_STARTER = re.compile(r"[\"“‘'(\[«–—\-•]|\d|[^\W\d_]", re.UNICODE)


MAX_SENTENCE = 800


def _bounded(sentence: str) -> list[str]:
    """A sentence cut into pieces of at most MAX_SENTENCE characters (clause boundaries first)."""
    pieces: list[str] = []
    while len(sentence) > MAX_SENTENCE:
        window = sentence[:MAX_SENTENCE]
        cut = -1
        for sep in ("; ", ", ", " "):
            cut = window.rfind(sep, MAX_SENTENCE // 2)
            if cut > 0:
                cut += len(sep) - 1
                break
        if cut <= 0:
            cut = MAX_SENTENCE
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        pieces.append(sentence)
    return [p for p in pieces if p]


def split_paragraphs(text: str) -> list[str]:
    """Non-empty lines of a text, each a paragraph (NFC, trimmed)."""
    return [line.strip() for line in nfc(text).split("\n") if line.strip()]


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph line, in order, trimmed; never empty strings."""
    text = " ".join(nfc(paragraph).split())
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(text):
        end = match.start(3)
        following = text[match.end() :]
        if not following or not _is_boundary(
            text[start : match.start()], match.group(1), following
        ):
            continue
        piece = text[start:end].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    merged = _merge_fragments(sentences)
    if any(len(s) > MAX_SENTENCE for s in merged):
        merged = [piece for s in merged for piece in _bounded(s)]
    return merged


def _is_boundary(before: str, punct: str, following: str) -> bool:
    """Decide whether punctuation `punct` after `before` ends the sentence."""
    first = following[0]
    if not _STARTER.match(first):
        return False
    letter = first if first.isalpha() else _first_letter(following)
    if punct in ("…", "...") or punct.startswith(".."):
        # An enumeration "…, mạng xã hội… nhằm" goes on when lower case follows.
        return letter is None or letter.isupper() or first.isdigit() or not first.isalpha()
    if punct == "." and _LIST_MARKER.match(before.strip()):
        return False  # "1. Về kinh tế…", "a. …", "II. …"
    if punct == ".":
        last_word = before.rsplit(" ", 1)[-1] if before else ""
        last_word = last_word.lstrip("(\"“‘'[")
        if last_word in ABBREVIATIONS:
            return False
        if len(last_word) == 1 and last_word.isalpha() and last_word.isupper():
            return False  # an initial: "Nguyễn V. An"
        if first.isalpha() and first.islower():
            return False  # "v.v. và …", abbreviations we do not know
    elif first.isalpha() and first.islower():
        return False
    return True


def _first_letter(text: str) -> str | None:
    """The first letter of text (skipping quotes and brackets), or None."""
    for ch in text[:4]:
        if ch.isalpha():
            return ch
    return None


def _merge_fragments(sentences: list[str]) -> list[str]:
    """Join pieces that cannot be sentences (punctuation only) to their neighbour."""
    merged: list[str] = []
    for sentence in sentences:
        if merged and not any(ch.isalnum() for ch in sentence):
            merged[-1] = f"{merged[-1]} {sentence}"
        else:
            merged.append(sentence)
    return merged
