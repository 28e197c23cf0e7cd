"""The README and .env.example stay true as the project grows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        variable = f"LOA_{name.upper()}"
        assert re.search(rf"^{variable}=", ENV_EXAMPLE, re.M), f"{variable} not in .env.example"
        assert f"`{variable}`" in README, f"{variable} not in README.md"


def test_every_command_is_documented() -> None:
    app = build_application(load_settings(bot_token="1:x", _env_file=None))
    for info in app.bot_data["services"].commands:
        assert f"`/{info.name}`" in README, f"/{info.name} not in README.md"
        for alias in info.aliases:
            assert f"`/{alias}`" in README, f"/{alias} not in README.md"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 tasks.py test" in README
    assert "python3 tasks.py test" in ci


def test_generated_tables_are_current() -> None:
    """README's settings and commands tables and .env.example come from the code:
    after adding a setting or a command run `python3 tasks.py docs`."""
    from bot.docs import env_example, expected_readme

    assert expected_readme(README) == README, "README tables stale: run python3 tasks.py docs"
    assert env_example() == ENV_EXAMPLE, ".env.example stale: run python3 tasks.py docs"


def test_every_setting_has_its_own_description() -> None:
    descriptions = [f.description for f in Settings.model_fields.values()]
    assert all(descriptions), "every Settings field needs description="
    repeated = {d for d in descriptions if descriptions.count(d) > 1}
    assert not repeated, f"settings share a description: {repeated}"


def test_every_listed_command_is_handled() -> None:
    """Each name /help and the menus show (and each alias) reaches a CommandHandler."""
    from telegram.ext import CommandHandler, ConversationHandler

    app = build_application(load_settings(bot_token="1:x", _env_file=None))
    handled: set[str] = set()
    for group in app.handlers.values():
        for handler in group:
            inner = [handler]
            if isinstance(handler, ConversationHandler):
                inner = [*handler.entry_points, *handler.fallbacks]
            for h in inner:
                if isinstance(h, CommandHandler):
                    handled |= set(h.commands)
    for info in app.bot_data["services"].commands:
        for name in (info.name, *info.aliases):
            assert name in handled, f"/{name} is listed but no handler answers it"


def test_readme_run_line_pastes_into_a_shell() -> None:
    """No <placeholders> a shell would read as redirections in the set-up commands."""
    block = README.split("## Set-up", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert "<" not in block and ">" not in block, block


def test_dockerfile_runtime_stage() -> None:
    """The image runs as 10001:10001, exposes the webhook port, builds the font cache, and
    its runtime stage installs nothing (pip and setuptools are removed)."""
    runtime = (ROOT / "Dockerfile").read_text(encoding="utf-8").split("\nFROM ")[-1]
    assert "USER 10001:10001" in runtime and "--gid 10001" in runtime
    assert re.search(r"^EXPOSE 8443$", runtime, re.M)
    assert "matplotlib.font_manager" in runtime
    assert "pip uninstall -y -q pip setuptools" in runtime
    assert "pip install" not in runtime
    assert "chown -R 10001:10001" in README


def test_env_example_values_load_as_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """.env.example as generated is a valid .env: every value parses to the default."""
    import os
    import tempfile

    for key in [k for k in os.environ if k.startswith("LOA_")]:
        monkeypatch.delenv(key)
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False, encoding="utf-8") as f:
        f.write(ENV_EXAMPLE.replace("LOA_BOT_TOKEN=\n", "LOA_BOT_TOKEN=1:x\n"))
    try:
        loaded = load_settings(_env_file=f.name)
    finally:
        os.unlink(f.name)
    defaults = load_settings(bot_token="1:x", _env_file=None)
    for name in Settings.model_fields:
        if name != "bot_token":
            assert getattr(loaded, name) == getattr(defaults, name), name
