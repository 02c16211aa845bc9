-- Employees as the last sync from the directory group saw them.
ALTER TABLE employees ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
-- Set when the employee left the group (or the directory); cleared if they come back.
ALTER TABLE employees ADD COLUMN removed_at INTEGER;
ALTER TABLE employees ADD COLUMN synced_at INTEGER;
CREATE INDEX employees_by_name ON employees (username COLLATE NOCASE);

-- An administrator unlocked a locked key: tell the key on its next connection.
ALTER TABLE keys ADD COLUMN unlock_pending INTEGER NOT NULL DEFAULT 0;
