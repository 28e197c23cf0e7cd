"""Telegram handlers: thin layers that read the update, call domain, actions and store,
reply. One module per feature (articles, feedback + moderation, subscriptions,
announcements + directives with broadcasts.py registering them, admin); base.py holds
the shared helpers and the role check decorator. New features add handlers/<feature>.py
and register it in bot.app.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli.
A handlers module may create its feature's worker (bot.workers); nothing below imports
handlers.
"""
