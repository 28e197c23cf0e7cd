-- Reports and operations (issue 6). The other features' tables are only read.

-- Every backup made by `loa backup` or the daily worker; `loa status` shows the last one.
CREATE TABLE backups (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,               -- unix seconds when the copy finished
    kind    TEXT    NOT NULL CHECK (kind IN ('manual', 'daily')),
    path    TEXT    NOT NULL,
    size    INTEGER,                        -- bytes of the copy
    seconds REAL,                           -- how long the copy took
    ok      INTEGER NOT NULL,
    error   TEXT
);
CREATE INDEX backups_at ON backups (at);
