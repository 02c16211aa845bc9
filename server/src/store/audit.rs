//! The audit log, as a hash chain: each entry's hash covers its fields and the previous entry's
//! hash, so an edited or deleted entry is detected by [`Store::verify_audit`].

use sha2::{Digest, Sha256};

use super::Store;

/// One audit entry. `result` holds "success" or the failure's stable error code.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub client_addr: Option<String>,
}

/// Where the chain breaks: the first entry whose hash does not follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub id: i64,
}

#[derive(sqlx::FromRow)]
struct ChainedEntry {
    id: i64,
    #[sqlx(flatten)]
    entry: AuditEntry,
    hash: Option<String>,
}

const GENESIS: &str = "latchkey-audit-v1";

impl AuditEntry {
    fn hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        for field in [prev, &self.at.to_string(), &self.actor, &self.action, &self.target, &self.result] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        let addr = self.client_addr.as_deref().unwrap_or("");
        h.update((addr.len() as u64).to_be_bytes());
        h.update(addr.as_bytes());
        hex::encode(h.finalize())
    }
}

impl Store {
    pub async fn audit(&self, e: &AuditEntry) -> Result<(), sqlx::Error> {
        // Entries are chained in order: one writer at a time in this process, and the read of
        // the previous hash and the insert in one transaction.
        let _turn = self.audit_turn.lock().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == super::Backend::Postgres {
            // Replicas share the chain: one appender at a time, until this transaction ends.
            sqlx::query("SELECT pg_advisory_xact_lock(7411)").execute(&mut *tx).await?;
        }
        let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
        let prev = prev.unwrap_or_else(|| GENESIS.to_string());
        sqlx::query(
            "INSERT INTO audit (at, actor, action, target, result, client_addr, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.result)
        .bind(&e.client_addr)
        .bind(&prev)
        .bind(e.hash(&prev))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Entries about `target`, oldest first.
    pub async fn audit_of(&self, target: &str) -> Result<Vec<AuditEntry>, sqlx::Error> {
        sqlx::query_as("SELECT at, actor, action, target, result, client_addr FROM audit WHERE target = $1 ORDER BY id")
            .bind(target)
            .fetch_all(&self.pool)
            .await
    }

    /// Entries matching every given filter (substring of actor, exact action, substring of
    /// target), newest first, at most `limit`.
    pub async fn search_audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let like = |t: &str| format!("%{}%", t.trim().replace('!', "!!").replace('%', "!%").replace('_', "!_"));
        sqlx::query_as(
            "SELECT at, actor, action, target, result, client_addr FROM audit
             WHERE actor LIKE $1 ESCAPE '!' AND ($2 = '' OR action = $3) AND target LIKE $4 ESCAPE '!'
             ORDER BY id DESC LIMIT $5",
        )
        .bind(like(actor))
        .bind(action.trim())
        .bind(action.trim())
        .bind(like(target))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Walks the whole chain; `Ok(None)` when every entry follows from the one before.
    pub async fn verify_audit(&self) -> Result<Option<ChainBreak>, sqlx::Error> {
        let rows: Vec<ChainedEntry> = sqlx::query_as(
            "SELECT id, at, actor, action, target, result, client_addr, hash FROM audit \
             WHERE hash IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut prev = GENESIS.to_string();
        for row in rows {
            let expected = row.entry.hash(&prev);
            if row.hash.as_deref() != Some(expected.as_str()) {
                return Ok(Some(ChainBreak { id: row.id }));
            }
            prev = expected;
        }
        Ok(None)
    }
}
