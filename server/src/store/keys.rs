use sqlx::Row;

use latchkey_api::registry::{KeyStatus, StatusReason};

use super::Store;
use crate::identity::LoginKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub id: i64,
    pub serial: String,
    pub public_key: [u8; 32],
    pub status: KeyStatus,
    pub status_reason: Option<StatusReason>,
    pub employee: Option<Employee>,
    /// An administrator unlocked the key; the key is told on its next connection.
    pub unlock_pending: bool,
    /// When its owner activated it (Unix seconds).
    pub activated_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Employee {
    pub id: i64,
    pub object_guid: String,
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyRegistryError {
    #[error("a key with serial {0} is already registered")]
    Duplicate(String),
    #[error("the serial number is empty")]
    EmptySerial,
    #[error("a serial number is at most 32 letters, digits, '-', '_' or '.'")]
    BadSerial,
    #[error("the public key must be 64 hexadecimal digits (32 bytes), as `keysim create` prints it")]
    BadPublicKey,
    #[error("the activation code is 8 digits")]
    BadActivationCode,
    #[error("no key with serial {0} is registered")]
    NoSuchKey(String),
    #[error("key {serial} is {status}: only a ready key can be assigned")]
    NotReady { serial: String, status: String },
    #[error("{0} has no key to put an account on")]
    NoKey(String),
    #[error("the key has no free slot for another account")]
    NoFreeSlot,
    #[error("a key cannot go from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A key's static public key as the vendor's manifest writes it: 64 hexadecimal digits.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], KeyRegistryError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| KeyRegistryError::BadPublicKey)?;
    Ok(key)
}

/// Slots a key offers (the reference key's; real keys report theirs in `Info`).
pub const KEY_SLOTS: i64 = 16;

impl Store {
    /// Registers a key as it comes from the vendor's manifest: status Ready, nobody's yet.
    pub async fn register_key(
        &self,
        serial: &str,
        public_key: &[u8; 32],
        activation_code: &str,
        now: i64,
    ) -> Result<(), KeyRegistryError> {
        let serial = serial.trim();
        if serial.is_empty() {
            return Err(KeyRegistryError::EmptySerial);
        }
        if !latchkey_protocol::message::valid_serial(serial) {
            return Err(KeyRegistryError::BadSerial);
        }
        let activation_code = activation_code.trim();
        if activation_code.len() != 8 || !activation_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KeyRegistryError::BadActivationCode);
        }
        let hash = latchkey_protocol::crypto::activation_hash(serial, activation_code);
        let done = sqlx::query(
            "INSERT INTO keys (serial, public_key, activation_code, activation_hash, registered_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (serial) DO NOTHING",
        )
        .bind(serial)
        .bind(&public_key[..])
        .bind(activation_code)
        .bind(&hash[..])
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(KeyRegistryError::Duplicate(serial.to_string()));
        }
        Ok(())
    }

    /// Assigns a Ready key to an employee (created or updated by objectGUID): the key becomes
    /// Reserved. Returns the activation code, which the registry forgets now: it is shown once.
    pub async fn assign_key(
        &self,
        serial: &str,
        employee: &NewEmployee<'_>,
        now: i64,
    ) -> Result<String, KeyRegistryError> {
        let mut tx = self.write_tx().await?;
        let key = sqlx::query("SELECT status, activation_code FROM keys WHERE serial = $1")
            .bind(serial)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| KeyRegistryError::NoSuchKey(serial.to_string()))?;
        let status: String = key.try_get(0)?;
        let code: Option<String> = key.try_get(1)?;
        let (Some(code), "ready") = (code, status.as_str()) else {
            return Err(KeyRegistryError::NotReady { serial: serial.to_string(), status });
        };
        let employee_id = upsert_employee(&mut tx, employee, now).await?;
        sqlx::query(
            "UPDATE keys SET status = 'reserved', status_reason = NULL, employee_id = $1, activation_code = NULL, activation_failures = 0
             WHERE serial = $2",
        )
        .bind(employee_id)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// An administrator's status change, checked against [`KeyStatus::can_move_to`]. Back to Active
    /// from Locked or Suspended leaves an unlock for the key's next connection; back to Ready
    /// forgets the employee.
    pub async fn change_key_status(
        &self,
        serial: &str,
        to: KeyStatus,
        reason: Option<StatusReason>,
    ) -> Result<(), KeyRegistryError> {
        let key = self.key_by_serial(serial).await?.ok_or_else(|| KeyRegistryError::NoSuchKey(serial.into()))?;
        if !key.status.can_move_to(to) {
            return Err(KeyRegistryError::InvalidTransition { from: key.status.label().into(), to: to.label().into() });
        }
        // A key never activated goes back to waiting for its owner's activation, not to active.
        let to = if to == KeyStatus::Active && key.activated_at.is_none() { KeyStatus::Reserved } else { to };
        let unlock = to == KeyStatus::Active;
        // An administrator's unlock (or unassignment) gives the activation tries back.
        sqlx::query(
            "UPDATE keys SET status = $1, status_reason = $2, unlock_pending = $3,
             activation_failures = CASE WHEN $3 = 1 OR $4 = 'ready' THEN 0 ELSE activation_failures END,
             employee_id = CASE WHEN $4 = 'ready' THEN NULL ELSE employee_id END WHERE id = $5",
        )
        .bind(to.label())
        .bind(reason.map(StatusReason::label))
        .bind(i64::from(unlock))
        .bind(to.label())
        .bind(key.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts a wrong activation code for a key; the count so far.
    pub async fn count_activation_failure(&self, key_id: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE keys SET activation_failures = activation_failures + 1 WHERE id = $1 RETURNING activation_failures",
        )
        .bind(key_id)
        .fetch_one(&self.pool)
        .await
    }

    /// The owner activated the key: it may receive sealed passwords from now on.
    pub async fn mark_activated(&self, key_id: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE keys SET status = 'active', status_reason = NULL, activation_failures = 0,
             activated_at = COALESCE(activated_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(key_id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    pub async fn activation_failures(&self, key_id: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT activation_failures FROM keys WHERE id = $1")
            .bind(key_id)
            .fetch_one(&self.pool)
            .await
    }

    pub async fn clear_unlock_pending(&self, key_id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE keys SET unlock_pending = 0 WHERE id = $1")
            .bind(key_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn set_key_status(
        &self,
        key_id: i64,
        status: KeyStatus,
        reason: Option<StatusReason>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE keys SET status = $1, status_reason = $2 WHERE id = $3")
            .bind(status.label())
            .bind(reason.map(StatusReason::label))
            .bind(key_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn key_by_serial(&self, serial: &str) -> Result<Option<KeyRow>, sqlx::Error> {
        let row =
            sqlx::query(&format!("{SELECT_KEYS} WHERE k.serial = $1")).bind(serial).fetch_optional(&self.pool).await?;
        row.map(|r| key_row(&r)).transpose()
    }

    pub async fn key_by_id(&self, id: i64) -> Result<Option<KeyRow>, sqlx::Error> {
        let row = sqlx::query(&format!("{SELECT_KEYS} WHERE k.id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| key_row(&r)).transpose()
    }

    pub async fn keys(&self) -> Result<Vec<KeyRow>, sqlx::Error> {
        let rows = sqlx::query(&format!("{SELECT_KEYS} ORDER BY k.serial")).fetch_all(&self.pool).await?;
        rows.iter().map(key_row).collect()
    }

    /// The keys of an employee.
    pub async fn keys_of(&self, employee_id: i64) -> Result<Vec<KeyRow>, sqlx::Error> {
        let rows = sqlx::query(&format!("{SELECT_KEYS} WHERE k.employee_id = $1 ORDER BY k.serial"))
            .bind(employee_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_row).collect()
    }

    pub async fn employee_by_username(&self, username: &str) -> Result<Option<Employee>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, object_guid, username, display_name FROM employees WHERE login_key = $1
             ORDER BY CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END, id DESC LIMIT 1",
        )
        .bind(LoginKey::of(username).as_str())
        .fetch_optional(&self.pool)
        .await
    }
}

impl Store {
    /// Adds (or renames) one employee without a full sync: the `key assign` CLI's way, and the
    /// test kit's. The row's id.
    pub async fn upsert_employee(&self, e: &NewEmployee<'_>, now: i64) -> Result<i64, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        upsert_employee(&mut conn, e, now).await
    }
}

/// An employee as read from the directory.
pub struct NewEmployee<'a> {
    pub object_guid: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
}

async fn upsert_employee(tx: &mut sqlx::AnyConnection, e: &NewEmployee<'_>, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO employees (object_guid, username, display_name, created_at, login_key) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (object_guid) DO UPDATE SET username = excluded.username, display_name = excluded.display_name,
         login_key = excluded.login_key
         RETURNING id",
    )
    .bind(e.object_guid)
    .bind(e.username)
    .bind(e.display_name)
    .bind(now)
    .bind(LoginKey::of(e.username).as_str())
    .fetch_one(tx)
    .await
}

const SELECT_KEYS: &str = "SELECT k.id, k.serial, k.public_key, k.status, k.status_reason,
    e.id, e.object_guid, e.username, e.display_name, k.unlock_pending, k.activated_at
    FROM keys k LEFT JOIN employees e ON e.id = k.employee_id";

fn key_row(r: &sqlx::any::AnyRow) -> Result<KeyRow, sqlx::Error> {
    let key: Vec<u8> = r.try_get(2)?;
    let public_key = key.try_into().map_err(|_| sqlx::Error::Decode("public key is not 32 bytes".into()))?;
    let employee = match r.try_get::<Option<i64>, _>(5)? {
        Some(id) => {
            Some(Employee { id, object_guid: r.try_get(6)?, username: r.try_get(7)?, display_name: r.try_get(8)? })
        }
        None => None,
    };
    Ok(KeyRow {
        id: r.try_get(0)?,
        serial: r.try_get(1)?,
        public_key,
        status: KeyStatus::parse(&r.try_get::<String, _>(3)?)
            .ok_or_else(|| sqlx::Error::Decode("unknown key status".into()))?,
        // A reason this version does not know reads as none rather than hiding the key.
        status_reason: r.try_get::<Option<String>, _>(4)?.as_deref().and_then(StatusReason::parse),
        employee,
        unlock_pending: r.try_get::<i64, _>(9)? != 0,
        activated_at: r.try_get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_status_change_follows_the_rules_on_both_engines() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            store.register_key("LK-T", &[1; 32], "12345678", 0).await.unwrap();
            let refused = store.change_key_status("LK-T", KeyStatus::Locked, None).await;
            assert!(matches!(refused, Err(KeyRegistryError::InvalidTransition { .. })), "{}", t.engine);
            let employee = NewEmployee { object_guid: "01", username: "Zoë", display_name: "Z" };
            store.assign_key("LK-T", &employee, 0).await.unwrap();
            assert!(matches!(store.assign_key("LK-T", &employee, 0).await, Err(KeyRegistryError::NotReady { .. })));
            let key = store.key_by_serial("LK-T").await.unwrap().unwrap();
            store.mark_activated(key.id, 5).await.unwrap();
            store.change_key_status("LK-T", KeyStatus::Locked, Some(StatusReason::Lost)).await.unwrap();
            let key = store.key_by_serial("LK-T").await.unwrap().unwrap();
            assert_eq!((key.status, key.status_reason), (KeyStatus::Locked, Some(StatusReason::Lost)));
            store.change_key_status("LK-T", KeyStatus::Active, None).await.unwrap();
            let key = store.key_by_serial("LK-T").await.unwrap().unwrap();
            assert_eq!((key.status, key.unlock_pending), (KeyStatus::Active, true), "unlocked on the next connection");
        }
    }
}
