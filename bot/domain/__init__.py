"""Pure Python rules of Loa: no telegram, no aiosqlite imports here.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli:
domain imports nothing of Loa's outside bot.domain. New features add domain/<feature>.py.
Note for its owner: figures.py (~1,100 lines) is over the ~700-line guideline; split it.
"""
