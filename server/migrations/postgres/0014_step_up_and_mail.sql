-- Step-up: a confirmation (a code or a key press) good for one password write until then.
ALTER TABLE sessions ADD COLUMN step_up_until BIGINT;
-- A session the key started: the key cannot also be its second factor when another is enrolled.
ALTER TABLE sessions ADD COLUMN with_key BIGINT NOT NULL DEFAULT 0;

-- Mail waiting to be sent, and what became of it. A reminder's dedupe key (employee and day)
-- is unique, so restarts and replicas queue it once; a message is claimed (by a holder, for
-- longer than a send may take) before it is sent, and marked sent only by its holder.
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
    claimed_by      TEXT,
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
-- Until when an employee who once held a key may enrol an authenticator without another factor
-- (an administrator's reset of their authenticator allows it for a day).
ALTER TABLE employees ADD COLUMN enrolment_allowed_until BIGINT;
