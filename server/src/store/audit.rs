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
        sqlx::query_as("SELECT at, actor, action, target, result, client_addr FROM audit WHERE target = ? ORDER BY id")
            .bind(target)
            .fetch_all(&self.pool)
            .await
    }
}
