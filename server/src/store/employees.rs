//! Employees: imported from a directory group, matched by objectGUID (never by name).

use latchkey_api::registry::StatusReason;

use super::Store;
use crate::identity::LoginKey;

/// One directory user as a sync sees it.
pub struct SyncedUser<'a> {
    pub object_guid: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub disabled: bool,
    /// When the password expires (Unix seconds); `None`: never.
    pub password_expires_at: Option<i64>,
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
    /// The logon name folded for comparison: the list's order.
    pub login_key: String,
    pub username: String,
    pub display_name: String,
    /// 0 or 1.
    pub disabled: i64,
    pub removed_at: Option<i64>,
    pub keys: i64,
}

impl Store {
    /// Applies a group's membership: new users added, renamed or (dis|en)abled ones updated,
    /// those no longer in the group marked removed (their keys and audit stay).
    pub async fn sync_employees(&self, members: &[SyncedUser<'_>], now: i64) -> Result<SyncReport, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let mut report = SyncReport::default();
        for m in members {
            let existing: Option<(String, String, i64, Option<i64>)> = sqlx::query_as(
                "SELECT username, display_name, disabled, removed_at FROM employees WHERE object_guid = $1",
            )
            .bind(m.object_guid)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                None => {
                    sqlx::query(
                        "INSERT INTO employees (object_guid, username, display_name, disabled, created_at, synced_at,
                         login_key, password_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(m.object_guid)
                    .bind(m.username)
                    .bind(m.display_name)
                    .bind(i64::from(m.disabled))
                    .bind(now)
                    .bind(now)
                    .bind(LoginKey::of(m.username).as_str())
                    .bind(m.password_expires_at)
                    .execute(&mut *tx)
                    .await?;
                    report.added += 1;
                }
                Some((username, display_name, disabled, removed_at)) => {
                    let same = username == m.username
                        && display_name == m.display_name
                        && (disabled != 0) == m.disabled
                        && removed_at.is_none();
                    sqlx::query(
                        "UPDATE employees SET username = $1, display_name = $2, disabled = $3, removed_at = NULL,
                         synced_at = $4, login_key = $5, password_expires_at = $6 WHERE object_guid = $7",
                    )
                    .bind(m.username)
                    .bind(m.display_name)
                    .bind(i64::from(m.disabled))
                    .bind(now)
                    .bind(LoginKey::of(m.username).as_str())
                    .bind(m.password_expires_at)
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
        let seen: std::collections::HashSet<&str> = members.iter().map(|m| m.object_guid).collect();
        let present: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, object_guid FROM employees WHERE removed_at IS NULL")
                .fetch_all(&mut *tx)
                .await?;
        for (id, _) in present.iter().filter(|(_, guid)| !seen.contains(guid.as_str())) {
            sqlx::query("UPDATE employees SET removed_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            report.removed += 1;
        }
        tx.commit().await?;
        Ok(report)
    }

    /// One employee as the list shows them.
    pub async fn employee_row(&self, id: i64) -> Result<Option<EmployeeRow>, sqlx::Error> {
        sqlx::query_as(&format!("{SELECT_EMPLOYEES} FROM employees e WHERE e.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }
}

pub(super) const SELECT_EMPLOYEES: &str =
    "SELECT e.id, e.object_guid, COALESCE(e.login_key, '') AS login_key, e.username, e.display_name, e.disabled, e.removed_at,
    (SELECT COUNT(*) FROM keys k WHERE k.employee_id = e.id) AS keys";

/// Which employees a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmployeeState {
    #[default]
    All,
    /// In the group and enabled.
    Active,
    Disabled,
    /// No longer in the group.
    Removed,
    WithoutKey,
    /// Still in the group, password expired (as of the last sync).
    Expired {
        now: i64,
    },
    /// Still in the group, password expiring after `now` and by `by`.
    Expiring {
        now: i64,
        by: i64,
    },
    /// With a password sealed to one of their keys before `before` and still not taken.
    WaitingDelivery {
        before: i64,
    },
}

impl EmployeeState {
    /// The list filter by its label (`expired`, `expiring_7`, `expiring_30` relative to `now`).
    pub fn parse(label: &str, now: i64) -> Option<EmployeeState> {
        Some(match label {
            "" | "all" => EmployeeState::All,
            "active" => EmployeeState::Active,
            "disabled" => EmployeeState::Disabled,
            "removed" => EmployeeState::Removed,
            "without_key" => EmployeeState::WithoutKey,
            "expired" => EmployeeState::Expired { now },
            "expiring_7" => EmployeeState::Expiring { now, by: now + 7 * 86_400 },
            "expiring_30" => EmployeeState::Expiring { now, by: now + 30 * 86_400 },
            "waiting_delivery" => EmployeeState::WaitingDelivery { before: now - 86_400 },
            _ => return None,
        })
    }

    /// An SQL condition made of fixed text and the server's own numbers (no user text in it).
    pub(super) fn condition(self) -> String {
        match self {
            EmployeeState::All => "1 = 1".into(),
            EmployeeState::Active => "e.removed_at IS NULL AND e.disabled = 0".into(),
            EmployeeState::Disabled => "e.disabled = 1".into(),
            EmployeeState::Removed => "e.removed_at IS NOT NULL".into(),
            EmployeeState::WithoutKey => "NOT EXISTS (SELECT 1 FROM keys k WHERE k.employee_id = e.id)".into(),
            EmployeeState::Expired { now } => format!(
                "e.removed_at IS NULL AND e.disabled = 0 AND e.password_expires_at IS NOT NULL \
                 AND e.password_expires_at <= {now}"
            ),
            EmployeeState::Expiring { now, by } => format!(
                "e.removed_at IS NULL AND e.disabled = 0 AND e.password_expires_at > {now} \
                 AND e.password_expires_at <= {by}"
            ),
            EmployeeState::WaitingDelivery { before } => format!(
                "EXISTS (SELECT 1 FROM pending_deliveries d JOIN keys k ON k.id = d.key_id \
                 WHERE k.employee_id = e.id AND d.created_at < {before})"
            ),
        }
    }
}

impl Store {
    /// The employee with this objectGUID, as the list shows them.
    pub async fn employee_by_guid(&self, object_guid: &str) -> Result<Option<EmployeeRow>, sqlx::Error> {
        sqlx::query_as(&format!("{SELECT_EMPLOYEES} FROM employees e WHERE e.object_guid = $1"))
            .bind(object_guid)
            .fetch_optional(&self.pool)
            .await
    }

    /// The employee with this logon name (any case): the one still in the group when a name
    /// was reused.
    pub async fn employee_named(&self, username: &str) -> Result<Option<EmployeeRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "{SELECT_EMPLOYEES} FROM employees e WHERE e.login_key = $1
             ORDER BY CASE WHEN e.removed_at IS NULL THEN 0 ELSE 1 END, e.id DESC LIMIT 1"
        ))
        .bind(LoginKey::of(username).as_str())
        .fetch_optional(&self.pool)
        .await
    }

    /// Suspends every reserved or active key whose employee left the group or was disabled;
    /// the serials and why.
    pub async fn suspend_keys_of_departed(&self) -> Result<Vec<(String, StatusReason)>, sqlx::Error> {
        let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT k.id, k.serial, e.removed_at FROM keys k JOIN employees e ON e.id = k.employee_id
             WHERE k.status IN ('reserved', 'active') AND (e.removed_at IS NOT NULL OR e.disabled = 1)
             ORDER BY k.serial",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut suspended = Vec::new();
        for (id, serial, removed_at) in rows {
            let reason =
                if removed_at.is_some() { StatusReason::EmployeeLeftGroup } else { StatusReason::EmployeeDisabled };
            let done = sqlx::query(
                "UPDATE keys SET status = 'suspended', status_reason = $1 WHERE id = $2 AND status IN ('reserved', 'active')",
            )
            .bind(reason.label())
            .bind(id)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 1 {
                suspended.push((serial, reason));
            }
        }
        Ok(suspended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PageAt;

    fn member<'a>(guid: &'a str, name: &'a str, disabled: bool) -> SyncedUser<'a> {
        SyncedUser { object_guid: guid, username: name, display_name: name, disabled, password_expires_at: None }
    }

    #[tokio::test]
    async fn a_sync_adds_renames_disables_and_removes_by_object_guid() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            let first =
                store.sync_employees(&[member("01", "ann", false), member("02", "Ben", false)], 1).await.unwrap();
            assert_eq!(first, SyncReport { added: 2, updated: 0, removed: 0, unchanged: 0 }, "{}", t.engine);
            // Ann renamed (same objectGUID), Ben disabled, Cleo new, nobody else.
            let second = store
                .sync_employees(
                    &[member("01", "anna", false), member("02", "Ben", true), member("03", "Ćleo", false)],
                    2,
                )
                .await
                .unwrap();
            assert_eq!(second, SyncReport { added: 1, updated: 2, removed: 0, unchanged: 0 });
            assert_eq!(store.employee_named("ANNA").await.unwrap().unwrap().object_guid, "01");
            assert!(store.employee_named("ann").await.unwrap().is_none(), "the old name is gone");
            // Ben leaves the group.
            let third =
                store.sync_employees(&[member("01", "anna", false), member("03", "Ćleo", false)], 3).await.unwrap();
            assert_eq!(third, SyncReport { added: 0, updated: 0, removed: 1, unchanged: 2 });
            let ben = store.employee_by_guid("02").await.unwrap().unwrap();
            assert_eq!((ben.disabled, ben.removed_at), (1, Some(3)));
            let active = store.employees("", EmployeeState::Active, &PageAt::First, 10).await.unwrap();
            assert_eq!((active.rows.len(), active.total), (2, 2));
            let count = |q: &'static str| async move {
                store.employees(q, EmployeeState::All, &PageAt::First, 10).await.unwrap().total
            };
            assert_eq!(count("ćle").await, 1, "searched");
            assert_eq!(count("Ćleo").await, 1, "display name as typed");
        }
    }
}
