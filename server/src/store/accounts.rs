//! Accounts on keys: what each key should hold (metadata only; passwords live on the key).

use latchkey_api::registry::LoginType;

use super::keys::{KeyRegistryError, KEY_SLOTS};
use super::Store;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyAccountRow {
    pub slot: i64,
    pub name: String,
    pub login_type: String,
    pub domain: String,
    pub login: String,
    /// 0 or 1 (an integer in every store backend).
    pub directory_managed: i64,
}

/// How a new account on a key signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountLogin<'a> {
    /// The employee's directory account in this NetBIOS domain; its password is the directory's.
    Domain { domain: &'a str },
    /// An Entra ID account, by its UPN; no password from the directory.
    Entra { upn: &'a str },
}

impl Store {
    /// Puts the employee's directory account on each of their keys (in the next free slot),
    /// without a password: the user adds it at onboarding. Returns the serials queued.
    pub async fn add_domain_account(
        &self,
        username: &str,
        domain: &str,
        name: &str,
        now: i64,
    ) -> Result<Vec<String>, KeyRegistryError> {
        self.add_account(username, AccountLogin::Domain { domain }, name, now).await
    }

    /// Puts an account on each of the employee's keys, without a password: a domain account
    /// (`domain` + the employee's logon name; directory-managed) or an Entra account (`login`,
    /// the UPN). Returns the serials it was queued to.
    pub async fn add_account(
        &self,
        username: &str,
        login: AccountLogin<'_>,
        name: &str,
        now: i64,
    ) -> Result<Vec<String>, KeyRegistryError> {
        let employee =
            self.employee_by_username(username).await?.ok_or_else(|| KeyRegistryError::NoKey(username.into()))?;
        let mut tx = self.write_tx().await?;
        let keys: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, serial FROM keys WHERE employee_id = $1 AND status IN ('reserved', 'active') ORDER BY id",
        )
        .bind(employee.id)
        .fetch_all(&mut *tx)
        .await?;
        if keys.is_empty() {
            return Err(KeyRegistryError::NoKey(username.into()));
        }
        for (key_id, _) in &keys {
            let slot: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(slot), 0) + 1 FROM key_accounts WHERE key_id = $1")
                .bind(key_id)
                .fetch_one(&mut *tx)
                .await?;
            if slot > KEY_SLOTS {
                return Err(KeyRegistryError::NoFreeSlot);
            }
            sqlx::query(
                "INSERT INTO key_accounts (key_id, slot, employee_id, name, login_type, domain, login,
                 directory_managed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(key_id)
            .bind(slot)
            .bind(employee.id)
            .bind(name)
            .bind(match login {
                AccountLogin::Domain { .. } => LoginType::Domain.label(),
                AccountLogin::Entra { .. } => LoginType::Entra.label(),
            })
            .bind(match login {
                AccountLogin::Domain { domain } => domain,
                AccountLogin::Entra { .. } => "",
            })
            .bind(match login {
                AccountLogin::Domain { .. } => employee.username.as_str(),
                AccountLogin::Entra { upn } => upn,
            })
            .bind(i64::from(matches!(login, AccountLogin::Domain { .. })))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(keys.into_iter().map(|(_, serial)| serial).collect())
    }

    pub async fn key_accounts(&self, key_id: i64) -> Result<Vec<KeyAccountRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT slot, name, login_type, domain, login, directory_managed FROM key_accounts
             WHERE key_id = $1 ORDER BY slot",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
    }

    /// An employee's accounts on all their keys: (serial, account, a delivery pending).
    pub async fn accounts_of(&self, employee_id: i64) -> Result<Vec<(String, KeyAccountRow, bool)>, sqlx::Error> {
        let rows: Vec<EmployeeAccount> = sqlx::query_as(
            "SELECT k.serial, a.slot, a.name, a.login_type, a.domain, a.login, a.directory_managed,
             CASE WHEN EXISTS (SELECT 1 FROM pending_deliveries p WHERE p.key_id = a.key_id AND p.slot = a.slot)
             THEN 1 ELSE 0 END AS pending
             FROM key_accounts a JOIN keys k ON k.id = a.key_id WHERE a.employee_id = $1 ORDER BY k.serial, a.slot",
        )
        .bind(employee_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.serial, r.account, r.pending != 0)).collect())
    }
}

#[derive(sqlx::FromRow)]
struct EmployeeAccount {
    serial: String,
    #[sqlx(flatten)]
    account: KeyAccountRow,
    pending: i64,
}
