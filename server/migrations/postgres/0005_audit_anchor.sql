-- Entries appended from now on are chained with an HMAC whose key lives outside the database
-- (1); older entries keep their plain SHA-256 link (0) and may only come before keyed ones.
ALTER TABLE audit ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0;
