//! Where an audit entry waits while the database cannot take it: a file beside the server's
//! secret, one JSON line per entry with a tag under the audit key, moved into the audit log
//! once the database answers again (each entry keeps the time it happened).
//!
//! Invariants:
//! - An entry leaves the file only after the database took it; a process killed in between
//!   leaves it there (at worst it is recorded twice, never lost). The file is replaced whole
//!   (written aside, then renamed), never emptied in place.
//! - Only an unreachable or read-only database spools: an entry the database refuses for what
//!   it holds stays in the server's log alone, so no entry can block the ones behind it.
//! - A line without a valid tag (written by anyone but a server holding the audit key) or that
//!   cannot be read is dropped, and the drop logged.
//! - Replicas that share the folder share the file: changes to it hold `<file>.lock` briefly;
//!   one process drains at a time, without holding up the writers.
//! - The file is bounded (`MAX_SPOOLED`); past it an entry is only in the server's log.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AuditEntry, Store};

/// Entries the file holds at most.
const MAX_SPOOLED: usize = 10_000;
/// Entries one drain moves before it rewrites the file.
const BATCH: usize = 500;

/// How often a server looks for spooled entries on its own.
pub const DRAIN_EVERY: Duration = Duration::from_secs(5);

pub struct AuditSpool {
    path: PathBuf,
    /// One drain at a time in this process (the `.drain` file's lock does it across them).
    draining: tokio::sync::Mutex<()>,
}

/// An entry as the file holds it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Spooled {
    at: i64,
    actor: String,
    action: String,
    target: String,
    result: String,
    client_addr: Option<String>,
    /// The entry's link as if `SPOOL_LINK` came before it: proves a server wrote it.
    tag: String,
}

const SPOOL_LINK: &str = "latchkey-audit-spool";

impl AuditSpool {
    pub fn new(path: PathBuf) -> AuditSpool {
        AuditSpool { path, draining: tokio::sync::Mutex::new(()) }
    }

    /// Keeps `entry` for later. Err when even the file cannot take it.
    pub async fn push(&self, store: &Store, entry: &AuditEntry) -> std::io::Result<()> {
        let line = serde_json::to_string(&Spooled::of(store, entry)).map_err(std::io::Error::other)?;
        let path = self.path.clone();
        blocking(move || {
            let _lock = locked(&sibling(&path, "lock"))?;
            let (text, torn) = read(&path)?;
            if text.lines().count() >= MAX_SPOOLED {
                return Err(std::io::Error::other("the audit spool is full"));
            }
            let mut file = open(&path, OpenOptions::new().append(true).create(true))?;
            // A line a crash cut short ends here, so this entry starts a line of its own.
            let start = if torn { "\n" } else { "" };
            file.write_all(format!("{start}{line}\n").as_bytes())?;
            file.sync_data()
        })
        .await
    }

    /// Moves what waits into the audit log, oldest first; stops when the database is still
    /// away. How many moved. Another drain under way (here or in another process) is left to it.
    pub async fn drain(&self, store: &Store) -> std::io::Result<usize> {
        self.drain_within(store, Duration::ZERO).await
    }

    /// As [`AuditSpool::drain`], waiting up to `wait` for a drain under way to end first: for
    /// a reader that must see what waited (a verdict that reads the audit log).
    pub async fn drain_within(&self, store: &Store, wait: Duration) -> std::io::Result<usize> {
        if std::fs::metadata(&self.path).map(|m| m.len() == 0).unwrap_or(true) {
            return Ok(0);
        }
        let Ok(_here) = tokio::time::timeout(wait, self.draining.lock()).await else { return Ok(0) };
        let drain_lock = sibling(&self.path, "drain");
        let until = std::time::Instant::now() + wait;
        let _drainer = loop {
            let path = drain_lock.clone();
            match blocking(move || try_locked(&path)).await? {
                Some(file) => break file,
                None if std::time::Instant::now() < until => tokio::time::sleep(Duration::from_millis(50)).await,
                None => return Ok(0),
            }
        };
        let mut moved = 0;
        loop {
            let path = self.path.clone();
            let (text, _) = blocking(move || read(&path)).await?;
            // Only whole lines: one a writer is still appending is left for the next drain.
            let whole = text.rfind('\n').map_or("", |end| &text[..end]);
            let batch: Vec<String> = whole.lines().take(BATCH).map(str::to_string).collect();
            if batch.is_empty() {
                break;
            }
            let mut done = 0;
            let mut away = false;
            for line in &batch {
                match Spooled::verified(store, line) {
                    Some(entry) => match store.audit(&entry).await {
                        Ok(()) => moved += 1,
                        Err(e) if super::unreachable(&e) => {
                            tracing::warn!(error = %e, "the audit log still cannot take the spooled entries");
                            away = true;
                            break;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, ?entry, "AUDIT WRITE FAILED: the log refuses a spooled entry")
                        }
                    },
                    None => tracing::error!(%line, "a line of the audit spool without a valid tag, dropped"),
                }
                done += 1;
            }
            let path = self.path.clone();
            blocking(move || remove_first(&path, done)).await?;
            if away || batch.len() < BATCH {
                break;
            }
        }
        if moved > 0 {
            tracing::info!(moved, "spooled audit entries recorded");
        }
        Ok(moved)
    }
}

impl Spooled {
    fn of(store: &Store, e: &AuditEntry) -> Spooled {
        Spooled {
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            result: e.result.clone(),
            client_addr: e.client_addr.clone(),
            tag: tag(store, e),
        }
    }

    /// The entry on `line`, when a server holding the audit key wrote it.
    fn verified(store: &Store, line: &str) -> Option<AuditEntry> {
        let s: Spooled = serde_json::from_str(line).ok()?;
        let entry = AuditEntry {
            at: s.at,
            actor: s.actor,
            action: s.action,
            target: s.target,
            result: s.result,
            client_addr: s.client_addr,
        };
        (tag(store, &entry) == s.tag).then_some(entry)
    }
}

fn tag(store: &Store, e: &AuditEntry) -> String {
    match &store.audit_anchor {
        Some(anchor) => e.mac(&anchor.key, SPOOL_LINK),
        None => e.hash(SPOOL_LINK),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

/// Opens `path` private to the server, refusing a link in its place.
fn open(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(target_os = "linux")]
const O_NOFOLLOW: i32 = 0o400_000;
#[cfg(all(unix, not(target_os = "linux")))]
const O_NOFOLLOW: i32 = 0x100;

fn lock_file(path: &Path) -> std::io::Result<File> {
    open(path, OpenOptions::new().read(true).write(true).create(true).truncate(false))
}

fn locked(path: &Path) -> std::io::Result<File> {
    let file = lock_file(path)?;
    file.lock()?;
    Ok(file)
}

fn try_locked(path: &Path) -> std::io::Result<Option<File>> {
    let file = lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The file's text (an unreadable byte read as U+FFFD) and whether its last line was cut short.
fn read(path: &Path) -> std::io::Result<(String, bool)> {
    let mut bytes = Vec::new();
    match open(path, OpenOptions::new().read(true)) {
        Ok(mut file) => file.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let torn = bytes.last().is_some_and(|b| *b != b'\n');
    Ok((String::from_utf8_lossy(&bytes).into_owned(), torn))
}

/// Drops the first `n` lines: the rest is written aside and renamed over the file.
fn remove_first(path: &Path, n: usize) -> std::io::Result<()> {
    let _lock = locked(&sibling(path, "lock"))?;
    let (text, _) = read(path)?;
    let rest: String = text.lines().skip(n).map(|l| format!("{l}\n")).collect();
    let aside = sibling(path, "new");
    let mut file = open(&aside, OpenOptions::new().write(true).create(true).truncate(true))?;
    file.write_all(rest.as_bytes())?;
    file.sync_data()?;
    std::fs::rename(&aside, path)
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i64) -> AuditEntry {
        AuditEntry {
            at: n,
            actor: "ädmin".into(),
            action: "admin_reset".into(),
            target: "Zoë".into(),
            result: "success".into(),
            client_addr: None,
        }
    }

    async fn store_in(dir: &Path) -> Store {
        Store::open(&format!("sqlite://{}", dir.join("db.sqlite").display())).await.unwrap()
    }

    #[tokio::test]
    async fn spooled_entries_reach_the_log_in_order_once() {
        let dir = tempfile::tempdir().unwrap();
        let spool = AuditSpool::new(dir.path().join("spool"));
        let store = store_in(dir.path()).await;
        assert_eq!(spool.drain(&store).await.unwrap(), 0, "nothing waits before anything is pushed");
        for n in [3, 1, 2] {
            spool.push(&store, &entry(n)).await.unwrap();
        }
        assert_eq!(spool.drain(&store).await.unwrap(), 3);
        assert_eq!(spool.drain(&store).await.unwrap(), 0, "each moved once");
        let oldest_first: Vec<i64> = store.audit_of("Zoë").await.unwrap().iter().map(|e| e.at).collect();
        assert_eq!(oldest_first, vec![3, 1, 2], "in the order pushed, each keeping its time");
        assert!(store.verify_audit().await.unwrap().is_none(), "the chain is whole");
    }

    #[tokio::test]
    async fn entries_wait_while_the_database_is_away() {
        let dir = tempfile::tempdir().unwrap();
        let spool = AuditSpool::new(dir.path().join("spool"));
        let store = store_in(dir.path()).await;
        spool.push(&store, &entry(1)).await.unwrap();
        store.pool.close().await;
        assert_eq!(spool.drain(&store).await.unwrap(), 0, "a closed database takes nothing");
        let waiting = std::fs::read_to_string(dir.path().join("spool")).unwrap();
        assert_eq!(waiting.lines().count(), 1, "the entry is still in the file: {waiting}");
    }

    #[tokio::test]
    async fn forged_and_torn_lines_are_dropped_and_block_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        let spool = AuditSpool::new(path.clone());
        let store = store_in(dir.path()).await;
        spool.push(&store, &entry(1)).await.unwrap();
        // A line written by someone without the key, then one a crash cut short.
        let forged = r#"{"at":2,"actor":"x","action":"admin_reset","target":"Zoë","result":"success","client_addr":null,"tag":"00"}"#;
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(format!("{forged}\n").as_bytes()).unwrap();
        file.write_all(b"{\"at\":3,\"act\xC3").unwrap();
        spool.push(&store, &entry(4)).await.unwrap();
        assert_eq!(spool.drain(&store).await.unwrap(), 2, "the two real entries");
        let at: Vec<i64> = store.audit_of("Zoë").await.unwrap().iter().map(|e| e.at).collect();
        assert_eq!(at, vec![1, 4], "the forged one is not there");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "nothing left behind");
    }

    #[tokio::test]
    async fn a_line_still_being_written_waits_for_the_next_drain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        let spool = AuditSpool::new(path.clone());
        let store = store_in(dir.path()).await;
        spool.push(&store, &entry(1)).await.unwrap();
        // A writer holding the lock has written half its line when a drain reads the file.
        let line = serde_json::to_string(&Spooled::of(&store, &entry(2))).unwrap();
        let (head, tail) = line.split_at(line.len() / 2);
        let writing = locked(&sibling(&path, "lock")).unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(head.as_bytes()).unwrap();
        let draining = tokio::spawn({
            let (spool, store) = (AuditSpool::new(path.clone()), store.clone());
            async move { spool.drain(&store).await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        file.write_all(format!("{tail}\n").as_bytes()).unwrap();
        drop(writing);
        assert_eq!(draining.await.unwrap(), 1, "the whole line only");
        assert_eq!(spool.drain(&store).await.unwrap(), 1, "the other, once written whole");
        let at: Vec<i64> = store.audit_of("Zoë").await.unwrap().iter().map(|e| e.at).collect();
        assert_eq!(at, vec![1, 2]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_in_the_spools_place_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, "keep me\n").unwrap();
        let path = dir.path().join("spool");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let store = store_in(dir.path()).await;
        assert!(AuditSpool::new(path).push(&store, &entry(1)).await.is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    }
}
