//! Where a password must never be found: the store as it is on disk (SQLite's file, WAL and
//! shared memory) or as PostgreSQL dumps it, the server's log, and what the page was sent.
//! A password is looked for in UTF-8 and in UTF-16LE (the directory's encoding).

use crate::TestApp;

/// A copy of one place, taken when the test chooses (e.g. while a delivery is pending).
pub struct Snapshot {
    pub place: String,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// The store's bytes now: every file of a SQLite database, or a PostgreSQL dump.
    pub fn stored_bytes(&self) -> Vec<Snapshot> {
        let url = &self.state.config.database_url;
        if url.starts_with("sqlite:") {
            let db = self.database_path();
            let mut places = Vec::new();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
                if let Ok(bytes) = std::fs::read(&path) {
                    places.push(Snapshot { place: path.display().to_string(), bytes });
                }
            }
            assert!(!places.is_empty() && !places[0].bytes.is_empty(), "the database file was read");
            return places;
        }
        let dump = std::process::Command::new("pg_dump").args(["--inserts", url]).output().expect("pg_dump runs");
        assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
        // A positive control: the dump holds the data, not just the schema.
        assert!(contains(&dump.stdout, b"INSERT INTO public.audit"), "the dump holds the data");
        vec![Snapshot { place: "pg_dump".into(), bytes: dump.stdout }]
    }
}

/// The server's log now, as a place to search.
pub fn server_log() -> Snapshot {
    Snapshot { place: "server log".into(), bytes: crate::server_log::text() }
}

/// The places among `snapshots` that hold `secret`.
pub fn found_in<'a>(secret: &str, snapshots: &'a [Snapshot]) -> Vec<&'a str> {
    let utf16: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    snapshots
        .iter()
        .filter(|s| contains(&s.bytes, secret.as_bytes()) || contains(&s.bytes, &utf16))
        .map(|s| s.place.as_str())
        .collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
