-- The activation code is kept only until the key is assigned (it is shown once then); after
-- that only its hash remains, the same hash the key holds (PROTOCOL.md §4).
ALTER TABLE keys ADD COLUMN activation_code TEXT;
ALTER TABLE keys ADD COLUMN activation_hash BLOB;

-- Accounts on keys: metadata only; passwords live on the key.
CREATE TABLE key_accounts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id            INTEGER NOT NULL REFERENCES keys (id),
    slot              INTEGER NOT NULL,
    employee_id       INTEGER NOT NULL REFERENCES employees (id),
    name              TEXT NOT NULL,
    login_type        TEXT NOT NULL CHECK (login_type IN ('domain', 'entra', 'other')),
    domain            TEXT NOT NULL,
    login             TEXT NOT NULL,
    directory_managed INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (key_id, slot)
);

-- Changes in the directory and on a key, step by step, so an interrupted one is finished or
-- undone on the key's next connection from the directory's pwdLastSet (never by trial binds).
CREATE TABLE change_journal (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id              INTEGER NOT NULL REFERENCES keys (id),
    slot                INTEGER NOT NULL,
    user_dn             TEXT NOT NULL,
    pwd_last_set_before INTEGER NOT NULL,
    step                TEXT NOT NULL
                        CHECK (step IN ('started', 'staged', 'directory_changed', 'committed', 'aborted')),
    started_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX change_journal_open ON change_journal (key_id) WHERE step NOT IN ('committed', 'aborted');

-- One-time tickets from a sign-in with the key, redeemed for a session cookie.
CREATE TABLE key_sign_in_tickets (
    ticket_hash TEXT PRIMARY KEY,
    key_id      INTEGER NOT NULL REFERENCES keys (id),
    expires_at  INTEGER NOT NULL
);
