-- When each employee's password expires, as the directory computed it at the last sync
-- (msDS-UserPasswordExpiryTimeComputed, Unix seconds); NULL when it never expires.
ALTER TABLE employees ADD COLUMN password_expires_at BIGINT;
