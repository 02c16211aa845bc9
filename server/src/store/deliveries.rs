//! Sealed passwords waiting for a key's next connection (only ciphertext the server cannot open).

use super::Store;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingDelivery {
    pub id: i64,
    pub slot: i64,
    pub counter: i64,
    pub encapsulated_key: Vec<u8>,
    pub ciphertext: Vec<u8>,
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
    /// The directory-managed accounts of an employee on their reserved or active keys.
    pub async fn delivery_targets(&self, username: &str) -> Result<Vec<DeliveryTarget>, sqlx::Error> {
        sqlx::query_as(
            "SELECT k.id AS key_id, k.serial, k.public_key, a.slot FROM key_accounts a
             JOIN keys k ON k.id = a.key_id JOIN employees e ON e.id = a.employee_id
             WHERE lower(e.username) = lower($1) AND a.directory_managed = 1 AND k.status IN ('reserved', 'active')
             ORDER BY k.serial, a.slot",
        )
        .bind(username)
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

    /// Queues a sealed password; an older one for the same account is superseded.
    pub async fn queue_delivery(
        &self,
        key_id: i64,
        slot: i64,
        counter: i64,
        encapsulated_key: &[u8],
        ciphertext: &[u8],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM pending_deliveries WHERE key_id = $1 AND slot = $2")
            .bind(key_id)
            .bind(slot)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO pending_deliveries (key_id, slot, counter, encapsulated_key, ciphertext, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key_id)
        .bind(slot)
        .bind(counter)
        .bind(encapsulated_key)
        .bind(ciphertext)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn pending_deliveries(&self, key_id: i64) -> Result<Vec<PendingDelivery>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, slot, counter, encapsulated_key, ciphertext FROM pending_deliveries WHERE key_id = $1 ORDER BY id",
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
