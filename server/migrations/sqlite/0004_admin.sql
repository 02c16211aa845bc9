-- Administrators: elevated only after a second factor, per session.
ALTER TABLE sessions ADD COLUMN admin_state TEXT
    CHECK (admin_state IN ('enrol_totp', 'verify_totp', 'active'));

-- TOTP per administrator (by logon name); confirmed once a first code matched.
CREATE TABLE admin_totp (
    username   TEXT PRIMARY KEY COLLATE NOCASE,
    secret     BLOB NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- One-time recovery codes, stored as SHA-256 hashes.
CREATE TABLE admin_recovery_codes (
    username  TEXT NOT NULL COLLATE NOCASE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (username, code_hash)
);

-- Passwords an administrator set, sealed to a key (HPKE, PROTOCOL.md §6.4), waiting for the
-- key's next connection. The server cannot open them; the key's acknowledgement deletes them.
CREATE TABLE pending_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id           INTEGER NOT NULL REFERENCES keys (id),
    slot             INTEGER NOT NULL,
    counter          INTEGER NOT NULL,
    encapsulated_key BLOB NOT NULL,
    ciphertext       BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (key_id, slot, counter)
);

-- The last sealed counter used per account on a key (the key refuses anything not above it).
ALTER TABLE key_accounts ADD COLUMN sealed_counter INTEGER NOT NULL DEFAULT 0;

-- The audit log becomes a hash chain: each entry's hash covers its fields and the previous
-- hash, so an edited or deleted entry breaks every hash after it.
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
