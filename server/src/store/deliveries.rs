//! Sealed passwords waiting for a key's next connection (only ciphertext the server cannot open).

use super::Store;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingDelivery {
    pub id: i64,
    pub slot: i64,
    pub counter: i64,
    pub encapsulated_key: Vec<u8>,
    pub ciphertext: Vec<u8>,
    /// When it was sealed and queued (Unix seconds).
    pub created_at: i64,
    /// Set while the directory write it follows is not known to have happened: the user's DN.
    pub staged_for: Option<String>,
    /// The account's pwdLastSet (ticks) read right before that write.
    pub staged_baseline: Option<i64>,
    /// 1 when an administrator's reset wrote it (which may leave pwdLastSet at 0); kept once
    /// confirmed, so the key's notice names who set it.
    pub staged_by_reset: i64,
    /// The write's audit action, when settling must record it (see [`Staging::audit_action`]).
    pub staged_action: Option<String>,
}

/// What a staged delivery waits on: the directory write for this user, from this baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staging {
    pub user_dn: String,
    pub baseline: i64,
    pub by_reset: bool,
    /// The audit action settling records for a write whose process died before auditing it;
    /// `None` where a key's journal records the outcome instead.
    pub audit_action: Option<&'static str>,
}

/// Where a sealed password goes: a key, its public key and serial, an account slot on it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryTarget {
    pub key_id: i64,
    pub serial: String,
    pub public_key: Vec<u8>,
    pub slot: i64,
}

impl Store {
    /// The directory-managed accounts of an employee (by id: found by objectGUID, never by a
    /// name that may have been reused) on the keys assigned to them now that they activated
    /// themselves (a reserved key's activation code went through an administrator's hands).
    pub async fn delivery_targets(&self, employee_id: i64) -> Result<Vec<DeliveryTarget>, sqlx::Error> {
        sqlx::query_as(
            "SELECT k.id AS key_id, k.serial, k.public_key, a.slot FROM key_accounts a
             JOIN keys k ON k.id = a.key_id
             WHERE a.employee_id = $1 AND k.employee_id = $2 AND a.directory_managed = 1
             AND k.status = 'active' AND k.activated_at IS NOT NULL
             ORDER BY k.serial, a.slot",
        )
        .bind(employee_id)
        .bind(employee_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Takes the next sealing counter for an account on a key.
    pub async fn next_sealed_counter(&self, key_id: i64, slot: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE key_accounts SET sealed_counter = sealed_counter + 1 WHERE key_id = $1 AND slot = $2
             RETURNING sealed_counter",
        )
        .bind(key_id)
        .bind(slot)
        .fetch_one(&self.pool)
        .await
    }

    /// Queues a sealed password, staged behind a directory write not yet made; its id. An older
    /// delivery for the same account stays until this one is confirmed.
    #[allow(clippy::too_many_arguments)]
    pub async fn stage_delivery(
        &self,
        key_id: i64,
        slot: i64,
        counter: i64,
        encapsulated_key: &[u8],
        ciphertext: &[u8],
        now: i64,
        staging: &Staging,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO pending_deliveries (key_id, slot, counter, encapsulated_key, ciphertext, created_at,
             staged_for, staged_baseline, staged_by_reset, staged_action)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(key_id)
        .bind(slot)
        .bind(counter)
        .bind(encapsulated_key)
        .bind(ciphertext)
        .bind(now)
        .bind(&staging.user_dn)
        .bind(staging.baseline)
        .bind(i64::from(staging.by_reset))
        .bind(staging.audit_action)
        .fetch_one(&self.pool)
        .await
    }

    /// The newest delivery's id: what a write stages after this is newer.
    pub async fn newest_delivery(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM pending_deliveries").fetch_one(&self.pool).await
    }

    /// Whether a write of `user_dn`'s password staged since `since` is still unsettled.
    pub async fn staged_since(&self, user_dn: &str, since: i64) -> Result<bool, sqlx::Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pending_deliveries WHERE staged_for = $1 AND created_at >= $2")
                .bind(user_dn)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    /// The directory took `user_dn`'s password: each of `ids` is ready and supersedes any older
    /// delivery for the same account, and whatever an earlier, unsettled write of the same
    /// password staged (on any key) goes, since this write came after it. How many of `ids`
    /// were still there to confirm.
    pub async fn confirm_deliveries(
        &self,
        user_dn: &str,
        ids: &[i64],
        staged_after: i64,
    ) -> Result<usize, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let mut confirmed = 0;
        // Only what was staged before this write (ids up to `staged_after`): a later write's
        // copies are that write's to confirm.
        let stale: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM pending_deliveries WHERE staged_for = $1 AND id <= $2")
                .bind(user_dn)
                .bind(staged_after)
                .fetch_all(&mut *tx)
                .await?;
        for id in stale.into_iter().filter(|id| !ids.contains(id)) {
            sqlx::query("DELETE FROM pending_deliveries WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        for id in ids {
            confirmed += confirm_one(&mut tx, *id).await? as usize;
        }
        tx.commit().await?;
        Ok(confirmed)
    }

    /// A staged delivery the directory's pwdLastSet showed was written: ready, superseding any
    /// older delivery for the same account on that key.
    pub async fn confirm_settled(&self, id: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        confirm_one(&mut tx, id).await?;
        tx.commit().await
    }

    /// The directory refused the password (or never got it): its staged deliveries go.
    pub async fn drop_deliveries(&self, ids: &[i64]) -> Result<(), sqlx::Error> {
        for id in ids {
            self.delete_delivery(*id).await?;
        }
        Ok(())
    }

    pub async fn pending_deliveries(&self, key_id: i64) -> Result<Vec<PendingDelivery>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, slot, counter, encapsulated_key, ciphertext, created_at, staged_for, staged_baseline,
             staged_by_reset, staged_action FROM pending_deliveries WHERE key_id = $1 ORDER BY id",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
    }

    /// The key acknowledged (or refused for good) a delivery.
    pub async fn delete_delivery(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM pending_deliveries WHERE id = $1").bind(id).execute(&self.pool).await.map(|_| ())
    }
}

/// Makes staged delivery `id` ready, and drops any older delivery for the same account on the
/// same key (the key takes only the newest). Whether it was still there.
async fn confirm_one(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM pending_deliveries WHERE id < $1 AND (key_id, slot) =
         (SELECT key_id, slot FROM pending_deliveries WHERE id = $2)",
    )
    .bind(id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let updated = sqlx::query(
        "UPDATE pending_deliveries SET staged_for = NULL, staged_baseline = NULL, staged_action = NULL
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected())
}

#[cfg(test)]
mod tests {
    use crate::store::{NewEmployee, Store, SyncedUser};

    /// A key assigned to `employee`, with their domain account on it; the employee's id.
    async fn key_for(store: &Store, serial: &str, employee: &NewEmployee<'_>) -> i64 {
        store.register_key(serial, &[serial.len() as u8; 32], "12345678", 0).await.unwrap();
        store.assign_key(serial, employee, 0).await.unwrap();
        assert_eq!(store.add_domain_account(employee.username, "EXAMPLE", "Domain", 0).await.unwrap(), vec![serial]);
        let id = store.employee_named(employee.username).await.unwrap().unwrap().id;
        assert!(store.delivery_targets(id).await.unwrap().iter().all(|t| t.serial != serial), "reserved: nothing");
        let key = store.key_by_serial(serial).await.unwrap().unwrap();
        store.mark_activated(key.id, 1).await.unwrap();
        id
    }

    #[tokio::test]
    async fn a_reused_name_never_routes_a_sealed_password_to_the_leavers_key() {
        for t in crate::store::testing::stores().await {
            reused_name(&t.store).await;
        }
    }

    async fn reused_name(store: &Store) {
        let leaver = NewEmployee { object_guid: "aa", username: "Zoë", display_name: "Zoë Old" };
        let leaver_id = key_for(store, "LK-OLD", &leaver).await;
        // The leaver leaves the group; a newcomer gets the same name in another case.
        store.sync_employees(&[], 1).await.unwrap();
        let newcomer = NewEmployee { object_guid: "bb", username: "ZOË", display_name: "Zoë New" };
        store.upsert_employee(&newcomer, 2).await.unwrap();
        let newcomer_id = key_for(store, "LK-NEW", &newcomer).await;
        assert_ne!(leaver_id, newcomer_id);

        let serials = |targets: Vec<super::DeliveryTarget>| targets.into_iter().map(|t| t.serial).collect::<Vec<_>>();
        assert_eq!(serials(store.delivery_targets(newcomer_id).await.unwrap()), ["LK-NEW"]);
        assert_eq!(serials(store.delivery_targets(leaver_id).await.unwrap()), ["LK-OLD"], "positive control");
        assert_eq!(store.employee_named("zoë").await.unwrap().unwrap().object_guid, "bb", "the one in the group");

        // A key moved to someone else takes none of its former owner's passwords.
        store.change_key_status("LK-OLD", latchkey_api::registry::KeyStatus::Deactivated, None).await.unwrap();
        assert!(store.delivery_targets(leaver_id).await.unwrap().is_empty());
        let synced = SyncedUser {
            object_guid: "bb",
            username: "ZOË",
            display_name: "Zoë New",
            disabled: false,
            password_expires_at: None,
        };
        store.sync_employees(&[synced], 3).await.unwrap();
        assert_eq!(serials(store.delivery_targets(newcomer_id).await.unwrap()), ["LK-NEW"]);
    }

    #[tokio::test]
    async fn the_sync_suspends_keys_of_departed_and_disabled_employees() {
        for t in crate::store::testing::stores().await {
            departed(&t.store).await;
        }
    }

    async fn departed(store: &Store) {
        let stays = NewEmployee { object_guid: "01", username: "stays", display_name: "S" };
        let leaves = NewEmployee { object_guid: "02", username: "leaves", display_name: "L" };
        let disabled = NewEmployee { object_guid: "03", username: "Ärger", display_name: "D" };
        for (serial, e) in [("LK-1", &stays), ("LK-2", &leaves), ("LK-3", &disabled)] {
            key_for(store, serial, e).await;
        }
        let member = |e: &NewEmployee<'static>, off: bool| SyncedUser {
            object_guid: e.object_guid,
            username: e.username,
            display_name: e.display_name,
            disabled: off,
            password_expires_at: None,
        };
        store.sync_employees(&[member(&stays, false), member(&disabled, true)], 5).await.unwrap();
        let suspended = store.suspend_keys_of_departed().await.unwrap();
        assert_eq!(
            suspended,
            vec![
                ("LK-2".to_string(), latchkey_api::registry::StatusReason::EmployeeLeftGroup),
                ("LK-3".to_string(), latchkey_api::registry::StatusReason::EmployeeDisabled)
            ]
        );
        assert_eq!(store.key_by_serial("LK-1").await.unwrap().unwrap().status.label(), "active", "positive control");
        assert!(store.suspend_keys_of_departed().await.unwrap().is_empty(), "once");
    }
}
