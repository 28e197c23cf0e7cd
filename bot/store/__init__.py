"""SQLite storage: one aiosqlite connection, plain SQL, numbered migrations."""
