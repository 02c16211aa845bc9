-- Step-up: a confirmation (a code or a key press) good for one password write until then.
ALTER TABLE sessions ADD COLUMN step_up_until INTEGER;
-- A session the key started: the key cannot also be its second factor when another is enrolled.
ALTER TABLE sessions ADD COLUMN with_key INTEGER NOT NULL DEFAULT 0;

-- Mail waiting to be sent, and what became of it. A reminder's dedupe key (employee and day)
-- is unique, so restarts and replicas queue it once; a message is claimed (by a holder, for
-- longer than a send may take) before it is sent, and marked sent only by its holder.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('reminder', 'notice', 'test', 'code')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    dedupe_key      TEXT UNIQUE,
    queued_at       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    sent_at         INTEGER,
    last_error      TEXT,
    gave_up         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, gave_up, next_attempt_at);

-- Scheduled jobs: one replica holds a job's lease while it runs; the last run is kept.
CREATE TABLE job_runs (
    name          TEXT PRIMARY KEY NOT NULL,
    holder        TEXT,
    lease_until   INTEGER NOT NULL DEFAULT 0,
    started_at    INTEGER,
    finished_at   INTEGER,
    summary       TEXT
);

-- Recovery without the key: one code mailed to the recovery address per account at a time,
-- stored hashed, good for ten minutes and a few tries.
CREATE TABLE recovery_codes (
    login_key   TEXT PRIMARY KEY NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0
);

-- An employee whose password was reset without the key, for the administrators to look at.
ALTER TABLE employees ADD COLUMN review_requested_at INTEGER;
-- Until when an employee who once held a key may enrol an authenticator without another factor
-- (an administrator's reset of their authenticator allows it for a day).
ALTER TABLE employees ADD COLUMN enrolment_allowed_until INTEGER;
