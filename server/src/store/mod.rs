//! The database: sessions, the audit log, employees and their keys (SQLite through sqlx; migrations embedded).
//!
//! Invariants: no password, in any form, is ever written here; session tokens are stored only
//! as SHA-256 hashes.

mod accounts;
mod admin;
mod audit;
mod deliveries;
mod employees;
mod journal;
mod keys;
mod local;
mod sessions;

pub use accounts::KeyAccountRow;
pub use audit::{AuditEntry, ChainBreak};
pub use deliveries::{DeliveryTarget, PendingDelivery};
pub use employees::{EmployeeRow, EmployeeState, SyncReport, SyncedUser};
pub use journal::{OpenChange, Step};
pub use keys::{parse_public_key, Employee, KeyRegistryError, KeyRow, NewEmployee, KEY_SLOTS};
pub use local::LocalAccount;
pub use sessions::{NewSession, SessionRow};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// Which database the store runs on. The same queries serve both: `$N` parameters, booleans
/// as 0/1 integers, no engine-specific functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, the default: `sqlite://path` (created when missing).
    Sqlite,
    /// For several replicas: `postgres://…`.
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Audit entries are chained one at a time (across replicas, PostgreSQL's advisory lock).
    audit_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens the database at `url` (SQLite, created if needed; or PostgreSQL) and applies
    /// pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
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
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
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
                let pool = AnyPoolOptions::new().max_connections(8).connect(url).await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                pool
            }
        };
        Ok(Store { pool, backend, audit_turn: Default::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}
