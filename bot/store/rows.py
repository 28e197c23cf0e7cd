"""Typed column readers for building the store's frozen dataclasses from aiosqlite rows.

SQLite hands back int, float, str, bytes or None (typed `Any` by the stubs). Each reader
converts one column value to the type its schema declares, so the dataclass fields are
typed exactly; for well-formed data the conversion is the identity.
"""

from __future__ import annotations

from typing import Any


def as_int(value: Any) -> int:
    """An INTEGER NOT NULL column."""
    return int(value)


def opt_int(value: Any) -> int | None:
    """A nullable INTEGER column."""
    return None if value is None else int(value)


def opt_float(value: Any) -> float | None:
    """A nullable REAL column."""
    return None if value is None else float(value)


def as_str(value: Any) -> str:
    """A TEXT NOT NULL column."""
    return str(value)


def opt_str(value: Any) -> str | None:
    """A nullable TEXT column."""
    return None if value is None else str(value)


def as_bool(value: Any) -> bool:
    """An INTEGER 0/1 flag column."""
    return bool(value)
