"""Static and pure checks of the broadcasts feature: user-facing texts are valid Telegram
HTML, handlers hold no SQL, directive files are type-checked, long lists are packed."""

from __future__ import annotations

import ast
import inspect
import re
import zoneinfo
from pathlib import Path
from types import ModuleType

import pytest

import bot.actions.directives
import bot.domain.broadcasts
import bot.domain.directives
import bot.handlers.announcements
import bot.handlers.broadcasts
import bot.handlers.directives
import bot.handlers.subscriptions
import bot.workers.dispatcher
from bot.domain.broadcasts import parse_chat_id, parse_id, visible_text
from bot.domain.directives import load_directives, parse_directive
from bot.domain.errors import ContentError, InvalidInput, NotFound
from bot.domain.text import pack_html_lines, utf16_len
from tests.fakegram import parse_html

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
MODULES: list[ModuleType] = [
    bot.handlers.broadcasts,
    bot.handlers.announcements,
    bot.handlers.directives,
    bot.actions.directives,
    bot.handlers.subscriptions,
    bot.workers.dispatcher,
    bot.domain.broadcasts,
]
HANDLER_MODULES: list[ModuleType] = [
    bot.handlers.broadcasts,
    bot.handlers.announcements,
    bot.handlers.directives,
    bot.actions.directives,
    bot.handlers.subscriptions,
    bot.workers.dispatcher,
]
# Tags Telegram's HTML parse mode knows (a "<" starting anything else must be "&lt;").
_BAD_LT = re.compile(
    r"<(?!/?(?:b|strong|i|em|u|ins|s|strike|del|a|code|pre|blockquote|tg-spoiler|span|"
    r"tg-emoji)[\s>])"
)


def _vietnamese(text: str) -> bool:
    return any(ord(ch) > 127 for ch in text)


def _constants(module: ModuleType) -> list[tuple[str, str]]:
    """Module-level user-facing texts: str constants, and str values of dicts/tuples."""
    found: list[tuple[str, str]] = []
    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        if isinstance(value, str) and _vietnamese(value):
            found.append((name, value))
        elif isinstance(value, dict):
            found += [(f"{name}[{k!r}]", v) for k, v in value.items() if isinstance(v, str)]
        elif isinstance(value, tuple):
            found += [(f"{name}[{i}]", v) for i, v in enumerate(value) if isinstance(v, str)]
    return [(n, v) for n, v in found if _vietnamese(v)]


def test_every_vietnamese_constant_is_valid_telegram_html() -> None:
    checked = 0
    for module in MODULES:
        for name, text in _constants(module):
            try:
                parse_html(text)
            except Exception as exc:  # the fake raises what Telegram would refuse
                raise AssertionError(f"{module.__name__}.{name}: {exc}: {text!r}") from None
            checked += 1
    assert checked >= 25  # the usage texts, refusals and labels are all covered
    names = {n for m in MODULES for n, _ in _constants(m)}
    assert {"USAGE_BROADCAST", "USAGE_ACKS", "USAGE_SETUNIT", "ASK_TEXT"} <= names


def _literal_fragments(module: ModuleType) -> list[tuple[int, str]]:
    """String pieces in the module's code that can end up in a message: every literal and
    f-string part, except docstrings and CommandInfo descriptions (plain text; /help
    escapes them)."""
    tree = ast.parse(inspect.getsource(module))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "CommandInfo"
        ):
            for sub in ast.walk(node):
                skip.add(id(sub))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and _vietnamese(node.value)
    ]


def test_no_raw_angle_brackets_in_handler_texts() -> None:
    """Usage texts like "/acks <số bản tin>" break parse_mode=HTML (Telegram refuses the
    whole message): every literal "<" that is not a known tag must be written &lt;."""
    bad = [
        f"{module.__name__}:{line}: {text!r}"
        for module in HANDLER_MODULES
        for line, text in _literal_fragments(module)
        if _BAD_LT.search(text)
    ]
    assert not bad, "\n".join(bad)


_SQL = re.compile(r"^\s*(SELECT|UPDATE|INSERT|DELETE|WITH)\b")
_DB_CALLS = {"fetch_all", "fetch_one", "fetch_value", "execute", "executemany", "transaction"}


def test_handlers_and_dispatcher_hold_no_sql() -> None:
    """Layering: handlers and the dispatcher call bot.store, never SQL."""
    bad = []
    for module in HANDLER_MODULES:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _SQL.match(node.value):
                    bad.append(f"{module.__name__}:{node.lineno}: {node.value[:60]!r}")
            elif (
                isinstance(node, ast.Attribute)
                and node.attr in _DB_CALLS
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "db"
            ):
                bad.append(f"{module.__name__}:{node.lineno}: .db.{node.attr}(…)")
    assert not bad, "\n".join(bad)


# --- directive files: every field type-checked, never an exception ------------------------


@pytest.mark.parametrize(
    ("front", "line", "words"),
    [
        ("quarter: 2022-Q2\ntitle: T\nunits: 5", 4, "units must be labels"),
        ("quarter: 2022-Q2\ntitle: T\nunits: [1, 2]", 4, "units must be labels"),
        ("quarter: 2022-Q2\ntitle: T\nunits: {a: b}", 4, "units must be labels"),
        ("quarter: 2022-Q2\ntitle: [a, b]", 3, "title must be text"),
        ("quarter: 2022-Q2\ntitle: 2022", 3, "title must be text"),
        ("quarter: 2022\ntitle: T", 2, "quarter must look like"),
        ("quarter: [2022-Q2]\ntitle: T", 2, "quarter must look like"),
        ("quarter: 2022-Q2\ntitle: T\npublish_at: 5", 4, "publish_at must be"),
        ("quarter: 2022-Q2\ntitle: T\npublish_at: [1]", 4, "publish_at must be"),
        ("quarter: 2022-Q2\ntitle: T\npublish-at: 11/04/2022 08:00", 4, "unknown field"),
        ("- a\n- b", 2, "key: value"),
    ],
)
def test_directive_field_types_are_checked(
    tmp_path: Path, front: str, line: int, words: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text(f"---\n{front}\n---\nNội dung chỉ đạo.\n", "utf-8")
    with pytest.raises(ContentError) as info:
        parse_directive(str(path), path.read_text("utf-8"), TZ)
    assert info.value.line == line and words in info.value.message
    found, problems = load_directives(tmp_path, TZ)
    assert found == {} and len(problems) == 1
    assert problems[0].startswith(f"{path}:{line}: ") and words in problems[0]


def test_load_directives_turns_any_exception_into_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.md").write_text("---\nquarter: 2022-Q2\ntitle: T\n---\nx\n", "utf-8")

    def boom(path: str, source: str, tz: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(bot.domain.directives, "parse_directive", boom)
    found, problems = load_directives(tmp_path, TZ)
    assert found == {}
    assert problems == [f"{tmp_path / 'a.md'}:1: cannot parse: RuntimeError: unexpected"]


# --- ids --------------------------------------------------------------------------------


def test_ids_are_bounded() -> None:
    assert parse_id("42") == 42
    assert parse_chat_id("-1001234567890") == -1001234567890
    assert parse_chat_id(str(2**63 - 1)) == 2**63 - 1
    for raw in ("99999999999999999999999", str(2**63), "-" + str(2**63 + 5), "0", "-", "1e5"):
        with pytest.raises(InvalidInput):
            parse_chat_id(raw)
    with pytest.raises(NotFound):
        parse_id("99999999999999999999")


# --- long lists ------------------------------------------------------------------------------


def test_pack_html_lines_keeps_whole_lines_under_the_limit() -> None:
    lines = ["<b>Danh sách</b>"] + [
        f"• Tổ dân phố {i} &amp; khu {i} <code>-100{i:09d}</code> " + "x" * (i % 90)
        for i in range(400)
    ]
    messages = pack_html_lines(lines)
    assert len(messages) > 3
    for text in messages:
        plain, _entities = parse_html(text)  # never cut inside a tag or an entity
        assert utf16_len(plain) <= 4096 and utf16_len(visible_text(text)) <= 4096
    assert "\n".join(messages).split("\n") == lines
    huge = "<i>" + "chữ " * 3000 + "</i>"
    parts = pack_html_lines(["đầu", huge, "cuối"])
    assert parts[0] == "đầu" and parts[-1].endswith("cuối") and len(parts) >= 3
    for text in parts:
        parse_html(text)
