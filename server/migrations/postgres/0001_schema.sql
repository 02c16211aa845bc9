-- The whole schema for PostgreSQL, equivalent to the SQLite migrations 0001–0005. Booleans are
-- 0/1 integers in both, so the same store code reads them.

CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    user_dn         TEXT NOT NULL,
    username        TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    change_required TEXT,
    csrf_token      TEXT NOT NULL,
    client_addr     TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    admin_state     TEXT CHECK (admin_state IN ('enrol_totp', 'verify_totp', 'active'))
);
CREATE INDEX sessions_by_user ON sessions (user_dn);

CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    result      TEXT NOT NULL,
    client_addr TEXT,
    prev_hash   TEXT,
    hash        TEXT
);
CREATE INDEX audit_by_target ON audit (target);

CREATE TABLE employees (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_guid  TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    disabled     BIGINT NOT NULL DEFAULT 0,
    removed_at   BIGINT,
    synced_at    BIGINT
);
CREATE INDEX employees_by_name ON employees (lower(username));

CREATE TABLE keys (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial          TEXT NOT NULL UNIQUE,
    public_key      BYTEA NOT NULL CHECK (length(public_key) = 32),
    status          TEXT NOT NULL DEFAULT 'ready'
                    CHECK (status IN ('ready', 'reserved', 'active', 'locked', 'suspended', 'deactivated', 'compromised')),
    status_reason   TEXT,
    employee_id     BIGINT REFERENCES employees (id),
    registered_at   BIGINT NOT NULL,
    activation_code TEXT,
    activation_hash BYTEA,
    unlock_pending  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE key_accounts (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id            BIGINT NOT NULL REFERENCES keys (id),
    slot              BIGINT NOT NULL,
    employee_id       BIGINT NOT NULL REFERENCES employees (id),
    name              TEXT NOT NULL,
    login_type        TEXT NOT NULL CHECK (login_type IN ('domain', 'entra', 'other')),
    domain            TEXT NOT NULL,
    login             TEXT NOT NULL,
    directory_managed BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    sealed_counter    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (key_id, slot)
);

CREATE TABLE change_journal (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id              BIGINT NOT NULL REFERENCES keys (id),
    slot                BIGINT NOT NULL,
    user_dn             TEXT NOT NULL,
    pwd_last_set_before BIGINT NOT NULL,
    step                TEXT NOT NULL
                        CHECK (step IN ('started', 'staged', 'directory_changed', 'committed', 'aborted')),
    started_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX change_journal_open ON change_journal (key_id) WHERE step NOT IN ('committed', 'aborted');

CREATE TABLE key_sign_in_tickets (
    ticket_hash TEXT PRIMARY KEY,
    key_id      BIGINT NOT NULL REFERENCES keys (id),
    expires_at  BIGINT NOT NULL
);

CREATE TABLE admin_totp (
    username   TEXT PRIMARY KEY,
    secret     BYTEA NOT NULL,
    confirmed  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE admin_recovery_codes (
    username  TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (username, code_hash)
);

CREATE TABLE pending_deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id           BIGINT NOT NULL REFERENCES keys (id),
    slot             BIGINT NOT NULL,
    counter          BIGINT NOT NULL,
    encapsulated_key BYTEA NOT NULL,
    ciphertext       BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (key_id, slot, counter)
);
