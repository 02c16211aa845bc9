//! Counts for the administrators' dashboard, each straight from the table it counts.

use latchkey_api::registry::KeyStatus;

use super::{AuditEntry, Store};

/// Audit actions of a sign-in, by password or with a key.
const SIGN_IN_ACTIONS: &str = "('sign_in', 'sign_in_with_key', 'key_sign_in')";
/// Audit actions of an employee sync.
const SYNC_ACTIONS: &str = "('admin_sync_employees', 'scheduled_sync')";

impl Store {
    /// How many keys are in each status (every status, zero included).
    pub async fn key_counts(&self) -> Result<Vec<(KeyStatus, i64)>, sqlx::Error> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM keys GROUP BY status").fetch_all(&self.pool).await?;
        Ok(KeyStatus::ALL
            .into_iter()
            .map(|s| (s, rows.iter().find(|(label, _)| label == s.label()).map_or(0, |(_, n)| *n)))
            .collect())
    }

    /// Deliveries queued before `before` and not yet taken by their key.
    pub async fn deliveries_waiting_since(&self, before: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM pending_deliveries WHERE created_at < $1")
            .bind(before)
            .fetch_one(&self.pool)
            .await
    }

    /// Refused sign-ins audited after `since`.
    pub async fn failed_sign_ins_since(&self, since: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM audit WHERE action IN {SIGN_IN_ACTIONS} AND result <> 'success' AND at > $1"
        ))
        .bind(since)
        .fetch_one(&self.pool)
        .await
    }

    /// Accounts refused as locked out after `since`, each counted once.
    pub async fn locked_out_since(&self, since: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(DISTINCT target) FROM audit WHERE result = 'locked_out' AND at > $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await
    }

    /// The last employee sync's audit entry.
    pub async fn last_sync(&self) -> Result<Option<AuditEntry>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT at, actor, action, target, result, client_addr FROM audit WHERE action IN {SYNC_ACTIONS}
             ORDER BY id DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
    }
}

#[cfg(test)]
mod tests {
    use latchkey_api::registry::KeyStatus;

    use crate::store::{AuditEntry, NewEmployee};

    fn entry(at: i64, action: &str, target: &str, result: &str) -> AuditEntry {
        AuditEntry {
            at,
            actor: "x".into(),
            action: action.into(),
            target: target.into(),
            result: result.into(),
            client_addr: None,
        }
    }

    #[tokio::test]
    async fn the_dashboard_counts_what_it_names_on_both_engines() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            store.register_key("LK-D1", &[1; 32], "12345678", 0).await.unwrap();
            store.register_key("LK-D2", &[2; 32], "12345678", 0).await.unwrap();
            let zoe = NewEmployee { object_guid: "z", username: "Zoë", display_name: "Zoë" };
            store.assign_key("LK-D2", &zoe, 0).await.unwrap();
            let counts = store.key_counts().await.unwrap();
            assert_eq!(counts.len(), KeyStatus::ALL.len(), "{}", t.engine);
            assert!(counts.contains(&(KeyStatus::Ready, 1)) && counts.contains(&(KeyStatus::Reserved, 1)));
            assert!(counts.contains(&(KeyStatus::Active, 0)));

            for e in [
                entry(100, "sign_in", "a", "invalid_credentials"),
                entry(100, "sign_in", "a", "success"),
                entry(100, "sign_in_with_key", "b", "key_status"),
                entry(100, "change_password", "c", "wrong_current_password"),
                entry(100, "sign_in", "d", "locked_out"),
                entry(100, "change_password", "d", "locked_out"),
                entry(10, "sign_in", "e", "invalid_credentials"),
                entry(90, "scheduled_sync", "employees", "success"),
                entry(95, "admin_sync_employees", "employees", "directory_unavailable"),
            ] {
                store.audit(&e).await.unwrap();
            }
            assert_eq!(store.failed_sign_ins_since(50).await.unwrap(), 3, "{}", t.engine);
            assert_eq!(store.locked_out_since(50).await.unwrap(), 1, "{}: one account", t.engine);
            let last = store.last_sync().await.unwrap().unwrap();
            assert_eq!((last.at, last.result.as_str()), (95, "directory_unavailable"), "{}", t.engine);
            assert_eq!(store.deliveries_waiting_since(1_000).await.unwrap(), 0, "{}", t.engine);
        }
    }

    #[tokio::test]
    async fn expiry_and_waiting_deliveries_filter_the_employee_list_on_both_engines() {
        use crate::store::{EmployeeState, SyncedUser};
        let day = 86_400;
        let now = 100 * day;
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            let member = |guid: &'static str, name: &'static str, expires: Option<i64>, disabled: bool| SyncedUser {
                object_guid: guid,
                username: name,
                display_name: name,
                disabled,
                password_expires_at: expires,
            };
            let members = [
                member("1", "Expired", Some(now - 1), false),
                member("2", "MustChange", Some(0), false),
                member("3", "InFive", Some(now + 5 * day), false),
                member("4", "InTwenty", Some(now + 20 * day), false),
                member("5", "Never", None, false),
                member("6", "OffExpired", Some(now - 1), true),
            ];
            store.sync_employees(&members, now).await.unwrap();
            let names = |state| async move {
                let crate::store::EmployeePage { rows, total, .. } =
                    store.employees("", state, &Default::default(), 50).await.unwrap();
                assert_eq!(rows.len() as i64, total);
                rows.into_iter().map(|r| r.username).collect::<Vec<_>>()
            };
            let parse = |label| EmployeeState::parse(label, now).unwrap();
            assert_eq!(names(parse("expired")).await, ["Expired", "MustChange"], "{}", t.engine);
            assert_eq!(names(parse("expiring_7")).await, ["InFive"], "{}", t.engine);
            assert_eq!(names(parse("expiring_30")).await, ["InFive", "InTwenty"], "{}", t.engine);

            // A delivery queued two days ago waits "over a day"; one queued now does not.
            let owner = NewEmployee { object_guid: "3", username: "InFive", display_name: "InFive" };
            store.register_key("LK-W", &[4; 32], "12345678", 0).await.unwrap();
            store.assign_key("LK-W", &owner, 0).await.unwrap();
            let key = store.key_by_serial("LK-W").await.unwrap().unwrap().id;
            let staging =
                crate::store::Staging { user_dn: "CN=x".into(), baseline: 1, by_reset: false, audit_action: None };
            let queue = |counter: i64, at: i64| {
                let staging = staging.clone();
                async move {
                    let id = store.stage_delivery(key, 1, counter, &[0; 32], b"sealed", at, &staging).await.unwrap();
                    store.confirm_deliveries("CN=x", &[id], 0).await.unwrap();
                }
            };
            queue(1, now).await;
            assert_eq!(names(parse("waiting_delivery")).await, Vec::<String>::new(), "{}", t.engine);
            assert_eq!(store.deliveries_waiting_since(now - day).await.unwrap(), 0, "{}", t.engine);
            queue(2, now - 2 * day).await;
            assert_eq!(names(parse("waiting_delivery")).await, ["InFive"], "{}", t.engine);
            assert_eq!(store.deliveries_waiting_since(now - day).await.unwrap(), 1, "{}", t.engine);
        }
    }

    #[tokio::test]
    async fn the_audit_is_searched_by_actions_time_and_result_on_both_engines() {
        use crate::store::AuditSearch;
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            for e in [
                entry(10, "sign_in", "a", "invalid_credentials"),
                entry(100, "sign_in", "b", "locked_out"),
                entry(100, "sign_in_with_key", "c", "key_status"),
                entry(100, "change_password", "d", "locked_out"),
                entry(100, "sign_in", "e", "success"),
            ] {
                store.audit(&e).await.unwrap();
            }
            let targets = |q: AuditSearch<'static>| async move {
                let mut found: Vec<String> =
                    store.search_audit(&q, 50).await.unwrap().into_iter().map(|e| e.entry.target).collect();
                found.sort();
                found
            };
            let sign_ins: &'static [&'static str] = &["sign_in", "sign_in_with_key"];
            let refused = AuditSearch { actions: sign_ins, failures_only: true, since: 50, ..Default::default() };
            assert_eq!(targets(refused).await, ["b", "c"], "{}", t.engine);
            let locked = AuditSearch { result: "locked_out", ..Default::default() };
            assert_eq!(targets(locked).await, ["b", "d"], "{}", t.engine);
            assert_eq!(targets(AuditSearch::default()).await.len(), 5, "{}: no filter, everything", t.engine);
        }
    }
}
