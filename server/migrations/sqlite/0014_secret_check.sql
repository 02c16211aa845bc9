-- A value derived from the server secret: a server started with another secret file (a
-- replica without the shared file, a command run from another folder) refuses to start instead
-- of sealing new secrets under a key the others do not have.
CREATE TABLE server_secret_check (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL
);
