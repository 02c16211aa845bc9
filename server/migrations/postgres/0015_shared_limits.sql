-- What every replica must agree on, kept in the store rather than in each process.

-- One session per key across all replicas: the holder renews its lease while the session lives;
-- a crashed holder's lease runs out.
CREATE TABLE key_leases (
    serial TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);

-- Operations counted per account and per client address in fixed windows, shared by every
-- replica: a bucket ('account:<name>' or 'address:<ip>') and its window's start.
CREATE TABLE rate_counts (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
