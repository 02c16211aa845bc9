-- A TOTP code is accepted once: the last accepted time step is kept, and only a later one is
-- taken. Wrong codes are counted per administrator; enough of them lock TOTP for a while.
-- Secrets are sealed by the server (AES-256-GCM under a key outside the database) from now on.
ALTER TABLE admin_totp ADD COLUMN last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_totp ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_totp ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
