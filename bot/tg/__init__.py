"""Telegram plumbing under every handler and worker: the aiohttp Bot API transport
(transport.py), the rate limiter every Bot API call goes through (pacer.py), update
processing — chats in parallel, each chat in order (updates.py) — and calls whose answer
is not used, sent without building PTB objects from it (raw.py).

Import direction: may use bot.domain and bot.config; used by bot.handlers, bot.workers,
bot.app and bot.cli. Never imports bot.store, bot.actions or bot.handlers.
"""
