//! Employees: imported from a directory group, matched by objectGUID (never by name).

use super::Store;

/// One directory user as a sync sees it.
pub struct SyncedUser<'a> {
    pub object_guid: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub disabled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub added: u32,
    pub updated: u32,
    pub removed: u32,
    pub unchanged: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EmployeeRow {
    pub id: i64,
    pub object_guid: String,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub removed_at: Option<i64>,
    pub keys: i64,
}

impl Store {
    /// Applies a group's membership: new users added, renamed or (dis|en)abled ones updated,
    /// those no longer in the group marked removed (their keys and audit stay).
    pub async fn sync_employees(&self, members: &[SyncedUser<'_>], now: i64) -> Result<SyncReport, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut report = SyncReport::default();
        for m in members {
            let existing: Option<(String, String, bool, Option<i64>)> = sqlx::query_as(
                "SELECT username, display_name, disabled, removed_at FROM employees WHERE object_guid = ?",
            )
            .bind(m.object_guid)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                None => {
                    sqlx::query(
                        "INSERT INTO employees (object_guid, username, display_name, disabled, created_at, synced_at)
                         VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(m.object_guid)
                    .bind(m.username)
                    .bind(m.display_name)
                    .bind(m.disabled)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    report.added += 1;
                }
                Some((username, display_name, disabled, removed_at)) => {
                    let same = username == m.username
                        && display_name == m.display_name
                        && disabled == m.disabled
                        && removed_at.is_none();
                    sqlx::query(
                        "UPDATE employees SET username = ?, display_name = ?, disabled = ?, removed_at = NULL,
                         synced_at = ? WHERE object_guid = ?",
                    )
                    .bind(m.username)
                    .bind(m.display_name)
                    .bind(m.disabled)
                    .bind(now)
                    .bind(m.object_guid)
                    .execute(&mut *tx)
                    .await?;
                    if same {
                        report.unchanged += 1;
                    } else {
                        report.updated += 1;
                    }
                }
            }
        }
        // Everyone this sync did not see has left the group.
        let seen = serde_json::to_string(&members.iter().map(|m| m.object_guid).collect::<Vec<_>>())
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let removed = sqlx::query(
            "UPDATE employees SET removed_at = ?
             WHERE removed_at IS NULL AND object_guid NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(now)
        .bind(seen)
        .execute(&mut *tx)
        .await?;
        report.removed = removed.rows_affected() as u32;
        tx.commit().await?;
        Ok(report)
    }

    /// A page of employees whose logon or display name contains `query`, by logon name; and the
    /// total number matching.
    pub async fn employees(
        &self,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<EmployeeRow>, i64), sqlx::Error> {
        // LIKE with `!` as the escape character: the user's text matches literally.
        let escaped = query.trim().replace('!', "!!").replace('%', "!%").replace('_', "!_");
        let pattern = format!("%{escaped}%");
        let rows = sqlx::query_as(
            "SELECT e.id, e.object_guid, e.username, e.display_name, e.disabled, e.removed_at,
             (SELECT COUNT(*) FROM keys k WHERE k.employee_id = e.id) AS keys
             FROM employees e
             WHERE e.username LIKE ?1 ESCAPE '!' OR e.display_name LIKE ?1 ESCAPE '!'
             ORDER BY e.username COLLATE NOCASE LIMIT ?2 OFFSET ?3",
        )
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total = sqlx::query_scalar(
            "SELECT COUNT(*) FROM employees e WHERE e.username LIKE ?1 ESCAPE '!' OR e.display_name LIKE ?1 ESCAPE '!'",
        )
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        Ok((rows, total))
    }
}
