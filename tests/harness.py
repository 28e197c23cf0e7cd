"""Runs the real Application from bot/app.py against the fake Bot API, in-process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings, load_settings
from bot.services import Services

TEST_TOKEN = "123456:TEST-token"


def make_settings(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    """Settings for a test bot: its own DB file, the fake's URL, no .env file."""
    values: dict[str, Any] = {
        "bot_token": TEST_TOKEN,
        "bot_api_url": base_url,
        "db_path": tmp_path / "loa.db",
        "content_dir": tmp_path / "content",
        # Telegram's 1 message/s per chat would make every multi-message exchange in a
        # test take seconds; tests about pacing set their own rates (and the fake's).
        "chat_rate": 50,
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class RunningBot:
    """A started Application plus handles tests use."""

    app: Application[Any, Any, Any, Any, Any, Any]
    settings: Settings

    @property
    def svc(self) -> Services:
        """The Services of the running bot (db, settings, features)."""
        return self.app.bot_data["services"]  # type: ignore[no-any-return]


async def start_bot(settings: Settings) -> RunningBot:
    """Initialise and start polling the way run_polling does (post_init included)."""
    app = build_application(settings)
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    return RunningBot(app=app, settings=settings)


async def stop_bot(bot: RunningBot) -> None:
    """Stop the way run_polling does: updater, app, post_stop, shutdown, post_shutdown."""
    app = bot.app
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    if app.post_stop:
        await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


async def eventually(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> None:
    """Wait until predicate() (sync or async) is truthy, else fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
