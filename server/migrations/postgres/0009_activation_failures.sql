-- Wrong activation codes are counted by the server too, per key: a key's own count is lost
-- when it is reset to factory state, the registry's is not.
ALTER TABLE keys ADD COLUMN activation_failures BIGINT NOT NULL DEFAULT 0;
