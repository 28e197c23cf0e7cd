"""Table-driven role check: every staff command and staff button × every role.

Nothing here is a hand-written list: the commands come from svc.commands (their
permission) and the CommandHandlers; the buttons from every CallbackQueryHandler
(conversations included) whose callback is wrapped by bot.handlers.base.requires.
New features are covered as soon as they register. Each (role, action) runs in its
own private chat with its own user, so conversations cannot leak between cases.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.domain.errors import PermissionDenied
from bot.domain.roles import PERMISSIONS, Role, allows
from bot.handlers.base import NO_PERMISSION
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram

ROLES: list[Role | None] = [None, Role.MODERATOR, Role.EDITOR, Role.ADMIN, Role.OWNER]
REFUSALS = (NO_PERMISSION, PermissionDenied.user_message)
# Ids of owners (one per case, so that conversations stay apart), from LOA_ADMIN_IDS.
OWNER_BASE = 810_000
STAFF_BASE = 820_000
CITIZEN_BASE = 830_000
MAX_CASES = 600  # issue 10's versioned bc: buttons, and more commands (console)


def required_permission(callback: Any) -> str | None:
    """The permission a @requires(...) wrapper in the callback's wrapper chain checks."""
    fn = callback
    seen = 0
    while fn is not None and seen < 10:
        code = getattr(fn, "__code__", None)
        closure = getattr(fn, "__closure__", None)
        if code is not None and closure and code.co_qualname.startswith("requires."):
            for name, cell in zip(code.co_freevars, closure, strict=False):
                if name == "permission" and cell.cell_contents in PERMISSIONS:
                    return str(cell.cell_contents)
        fn = getattr(fn, "__wrapped__", None)
        seen += 1
    return None


def all_handlers(app: Any) -> Iterator[BaseHandler[Any, Any, Any]]:
    """Every handler of the application, the ones inside conversations included."""

    def walk(handler: BaseHandler[Any, Any, Any]) -> Iterator[BaseHandler[Any, Any, Any]]:
        yield handler
        if isinstance(handler, ConversationHandler):
            inner = list(handler.entry_points) + list(handler.fallbacks)
            for state_handlers in handler.states.values():
                inner.extend(state_handlers)
            for h in inner:
                yield from walk(h)

    for group in app.handlers.values():
        for handler in group:
            yield from walk(handler)


def _minimal(items: Any) -> str:
    """The shortest simple string a parsed regex accepts (digits as 0, letters as a)."""
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            kinds = dict((str(k), v) for k, v in arg if str(k) != "NEGATE")
            if "LITERAL" in kinds:
                out.append(chr(kinds["LITERAL"]))
            elif "RANGE" in kinds:
                out.append(chr(kinds["RANGE"][0]))
            elif "CATEGORY" in kinds:
                out.append("0" if "DIGIT" in str(kinds["CATEGORY"]) else "a")
            else:
                out.append("a")
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.append(_minimal(sub) * low)
        elif name == "SUBPATTERN":
            out.append(_minimal(arg[-1]))
        elif name == "BRANCH":
            out.append(_minimal(arg[1][0]))
        elif name == "CATEGORY":
            out.append("0" if "DIGIT" in str(arg) else "a")
        # AT (anchors) and look-arounds add nothing
    return "".join(out)


def sample_data(pattern: Any) -> str | None:
    """A short callback_data the pattern accepts (None when the pattern is not a regex)."""
    if isinstance(pattern, str):
        pattern = re.compile(pattern)
    if not isinstance(pattern, re.Pattern):
        return None
    try:
        import re._parser as sre_parse  # Python >= 3.11
    except ImportError:  # pragma: no cover
        import sre_parse  # type: ignore[no-redef]
    candidate = _minimal(sre_parse.parse(pattern.pattern, pattern.flags))
    if candidate and pattern.search(candidate) and len(candidate.encode()) <= 64:
        return candidate
    # Unusual patterns: let hypothesis find one (slower).
    return find(
        st.from_regex(pattern),
        lambda s: 0 < len(s.encode()) <= 64 and s.isprintable() and s.strip() == s,
        settings=settings(
            database=None, max_examples=2000, suppress_health_check=list(HealthCheck)
        ),
    )


@dataclass(frozen=True)
class Action:
    kind: str  # "command" | "button"
    name: str  # command name or callback_data
    permission: str
    handler: str


def discover(bot: Any) -> list[Action]:
    """Staff commands and buttons of the running application."""
    app = bot.app
    listed = {info.name: info.permission for info in bot.svc.commands}
    for info in bot.svc.commands:
        for alias in info.aliases:
            listed[alias] = info.permission
    actions: dict[tuple[str, str], Action] = {}
    for handler in all_handlers(app):
        perm = required_permission(getattr(handler, "callback", None))
        if isinstance(handler, CommandHandler):
            for command in sorted(handler.commands):
                declared = listed.get(command)
                if perm is None and declared is None:
                    continue
                # The menu/help permission must be the one the handler enforces.
                assert declared == perm, (
                    f"/{command}: svc.commands says {declared!r}, handler enforces {perm!r}"
                )
                actions[("command", command)] = Action(
                    "command", command, perm or "", handler.callback.__qualname__
                )
        elif isinstance(handler, CallbackQueryHandler) and perm is not None:
            data = sample_data(handler.pattern)
            assert data is not None, f"cannot make data for {handler.callback.__qualname__}"
            actions[("button", data)] = Action("button", data, perm, handler.callback.__qualname__)
    # Staff commands in svc.commands without any handler are a bug too.
    handled = {a.name for a in actions.values() if a.kind == "command"}
    for name, perm in listed.items():
        if perm is not None:
            assert name in handled, f"/{name} is in svc.commands but has no staff handler"
    return sorted(actions.values(), key=lambda a: (a.kind, a.name))


async def test_every_staff_action_checks_the_role(bot_factory: Any, fake: FakeTelegram) -> None:
    owners = ",".join(str(i) for i in [ADMIN_ID, *range(OWNER_BASE, OWNER_BASE + MAX_CASES)])
    bot = await bot_factory(admin_ids=owners, global_rate=1000, chat_rate=100)
    actions = discover(bot)
    assert {a.name for a in actions} >= {"grant", "revoke_role", "audit", "stats", "admins"}

    cases: list[tuple[int, Role | None, Action]] = []
    async with bot.svc.db.transaction() as conn:
        for i, (role, action) in enumerate((r, a) for a in actions for r in ROLES):
            if role is Role.OWNER:
                user_id = OWNER_BASE + i
            elif role is None:
                user_id = CITIZEN_BASE + i
            else:
                user_id = STAFF_BASE + i
                await conn.execute(
                    "INSERT INTO staff_roles (user_id, role, granted_by, granted_at)"
                    " VALUES (?, ?, ?, 0)",
                    (user_id, role.value, ADMIN_ID),
                )
            cases.append((user_id, role, action))
    assert len(cases) <= MAX_CASES

    async def run(user_id: int, role: Role | None, action: Action) -> tuple[str, bool, str]:
        user = fake.user(user_id, "Cán bộ")
        chat = fake.private_chat(user)
        if action.kind == "command":
            fake.send_text(chat, user, f"/{action.name}")
            try:
                msg = await fake.wait_for_message(chat, timeout=10)
                outcome = msg.content
            except AssertionError:
                outcome = "(no reply)"
            refused = outcome in REFUSALS
        else:
            # A button needs a bot message to sit on: the /start greeting.
            fake.send_text(chat, user, "/start")
            greeting = await fake.wait_for_message(chat, contains="Xin chào")
            qid = fake.press_button(chat, user, greeting.message_id, action.name, check=False)
            try:
                await fake.wait_for(lambda: qid in fake.callback_answers, timeout=10)
                outcome = str(fake.callback_answers[qid].get("text"))
            except AssertionError:
                outcome = "(no answer)"
            refused = outcome in REFUSALS
        label = f"{role.value if role else 'citizen'} {action.kind} {action.name}"
        return label, refused, outcome

    gate = asyncio.Semaphore(24)  # enough parallelism, without starving a slow CI box

    async def limited(case: tuple[int, Role | None, Action]) -> tuple[str, bool, str]:
        async with gate:
            return await run(*case)

    results = await asyncio.gather(*(limited(case) for case in cases))
    wrong = []
    for (_, role, action), (label, refused, outcome) in zip(cases, results, strict=True):
        expected_allowed = allows(role, action.permission)
        if expected_allowed == refused:
            wrong.append(
                f"{label}: expected {'allowed' if expected_allowed else 'refused'},"
                f" got {outcome[:80]!r}"
            )
    assert not wrong, "\n".join(wrong)
    # The table itself, for the record (pytest -s shows it).
    print(f"\n{len(actions)} staff actions × {len(ROLES)} roles = {len(cases)} cases")
    for action in actions:
        row = " ".join(("✔" if allows(r, action.permission) else "✘") for r in ROLES)
        print(f"{action.kind:7} {action.name:24} {action.permission:10} {row}")


# Staff-only callback_data prefixes. Prefixes of every @requires-wrapped button are
# added at run time (discovered from the Application), so new staff buttons extend it.
STAFF_PREFIXES = ("bc:", "sub:", "ykm", "yki", "ykp")


def leading_strings(pattern: Any, depth: int = 12) -> list[tuple[str, bool]]:
    """The literal starts a regex can match, as (text, open) pairs: open means more
    characters may follow (the start was cut at a wildcard, a repeat or the end of a
    pattern without $). Alternatives (a|b, [mi]) are expanded, up to 64 of them."""
    import re._parser as sre_parse  # Python >= 3.11

    if isinstance(pattern, str):
        pattern = re.compile(pattern)
    items = list(sre_parse.parse(pattern.pattern, pattern.flags))

    def expand(ops: list[Any], prefix: str) -> list[tuple[str, bool]]:
        for i, (op, arg) in enumerate(ops):
            name = str(op)
            rest = ops[i + 1 :]
            if len(prefix) >= depth:
                return [(prefix, True)]
            if name == "AT":
                if "END" in str(arg):
                    return [(prefix, False)]
                continue
            if name == "LITERAL":
                prefix += chr(arg)
                continue
            if name == "IN":
                kinds = [(str(k), v) for k, v in arg]
                if all(k == "LITERAL" for k, _ in kinds) and len(kinds) <= 8:
                    out: list[tuple[str, bool]] = []
                    for _, v in kinds:
                        out += expand(rest, prefix + chr(v))
                    return out[:64]
                return [(prefix, True)]
            if name == "SUBPATTERN":
                return expand(list(arg[-1]) + rest, prefix)
            if name == "BRANCH":
                out = []
                for alternative in arg[1]:
                    out += expand(list(alternative) + rest, prefix)
                return out[:64]
            return [(prefix, True)]  # repeats, categories, wildcards: anything may follow
        return [(prefix, True)]

    return expand(items, "")


def may_start_with(pattern: Any, prefix: str) -> bool:
    """True when some callback_data beginning with `prefix` could match the pattern."""
    return any(
        text.startswith(prefix) or (open_ and prefix.startswith(text) and text)
        for text, open_ in leading_strings(pattern)
    )


def unguarded_staff_buttons(app: Any) -> list[str]:
    """CallbackQueryHandlers taking staff-prefixed data without a @requires role check."""
    prefixes = set(STAFF_PREFIXES)
    handlers = [h for h in all_handlers(app) if isinstance(h, CallbackQueryHandler)]
    for handler in handlers:
        if required_permission(handler.callback) is not None and handler.pattern is not None:
            for text, _ in leading_strings(handler.pattern):
                head, colon, _ = text.partition(":")
                if colon and head:
                    prefixes.add(head + ":")
    problems = []
    for handler in handlers:
        pattern = handler.pattern
        if pattern is None or not isinstance(pattern, (str, re.Pattern)):
            continue  # the catch-all fallback (no pattern) and non-regex filters
        if required_permission(handler.callback) is not None:
            continue
        hit = sorted(p for p in prefixes if may_start_with(pattern, p))
        if hit:
            name = getattr(handler.callback, "__qualname__", repr(handler.callback))
            shown = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
            problems.append(f"{name} ({shown!r}) takes {hit} without @requires")
    return problems


def test_every_staff_button_handler_is_wrapped_by_requires(tmp_path: Any) -> None:
    from bot.app import build_application
    from tests.harness import make_settings

    app = build_application(make_settings(tmp_path, "http://127.0.0.1:9", admin_ids="1"))
    buttons = [h for h in all_handlers(app) if isinstance(h, CallbackQueryHandler)]
    wrapped = [h for h in buttons if required_permission(h.callback) is not None]
    assert len(wrapped) >= 5  # ykm/yki, ykp, bc:…, sub:… — discovery works
    assert unguarded_staff_buttons(app) == []


def test_unguarded_staff_button_is_caught(tmp_path: Any) -> None:
    from bot.app import build_application
    from tests.harness import make_settings

    async def sneaky(update: Any, context: Any) -> None:
        return None

    app = build_application(make_settings(tmp_path, "http://127.0.0.1:9", admin_ids="1"))
    app.add_handler(CallbackQueryHandler(sneaky, pattern=r"^bc:purge:\d+$"))
    app.add_handler(CallbackQueryHandler(sneaky, pattern=r"^yk(?:m|x):"))
    app.add_handler(CallbackQueryHandler(sneaky, pattern="^b"))  # would also take bc:…
    problems = unguarded_staff_buttons(app)
    assert len(problems) == 3, problems
    assert all("sneaky" in p for p in problems)


def test_leading_strings() -> None:
    assert leading_strings(r"^yk[mi]:") == [("ykm:", True), ("yki:", True)]
    assert leading_strings(r"^ykc:[sec]$") == [("ykc:s", False), ("ykc:e", False), ("ykc:c", False)]
    assert leading_strings(r"^ykp:\d+$") == [("ykp:", True)]
    assert leading_strings(r"^(ok|no):x") == [("ok:x", True), ("no:x", True)]
    assert may_start_with(r"^yk[mi]:", "yki") and not may_start_with(r"^ykv:", "yki")
    assert may_start_with("^b", "bc:") and not may_start_with(r"^ar:", "bc:")


def test_permission_discovery_reads_the_decorator() -> None:
    from bot.handlers import admin

    assert required_permission(admin.grant_command) == "admin"
    assert required_permission(admin.admins_command) == "staff"
    assert required_permission(lambda u, c: None) is None


@pytest.mark.parametrize(
    "pattern",
    [r"^a:o:\d+$", r"^yk:[a-z0-9-]{1,48}$", "^mod:(ok|no):", r"^bc:a:(\d+):(.*)$", r"^x:(?!y)\w+"],
)
def test_sample_data_matches(pattern: str) -> None:
    data = sample_data(pattern)
    assert data is not None and re.search(pattern, data) and len(data.encode()) <= 64
