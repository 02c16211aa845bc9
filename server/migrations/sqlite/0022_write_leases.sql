-- One writer of an account's password at a time while it checks for unsettled writes and
-- stages its copies for the keys, across replicas: a crashed holder's lease runs out.
CREATE TABLE write_leases (
    user_dn TEXT PRIMARY KEY NOT NULL,
    holder  TEXT NOT NULL,
    until   BIGINT NOT NULL
);
