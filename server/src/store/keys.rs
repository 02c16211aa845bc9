use sqlx::Row;

use super::Store;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub serial: String,
    pub public_key: [u8; 32],
    pub status: String,
    pub employee: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyRegistryError {
    #[error("a key with serial {0} is already registered")]
    Duplicate(String),
    #[error("the serial number is empty")]
    EmptySerial,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Store {
    /// Registers a key as it comes from the vendor's manifest: status Ready, nobody's yet.
    pub async fn register_key(&self, serial: &str, public_key: &[u8; 32], now: i64) -> Result<(), KeyRegistryError> {
        let serial = serial.trim();
        if serial.is_empty() {
            return Err(KeyRegistryError::EmptySerial);
        }
        let done = sqlx::query(
            "INSERT INTO keys (serial, public_key, registered_at) VALUES (?, ?, ?) ON CONFLICT (serial) DO NOTHING",
        )
        .bind(serial)
        .bind(&public_key[..])
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(KeyRegistryError::Duplicate(serial.to_string()));
        }
        Ok(())
    }

    pub async fn key_by_serial(&self, serial: &str) -> Result<Option<KeyRow>, sqlx::Error> {
        let row =
            sqlx::query(&format!("{SELECT_KEYS} WHERE k.serial = ?")).bind(serial).fetch_optional(&self.pool).await?;
        row.map(|r| key_row(&r)).transpose()
    }

    pub async fn keys(&self) -> Result<Vec<KeyRow>, sqlx::Error> {
        let rows = sqlx::query(&format!("{SELECT_KEYS} ORDER BY k.serial")).fetch_all(&self.pool).await?;
        rows.iter().map(key_row).collect()
    }
}

const SELECT_KEYS: &str =
    "SELECT k.serial, k.public_key, k.status, e.username FROM keys k LEFT JOIN employees e ON e.id = k.employee_id";

fn key_row(r: &sqlx::sqlite::SqliteRow) -> Result<KeyRow, sqlx::Error> {
    let key: Vec<u8> = r.try_get(1)?;
    let public_key = key.try_into().map_err(|_| sqlx::Error::Decode("public key is not 32 bytes".into()))?;
    Ok(KeyRow { serial: r.try_get(0)?, public_key, status: r.try_get(2)?, employee: r.try_get(3)? })
}
