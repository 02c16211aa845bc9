-- Employees, linked to the directory by objectGUID (never by name).
CREATE TABLE employees (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    object_guid  TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Hardware keys, registered by serial number and static public key (PROTOCOL.md §4).
CREATE TABLE keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    serial        TEXT NOT NULL UNIQUE,
    public_key    BLOB NOT NULL CHECK (length(public_key) = 32),
    status        TEXT NOT NULL DEFAULT 'ready'
                  CHECK (status IN ('ready', 'reserved', 'active', 'locked', 'suspended', 'deactivated', 'compromised')),
    status_reason TEXT,
    employee_id   INTEGER REFERENCES employees (id),
    registered_at INTEGER NOT NULL
);
