-- Portal-local accounts (the bootstrap administrator, for a portal whose directory is not
-- ready yet): argon2id hashes only.
CREATE TABLE local_accounts (
    username      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    may_change    INTEGER NOT NULL DEFAULT 1,
    must_change   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- The one-time setup token for the bootstrap administrator (its SHA-256), until used.
CREATE TABLE bootstrap (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash TEXT,
    used_at    INTEGER
);
