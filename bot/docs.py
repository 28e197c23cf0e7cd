"""The generated parts of the docs: README's settings and commands tables and .env.example.

`python3 tasks.py docs` (= `python -m bot.docs`) rewrites them from the Settings field
descriptions and the command list; tests/test_docs.py fails when they are out of step.
Re-run it after adding a setting or a command (merges included).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config import Settings
from bot.domain.roles import Role, allows

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MARK = "settings"
COMMANDS_MARK = "commands"

_WHERE = {"all": "anywhere", "private": "private chat", "groups": "groups"}


def _plain(value: Any) -> str:
    """A default value as one types it in the environment."""
    if value is None or value == frozenset() or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple | list | frozenset):
        items = [str(v) for v in value]
        # Lists whose items hold commas are `;`-separated (e.g. LOA_OUTREACH_TOPICS).
        return (";" if any("," in v for v in items) else ",").join(items)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def settings_rows() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no description= (bot/config.py)")
        rows.append((f"LOA_{name.upper()}", _plain(field.default), field.description))
    return rows


def settings_table() -> str:
    """The README settings table."""
    lines = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for variable, default, description in settings_rows():
        shown = f"`{default}`" if default else "—"
        lines.append(f"| `{variable}` | {shown} | {description.replace('|', chr(92) + '|')} |")
    return "\n".join(lines)


def env_example() -> str:
    """.env.example: every setting with its description and default."""
    out = [
        "# Loa settings. Copy to .env (or export the variables); every name starts with LOA_.",
        "# A wrong value stops `loa run` / `loa check` with one line naming the setting.",
        "# Generated from bot/config.py by `python3 tasks.py docs`; edit the descriptions there.",
    ]
    for variable, default, description in settings_rows():
        out.append("")
        out.extend(f"# {line}" for line in _wrap(description, 88))
        out.append(f"{variable}={default}")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap on spaces (never inside a word or a `code` span without spaces)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


def _who(permission: str | None) -> str:
    if permission is None:
        return "everyone"
    roles = [r for r in Role if allows(r, permission)]
    if len(roles) == len(Role):
        return "all staff"
    return ", ".join(str(r) for r in roles)


def commands_table(commands: list[Any]) -> str:
    """The README commands table from the registered CommandInfo list."""
    lines = [
        "| command | also works as | who | where | what (as shown in Telegram) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for info in commands:
        aliases = ", ".join(f"`/{a}`" for a in info.aliases) or "—"
        what = info.description.replace("|", "\\|")
        where = _WHERE.get(info.chats, info.chats)
        if info.permission is not None:
            where = "private chat, admin chat"
        lines.append(f"| `/{info.name}` | {aliases} | {_who(info.permission)} | {where} | {what} |")
    return "\n".join(lines)


def registered_commands() -> list[Any]:
    """The command list of a freshly built Application (nothing is started)."""
    from bot.app import build_application
    from bot.config import load_settings

    app = build_application(load_settings(bot_token="1:x", _env_file=None))
    return list(app.bot_data["services"].commands)


def splice(text: str, mark: str, body: str) -> str:
    """Replace what lies between <!-- mark:begin --> and <!-- mark:end --> with body."""
    pattern = re.compile(rf"(<!-- {mark}:begin -->\n).*?(<!-- {mark}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md lacks the <!-- {mark}:begin/end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def expected_readme(readme: str) -> str:
    """README.md with both generated tables brought up to date."""
    readme = splice(readme, SETTINGS_MARK, settings_table())
    return splice(readme, COMMANDS_MARK, commands_table(registered_commands()))


def main() -> int:
    """Rewrite README.md's tables and .env.example; print which files changed."""
    changed = []
    readme_path, env_path = ROOT / "README.md", ROOT / ".env.example"
    readme = readme_path.read_text(encoding="utf-8")
    new_readme = expected_readme(readme)
    if new_readme != readme:
        readme_path.write_text(new_readme, encoding="utf-8")
        changed.append("README.md")
    env = env_example()
    if not env_path.exists() or env_path.read_text(encoding="utf-8") != env:
        env_path.write_text(env, encoding="utf-8")
        changed.append(".env.example")
    print("rewrote " + ", ".join(changed) if changed else "docs already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
