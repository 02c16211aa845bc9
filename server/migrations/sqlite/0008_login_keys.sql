-- Names are looked up by one normalised key (trimmed, Unicode lower case, computed by the
-- server: SQL's lower() folds ASCII only). Rows are filled here for ASCII and completed by the
-- server at start.
ALTER TABLE employees ADD COLUMN login_key TEXT;
UPDATE employees SET login_key = lower(trim(username));
CREATE INDEX employees_by_login_key ON employees (login_key);
ALTER TABLE local_accounts ADD COLUMN login_key TEXT;
UPDATE local_accounts SET login_key = lower(trim(username));
