"""Entry point for `python -m bot` (the same as the `loa` console script)."""

from bot.cli import main

raise SystemExit(main())
