-- A password is sealed to the employee's keys before the directory is written, staged: a crash
-- or a lost database between the two then leaves a record the key's next connection settles
-- by the directory's pwdLastSet, instead of a key left with the old password.
ALTER TABLE pending_deliveries ADD COLUMN staged_for TEXT;
ALTER TABLE pending_deliveries ADD COLUMN staged_baseline BIGINT;
ALTER TABLE pending_deliveries ADD COLUMN staged_by_reset INTEGER NOT NULL DEFAULT 0;
-- The audit action of the write, when nothing else (a key's journal) records it after a crash.
ALTER TABLE pending_deliveries ADD COLUMN staged_action TEXT;
