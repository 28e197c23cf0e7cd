"""Shared fixtures: the fake Bot API, settings in temp dirs, a running bot."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.config import Settings

if TYPE_CHECKING:
    from tests.fakegram import FakeTelegram

from tests.harness import TEST_TOKEN, RunningBot, make_settings, start_bot, stop_bot

ADMIN_ID = 900001


def _sqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


@pytest.fixture(autouse=True)
def _no_leaked_connections() -> Iterator[None]:
    """Fail a test that leaves an aiosqlite connection open.

    Each connection owns a non-daemon thread: one left open keeps the interpreter (pytest,
    or `loa`) from ever exiting.
    """
    before = _sqlite_threads()
    yield
    for _ in range(50):  # a closing connection's thread needs a moment to finish
        leaked = _sqlite_threads() - before
        if not leaked:
            return
        time.sleep(0.02)
    pytest.fail(f"{len(leaked)} aiosqlite connection(s) left open by this test")


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's LOA_* variables."""
    import os

    for key in list(os.environ):
        if key.startswith("LOA_"):
            monkeypatch.delenv(key)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A started fake Bot API server."""
    from tests.fakegram import FakeTelegram

    server = FakeTelegram(token=TEST_TOKEN, bot_username="loa_test_bot")
    await server.start(port=0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def settings_factory(tmp_path: Path, fake: FakeTelegram) -> Callable[..., Settings]:
    """Build Settings pointing at the fake, with a temp DB; pass overrides as keywords."""

    def factory(**overrides: Any) -> Settings:
        overrides.setdefault("admin_ids", str(ADMIN_ID))
        return make_settings(tmp_path, fake.base_url, **overrides)

    return factory


@pytest.fixture
async def bot_factory(
    settings_factory: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Any]]:
    """Start bots (real Application) against the fake; all are stopped at the end."""
    running: list[RunningBot] = []

    async def factory(**overrides: Any) -> RunningBot:
        bot = await start_bot(settings_factory(**overrides))
        running.append(bot)
        return bot

    yield factory
    for bot in reversed(running):
        await stop_bot(bot)


@pytest.fixture
async def bot(bot_factory: Callable[..., Any]) -> RunningBot:
    """One running bot with default test settings (owner: ADMIN_ID)."""
    return await bot_factory()  # type: ignore[no-any-return]
