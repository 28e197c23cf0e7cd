"""The `loa` command line meets user mistakes with one line, never a traceback; every
sub-command explains itself; output files follow one --force policy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.config import SettingsError, load_settings
from bot.store.db import Database

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LOA_")}, **extra}


def _loa(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An existing, migrated database in LOA_DB_PATH; the working folder is tmp_path."""
    db_path = tmp_path / "data" / "loa.db"

    async def create() -> None:
        async with Database(db_path):
            pass

    asyncio.run(create())
    for key in [k for k in os.environ if k.startswith("LOA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LOA_DB_PATH", str(db_path))
    monkeypatch.chdir(tmp_path)
    return db_path


def _one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_every_sub_command_has_a_description_and_an_example() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # argparse has no public way
    assert sub.choices
    for name, command in sub.choices.items():
        text = command.format_help()
        assert command.description, f"loa {name} --help has no description"
        assert "example:\n  " in text and "loa" in text.split("example:")[1], name


def test_version_and_help_exit_cleanly(tmp_path: Path) -> None:
    result = _loa(["--version"], tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("loa "), result
    result = _loa(["report", "--help"], tmp_path)
    assert result.returncode == 0 and "example:" in result.stdout


def test_export_output_policy(db_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp = db_env.parent.parent
    assert main(["export-feedback", "-o", str(tmp / "new" / "y.csv")]) == 0  # folder made
    assert (tmp / "new" / "y.csv").is_file()
    capsys.readouterr()
    assert main(["export-feedback", "-o", str(db_env / "y.csv")]) == 2  # under a file
    _one_line_error(capsys, "is a file")
    assert main(["export-feedback", "-o", str(tmp)]) == 2
    _one_line_error(capsys, "is a folder")
    out = tmp / "y.xlsx"
    assert main(["export-feedback", "-o", str(out)]) == 0
    assert out.read_bytes()[:2] == b"PK"  # an .xlsx (zip) chosen by the file name
    capsys.readouterr()
    assert main(["export-feedback", "-o", str(out)]) == 2
    _one_line_error(capsys, "exists", "--force")
    assert main(["export-feedback", "-o", str(out), "--force"]) == 0


def test_dates_and_limits_are_checked_by_the_parser(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ["audit", "--limit", "-1"],
        ["audit", "--limit", "0"],
        ["audit", "--since", "31/02/2022"],
        ["export-feedback", "--from", "hôm qua", "-o", "x.csv"],
    ):
        assert main(args) == 2
        assert "Traceback" not in capsys.readouterr().err
    # Both date forms work everywhere.
    assert main(["audit", "--since", "01/04/2022", "--limit", "5"]) == 0
    assert main(["audit", "--since", "2022-04-01"]) == 0


def test_report_beside_its_file_and_says_the_year(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = db_env.parent.parent
    assert main(["report", "--quarter", "2022-Q2", "-o", str(tmp)]) == 2
    _one_line_error(capsys, "is a folder")
    out = tmp / "bao-cao" / "quy2.md"
    assert main(["report", "--quarter", "Q2", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "this year" in captured.err and "-Q2" in captured.err
    assert (out.parent / "quy2.png").is_file() and out.is_file()
    assert not (tmp / "bao-cao.png").exists()
    assert main(["report", "--quarter", "Q2", "-o", str(out)]) == 2  # exists: --force
    assert main(["report", "--quarter", "Q2", "-o", str(out), "--force"]) == 0


def test_backup_uses_the_same_force_policy(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = db_env.parent.parent / "copy.db"
    assert main(["backup", str(target)]) == 0
    capsys.readouterr()
    assert main(["backup", str(target)]) == 2
    _one_line_error(capsys, "exists", "--force")
    assert main(["backup", str(target), "--force"]) == 0


def test_unwritable_places_are_one_line(tmp_path: Path) -> None:
    """A database or output folder that cannot be created: the path, no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _loa(["migrate"], tmp_path, LOA_DB_PATH=str(blocker / "loa.db"))
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert str(blocker) in result.stderr
    raw = tmp_path / "bai.txt"
    raw.write_text("Tiêu đề\n\nNội dung bài viết đủ dài.\n", encoding="utf-8")
    result = _loa(["import", str(raw), "--out", str(blocker / "out")], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(blocker) in result.stderr


def test_permission_error_names_the_owner_docker_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A root-owned bind mount: which folder needs which owner (uid 10001 in Docker)."""
    monkeypatch.setenv("LOA_DB_PATH", str(tmp_path / "data" / "loa.db"))

    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "data"))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["migrate"]) == 1
    line = _one_line_error(capsys, "chown -R 10001:10001")
    assert str(tmp_path) in line


def test_digest_reads_as_vietnamese(capsys: pytest.CaptureFixture[str]) -> None:
    article = next((ROOT / "content" / "articles").glob("*.md"))
    assert main(["digest", str(article)]) == 0
    out = capsys.readouterr().out
    assert "Tóm tắt:" in out and "Số liệu chính:" in out
    assert "[period]" not in out and "(câu 0)" not in out and "câu thứ" in out


def test_token_with_a_space_is_refused() -> None:
    with pytest.raises(SettingsError, match="LOA_BOT_TOKEN"):
        load_settings(bot_token="123:abc def", _env_file=None)
    assert load_settings(bot_token="123:abc-DEF_9", _env_file=None).token() == "123:abc-DEF_9"
