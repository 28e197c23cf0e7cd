"""`loa check`: every broken content file is reported as path:line, good ones pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_check_reports_broken_articles_and_directives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    monkeypatch.setenv("LOA_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("LOA_CONTENT_DIR", str(content))
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0
    assert "hợp lệ" in capsys.readouterr().out

    (content / "articles" / "hong.md").write_text(
        "---\nid: hong\ntitle: Bài hỏng\ndate: 2022-02-30\n---\nNội dung.\n", encoding="utf-8"
    )
    (content / "directives" / "sai.md").write_text(
        "---\nquarter: 2022-Q9\ntitle: Sai quý\n---\nNội dung.\n", encoding="utf-8"
    )
    assert main(["check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"{content / 'articles' / 'hong.md'}:4: ") for line in err), err
    assert any(line.startswith(f"{content / 'directives' / 'sai.md'}:2: ") for line in err), err
    assert err[-1] == "Có 2 lỗi trong các tệp nội dung (xem ở trên)."
