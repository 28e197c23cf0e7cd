"""Settings: defaults, parsing, and one clear line for every wrong value."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from tests.fakegram import FakeTelegram

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


def test_webhook_requires_a_valid_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOA_WEBHOOK_URL", "https://loa.example.vn/hook")
    with pytest.raises(SettingsError, match=r"^LOA_WEBHOOK_SECRET: must be set"):
        load_settings(_env_file=None)
    monkeypatch.setenv("LOA_WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(SettingsError, match=r"^LOA_WEBHOOK_SECRET: must be 1-256"):
        load_settings(_env_file=None)
    monkeypatch.setenv("LOA_WEBHOOK_SECRET", "ok_Secret-123")
    assert load_settings(_env_file=None).webhook_secret is not None


def test_missing_token_is_reported_only_when_needed() -> None:
    settings = load_settings(_env_file=None)
    with pytest.raises(SettingsError, match=r"^LOA_BOT_TOKEN"):
        settings.token()


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without LOA_* variables, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LOA_")}, **extra}


def _loa(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_check_validates_content_without_a_token(tmp_path: Path) -> None:
    """Editors check content with `loa check` on a machine that has no bot token."""
    result = _loa(["check"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hợp lệ" in result.stdout and "LOA_BOT_TOKEN: chưa đặt" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_run_without_token_fails_with_one_line(tmp_path: Path) -> None:
    result = _loa(["run"], tmp_path)
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


def test_cli_run_with_rejected_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: the API is unreachable
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _loa(
        ["run"], tmp_path, LOA_BOT_TOKEN=SECRET, LOA_BOT_API_URL=f"http://127.0.0.1:{port}/bot"
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    # The network is named as the cause, with the URL (LOA_BOT_API_URL is not the default).
    assert len(lines) == 1 and lines[0].startswith("loa: cannot reach the Bot API"), result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "network" in lines[0]
    assert "LOA_BOT_API_URL" in lines[0]
    assert SECRET not in result.stderr + result.stdout


async def test_cli_run_with_token_refused_by_the_api(tmp_path: Path) -> None:
    async with FakeTelegram(token="111:other-token") as fake:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "run"),
            cwd=tmp_path,
            env=_env(LOA_BOT_TOKEN=SECRET, LOA_BOT_API_URL=fake.base_url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = (out + err).decode()
    assert proc.returncode == 2, text
    assert "LOA_BOT_TOKEN was rejected" in text and SECRET not in text
    assert "Traceback" not in text and "Unclosed" not in text


def test_cli_migrate_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "x" / "loa.db")
    first = _loa(["migrate"], tmp_path, LOA_DB_PATH=db)
    second = _loa(["migrate"], tmp_path, LOA_DB_PATH=db)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith("schema version ")
    assert first.stdout.split()[2] == second.stdout.split()[2]
    assert int(first.stdout.split()[2]) >= 1
