-- Wrong passwords per account (objectGUID, or the normalised name of an unknown one) within
-- the lockout window: the portal stops asking the directory before its lockout threshold.
-- In the database, so every replica counts the same guesses.
CREATE TABLE password_failures (
    account  TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_at INTEGER NOT NULL
);
