//! The database: sessions, the audit log, employees and their keys (SQLite through sqlx; migrations embedded).
//!
//! Invariants: no password, in any form, is ever written here; session tokens are stored only
//! as SHA-256 hashes.

mod accounts;
mod admin;
mod audit;
mod audit_spool;
mod dashboard;
mod deliveries;
mod employee_pages;
mod employees;
mod failures;
mod journal;
mod keys;
mod local;
mod mail;
mod recovery;
mod sessions;
mod shared_limits;

pub use accounts::{AccountLogin, KeyAccountRow};
pub use admin::TotpRow;
pub use audit::{AuditAnchor, AuditEntry, AuditSearch, ChainBreak, FoundEntry, Rotated, RotationError};
pub use audit_spool::{AuditSpool, DRAIN_EVERY as AUDIT_SPOOL_DRAIN_EVERY};
pub use deliveries::{DeliveryTarget, PendingDelivery, Staging};
pub use employee_pages::{EmployeeCursor, EmployeePage, PageAt};
pub use employees::{EmployeeRow, EmployeeState, SyncReport, SyncedUser};
pub use journal::{OpenChange, Step};
pub use keys::{parse_public_key, Employee, KeyRegistryError, KeyRow, NewEmployee, KEY_SLOTS};
pub use local::LocalAccount;
pub use mail::{JobRun, MailKind, MailRow, NewMail};
pub use recovery::CodeCheck;
pub use sessions::{NewSession, Principal, SessionRow};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// Whether `e` says the database cannot be reached or written now (down, read-only, out of
/// connections or space), as opposed to refusing what was sent: the former may pass.
pub fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
            db.code().is_some_and(|code| {
                if sqlite {
                    // Busy, locked, read-only, I/O error, full, cannot open (primary codes).
                    code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
                } else {
                    // Connection exceptions, read-only transaction, insufficient resources,
                    // shutting down.
                    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "25006"
                }
            })
        }
        _ => false,
    }
}

/// Which database the store runs on. The same queries serve both: `$N` parameters, booleans
/// as 0/1 integers, no engine-specific functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, the default: `sqlite://path` (created when missing).
    Sqlite,
    /// For several replicas: `postgres://…`.
    Postgres,
}

/// Creates a missing SQLite file readable by the server's user only (0600): it holds session
/// hashes, the audit log and sealed secrets. SQLite gives its -wal and -shm files the same mode.
fn create_private(url: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    if std::path::Path::new(path).exists() {
        // A database made before (or by hand) is made private too.
        use std::os::unix::fs::PermissionsExt;
        return std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| anyhow::anyhow!("cannot make the database {path} private: {e}"));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot create the database {path}: {e}"))
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Audit entries are chained one at a time (across replicas, PostgreSQL's advisory lock).
    audit_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The audit chain's HMAC key and head checkpoint, once anchored.
    audit_anchor: Option<std::sync::Arc<audit::AuditAnchor>>,
}

impl Store {
    /// Opens the database at `url` (SQLite, created if needed; or PostgreSQL) and applies
    /// pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        Store::open_with_pool(url, 8).await
    }

    /// As [`Store::open`], with at most `max_connections` connections (`database_max_connections`).
    pub async fn open_with_pool(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("database_url must be sqlite://… or postgres://…");
        };
        let pool = match backend {
            Backend::Sqlite => {
                create_private(url)?;
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;").await.map(|_| ())
                        })
                    })
                    .connect(&url)
                    .await?;
                pool.execute("PRAGMA journal_mode = WAL").await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                pool
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new().max_connections(max_connections).connect(url).await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                pool
            }
        };
        let store = Store { pool, backend, audit_turn: Default::default(), audit_anchor: None };
        store.complete_login_keys().await?;
        Ok(store)
    }

    /// Fills `login_key` where SQL's ASCII-only lower() could not (names in other scripts).
    async fn complete_login_keys(&self) -> Result<(), sqlx::Error> {
        for table in ["employees", "local_accounts"] {
            let rows: Vec<(String, Option<String>)> =
                sqlx::query_as(&format!("SELECT username, login_key FROM {table}")).fetch_all(&self.pool).await?;
            for (username, key) in rows {
                let wanted = crate::identity::LoginKey::of(&username);
                if key.as_deref() != Some(wanted.as_str()) {
                    sqlx::query(&format!("UPDATE {table} SET login_key = $1 WHERE username = $2"))
                        .bind(wanted.as_str())
                        .bind(&username)
                        .execute(&self.pool)
                        .await?;
                }
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    #[cfg(test)]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`, waiting out other writers within the busy timeout): a transaction that read
    /// first would be refused its first write whenever another connection wrote in between.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}

/// Stores for the fast tier's tests: a temporary SQLite always, and a fresh database on the
/// PostgreSQL the test command starts when `LATCHKEY_TEST_PG_URL` names it.
#[cfg(test)]
pub mod testing {
    use super::Store;

    pub struct TestStore {
        pub store: Store,
        pub engine: &'static str,
        _dir: tempfile::TempDir,
    }

    pub async fn stores() -> Vec<TestStore> {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open(&format!("sqlite://{}", dir.path().join("t.sqlite").display())).await.unwrap();
        let mut all = vec![TestStore { store: sqlite, engine: "sqlite", _dir: dir }];
        if let Ok(admin) = std::env::var("LATCHKEY_TEST_PG_URL") {
            use sqlx::Connection;
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let name = format!("u{}_{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
            let _ = conn.close().await;
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            all.push(TestStore {
                store: Store::open(&url).await.unwrap(),
                engine: "postgres",
                _dir: tempfile::tempdir().unwrap(),
            });
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn a_new_sqlite_database_is_private_to_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let store = Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
        store.ping().await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        for extra in ["new.sqlite-wal", "new.sqlite-shm"] {
            if let Ok(meta) = std::fs::metadata(dir.path().join(extra)) {
                assert_eq!(meta.permissions().mode() & 0o077, 0, "{extra} is private too");
            }
        }
    }
}
