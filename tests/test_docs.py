"""The README and .env.example stay true as the project grows."""

from __future__ import annotations

import re
from pathlib import Path

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
