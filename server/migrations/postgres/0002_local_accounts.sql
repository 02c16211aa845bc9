-- Portal-local accounts (the bootstrap administrator): argon2id hashes only.
CREATE TABLE local_accounts (
    username      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin      BIGINT NOT NULL DEFAULT 0,
    may_change    BIGINT NOT NULL DEFAULT 1,
    must_change   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- The one-time setup token for the bootstrap administrator (its SHA-256), until used.
CREATE TABLE bootstrap (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    token_hash TEXT,
    used_at    BIGINT
);
