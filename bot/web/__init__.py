"""The web console (reserved; empty for now): aiohttp routes per feature in
web/<feature>.py, Jinja/HTML templates in web/templates/, static files in web/static/.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli.
Routes call bot.actions and bot.store like Telegram handlers do, never bot.handlers and
never telegram objects; role checks go through Services.may as in handlers.
"""
