"""Background workers, started after the database opens and stopped before it closes:
the broadcast dispatcher draining the outbox (dispatcher.py), the health monitor and
health file (health.py), the daily backups (backups.py).

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli.
Workers use bot.store, bot.actions and bot.tg; a feature's handlers module creates and
registers its worker (handlers → workers is allowed); workers never import handlers.
"""
