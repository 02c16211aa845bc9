use sqlx::Row;

use super::Store;

/// One audit entry. `result` holds "success" or the failure's stable error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub client_addr: Option<String>,
}

impl Store {
    pub async fn audit(&self, e: &AuditEntry) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO audit (at, actor, action, target, result, client_addr) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.result)
            .bind(&e.client_addr)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Entries about `target`, oldest first.
    pub async fn audit_of(&self, target: &str) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target, result, client_addr FROM audit WHERE target = ? ORDER BY id",
        )
        .bind(target)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    action: r.try_get(2)?,
                    target: r.try_get(3)?,
                    result: r.try_get(4)?,
                    client_addr: r.try_get(5)?,
                })
            })
            .collect()
    }
}
