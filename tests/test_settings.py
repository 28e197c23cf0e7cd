"""Settings: defaults, parsing, and one clear line for every wrong value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings

SECRET = "987654:SECRET-value-that-must-not-leak"


def test_defaults() -> None:
    settings = load_settings(_env_file=None)
    assert settings.bot_token is None
    assert settings.admin_ids == frozenset()
    assert str(settings.db_path) == "data/loa.db"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.global_rate == 30 and settings.group_rate == 20
    assert settings.bot_api_url == "https://api.telegram.org/bot"


def test_admin_ids_are_parsed_from_comma_separated_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOA_ADMIN_IDS", " 11, 22 ,33")
    assert load_settings(_env_file=None).admin_ids == frozenset({11, 22, 33})


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOA_BOT_TOKEN", SECRET)
    settings = load_settings(_env_file=None)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert settings.token() == SECRET


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOA_ADMIN_IDS", "12,abc"),
        ("LOA_ADMIN_CHAT_ID", "not-a-number"),
        ("LOA_TIMEZONE", "Mars/Olympus"),
        ("LOA_GLOBAL_RATE", "0"),
        ("LOA_GROUP_RATE", "-5"),
        ("LOA_WEBHOOK_PORT", "99999"),
        ("LOA_BOT_API_URL", "ftp://example"),
        ("LOA_LOG_LEVEL", "LOUD"),
        ("LOA_BOT_TOKEN", "no-colon-here"),
    ],
)
def test_wrong_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert "\n" not in message


def test_missing_token_is_reported_only_when_needed() -> None:
    settings = load_settings(_env_file=None)
    with pytest.raises(SettingsError, match=r"^LOA_BOT_TOKEN"):
        settings.token()


def _loa(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_check_without_token_fails_with_one_line(tmp_path: Path) -> None:
    result = _loa(["check"], tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "LOA_BOT_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_wrong_setting_never_prints_token_or_traceback(tmp_path: Path) -> None:
    result = _loa(["run"], tmp_path, LOA_BOT_TOKEN=SECRET, LOA_TIMEZONE="Nowhere/Land")
    assert result.returncode != 0
    assert "LOA_TIMEZONE" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_cli_migrate_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "x" / "loa.db")
    first = _loa(["migrate"], tmp_path, LOA_DB_PATH=db)
    second = _loa(["migrate"], tmp_path, LOA_DB_PATH=db)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith("schema version ")
    assert first.stdout.split()[2] == second.stdout.split()[2]
    assert int(first.stdout.split()[2]) >= 1
