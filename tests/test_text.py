"""Vietnamese text helpers."""

from __future__ import annotations

import unicodedata

from bot.domain.text import clean, fold, split_for_telegram, utf16_len


def test_fold_removes_marks_and_d() -> None:
    assert fold("Thành Uỷ") == fold("thành ủy") == "thanh uy"
    assert fold("Đảng") == "dang"
    assert fold(unicodedata.normalize("NFD", "Tuyên giáo")) == "tuyen giao"


def test_clean_normalises_and_trims() -> None:
    decomposed = unicodedata.normalize("NFD", "  Hội   nghị\u200b  ")
    assert clean(decomposed) == "Hội nghị"
    assert unicodedata.is_normalized("NFC", clean(decomposed))


def test_split_for_telegram_respects_paragraphs_and_limit() -> None:
    paragraphs = [(f"Đoạn {i}: " + "tuyên truyền " * 60).strip() for i in range(30)]
    text = "\n".join(paragraphs)
    parts = split_for_telegram(text)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # nothing lost, paragraphs intact
    assert all(p.startswith("Đoạn") for p in parts)


def test_split_cuts_a_giant_paragraph() -> None:
    giant = "chữ " * 3000
    parts = split_for_telegram(giant)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert " ".join(parts).split() == giant.split()
