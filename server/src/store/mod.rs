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
mod sessions;

pub use accounts::KeyAccountRow;
pub use audit::{AuditEntry, ChainBreak};
pub use deliveries::{DeliveryTarget, PendingDelivery};
pub use employees::{EmployeeRow, SyncReport, SyncedUser};
pub use journal::{OpenChange, Step};
pub use keys::{Employee, KeyRegistryError, KeyRow, NewEmployee, KEY_SLOTS};
pub use sessions::{NewSession, SessionRow};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::str::FromStr;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Audit entries are chained one at a time.
    audit_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool, audit_turn: Default::default() })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}
