-- Sessions: only a hash of the cookie's token is kept, so a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    user_dn         TEXT NOT NULL,
    username        TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    change_required TEXT,
    csrf_token      TEXT NOT NULL,
    client_addr     TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_dn);

-- Who did what, to whom, with which result. Never a password.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    result      TEXT NOT NULL,
    client_addr TEXT
);
CREATE INDEX audit_by_target ON audit (target);
