"""Pure Python rules of Loa: no telegram, no aiosqlite imports here."""
