-- When an administrator's session last had its group membership and account state checked
-- again (at most a few minutes ago, and before every administrative write).
ALTER TABLE sessions ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;
