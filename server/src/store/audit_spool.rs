//! Where an audit entry waits while the database cannot take it: a file beside the server's
//! secret (one JSON line per entry, written through to the disk), moved into the audit log in
//! order once the database answers again.
//!
//! Invariants:
//! - An entry leaves the file only after the database took it; a process killed in between
//!   leaves it in the file (at worst it is recorded twice, never lost).
//! - Replicas that share the folder share the file: every reader and writer holds the file's
//!   exclusive lock.
//! - The file is bounded (`MAX_SPOOLED`); past it an entry is only in the server's log.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::{AuditEntry, Store};

/// Entries the file holds at most.
const MAX_SPOOLED: usize = 10_000;

pub struct AuditSpool {
    path: PathBuf,
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
}

impl AuditSpool {
    pub fn new(path: PathBuf) -> AuditSpool {
        AuditSpool { path }
    }

    /// Keeps `entry` for later. Err when even the file cannot take it.
    pub async fn push(&self, entry: &AuditEntry) -> std::io::Result<()> {
        let line = serde_json::to_string(&Spooled::from(entry)).map_err(std::io::Error::other)?;
        let path = self.path.clone();
        blocking(move || {
            let file = locked(&path)?;
            if BufReader::new(&file).lines().count() >= MAX_SPOOLED {
                return Err(std::io::Error::other("the audit spool is full"));
            }
            let mut file = &file;
            file.seek(std::io::SeekFrom::End(0))?;
            writeln!(file, "{line}")?;
            file.sync_data()
        })
        .await
    }

    /// Moves what waits into the audit log, oldest first, and stops at the first entry the
    /// database does not take. How many moved.
    pub async fn drain(&self, store: &Store) -> std::io::Result<usize> {
        if std::fs::metadata(&self.path).map(|m| m.len() == 0).unwrap_or(true) {
            return Ok(0);
        }
        let path = self.path.clone();
        let file = blocking(move || locked(&path)).await?;
        let mut moved = 0;
        loop {
            let (next, rest) = blocking_with(&file, first_and_rest).await?;
            let Some(next) = next else { break };
            match serde_json::from_str::<Spooled>(&next) {
                Ok(entry) => {
                    if let Err(e) = store.audit(&entry.into()).await {
                        tracing::warn!(error = %e, "the audit log still cannot take the spooled entries");
                        break;
                    }
                    moved += 1;
                }
                Err(e) => tracing::error!(line = %next, error = %e, "an unreadable line in the audit spool, dropped"),
            }
            blocking_with(&file, move |f| rewrite(f, &rest)).await?;
        }
        if moved > 0 {
            tracing::info!(moved, "spooled audit entries recorded");
        }
        Ok(moved)
    }
}

/// The spool, opened (made when missing, private) and locked for this caller alone.
fn locked(path: &PathBuf) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    file.lock()?;
    Ok(file)
}

fn first_and_rest(mut file: &File) -> std::io::Result<(Option<String>, Vec<String>)> {
    file.rewind()?;
    let mut lines = BufReader::new(file).lines().filter(|l| !l.as_ref().is_ok_and(|l| l.trim().is_empty()));
    let first = lines.next().transpose()?;
    Ok((first, lines.collect::<std::io::Result<_>>()?))
}

fn rewrite(mut file: &File, lines: &[String]) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    file.sync_data()
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(std::io::Error::other)?
}

/// `work` on the locked file, off the async threads.
async fn blocking_with<T: Send + 'static>(
    file: &File,
    work: impl FnOnce(&File) -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let file = file.try_clone()?;
    blocking(move || work(&file)).await
}

/// How often a server looks for spooled entries on its own (a write to the audit log looks
/// first too).
pub const DRAIN_EVERY: Duration = Duration::from_secs(5);

impl From<&AuditEntry> for Spooled {
    fn from(e: &AuditEntry) -> Spooled {
        Spooled {
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            result: e.result.clone(),
            client_addr: e.client_addr.clone(),
        }
    }
}

impl From<Spooled> for AuditEntry {
    fn from(s: Spooled) -> AuditEntry {
        AuditEntry {
            at: s.at,
            actor: s.actor,
            action: s.action,
            target: s.target,
            result: s.result,
            client_addr: s.client_addr,
        }
    }
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

    #[tokio::test]
    async fn spooled_entries_reach_the_log_in_order_once() {
        let dir = tempfile::tempdir().unwrap();
        let spool = AuditSpool::new(dir.path().join("spool"));
        let store = Store::open(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.unwrap();
        assert_eq!(spool.drain(&store).await.unwrap(), 0, "nothing waits before anything is pushed");
        for n in 1..=3 {
            spool.push(&entry(n)).await.unwrap();
        }
        assert_eq!(spool.drain(&store).await.unwrap(), 3);
        assert_eq!(spool.drain(&store).await.unwrap(), 0, "each moved once");
        let logged: Vec<i64> = store.audit_of("Zoë").await.unwrap().iter().map(|e| e.at).collect();
        let mut sorted = logged.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![1, 2, 3]);
        assert!(store.verify_audit().await.unwrap().is_none(), "the chain is whole");
    }

    #[tokio::test]
    async fn entries_wait_while_the_database_refuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let spool = AuditSpool::new(dir.path().join("spool"));
        let store = Store::open(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.unwrap();
        spool.push(&entry(1)).await.unwrap();
        store.pool.close().await;
        assert_eq!(spool.drain(&store).await.unwrap(), 0, "a closed database takes nothing");
        let waiting = std::fs::read_to_string(dir.path().join("spool")).unwrap();
        assert_eq!(waiting.lines().count(), 1, "the entry is still in the file: {waiting}");
    }
}
