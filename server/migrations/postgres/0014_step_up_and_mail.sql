-- Step-up: a confirmation (a code or a key press) good for one password write until then.
ALTER TABLE sessions ADD COLUMN step_up_until BIGINT;

-- Mail waiting to be sent, and what became of it. A reminder's dedupe key (employee and day)
-- is unique, so restarts and replicas queue it once; a message is claimed before it is sent,
-- so two senders never send one twice.
CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('reminder', 'notice', 'test', 'code')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    dedupe_key      TEXT UNIQUE,
    queued_at       BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT,
    last_error      TEXT,
    gave_up         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, gave_up, next_attempt_at);

-- Scheduled jobs: one replica holds a job's lease while it runs; the last run is kept.
CREATE TABLE job_runs (
    name          TEXT PRIMARY KEY NOT NULL,
    holder        TEXT,
    lease_until   BIGINT NOT NULL DEFAULT 0,
    started_at    BIGINT,
    finished_at   BIGINT,
    summary       TEXT
);

-- Recovery without the key: one code mailed to the recovery address per account at a time,
-- stored hashed, good for ten minutes and a few tries.
CREATE TABLE recovery_codes (
    login_key   TEXT PRIMARY KEY NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    failures    BIGINT NOT NULL DEFAULT 0
);

-- An employee whose password was reset without the key, for the administrators to look at.
ALTER TABLE employees ADD COLUMN review_requested_at BIGINT;
