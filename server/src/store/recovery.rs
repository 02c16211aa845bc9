//! Recovery without the key: the code mailed to the recovery address (hashed; one per account;
//! ten minutes; a few tries), and the employees marked for review after such a reset.

use super::Store;
use crate::identity::LoginKey;

/// Wrong tries before a code is void.
pub const CODE_TRIES: i64 = 5;

/// What checking a mailed code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right and in time (still there: it is dropped once what it proves is done).
    Good,
    /// No code, an expired one, or a wrong one (counted; the fifth voids it).
    Refused,
}

impl Store {
    /// Replaces the account's code.
    pub async fn put_recovery_code(&self, who: &LoginKey, hash: &str, expires_at: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO recovery_codes (login_key, code_hash, expires_at, failures) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (login_key) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
             failures = 0",
        )
        .bind(who.as_str())
        .bind(hash)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Whether `hash` is the account's code and still good at `now`, leaving it in place (it
    /// is dropped once what it proves is done); a wrong one is counted.
    pub async fn check_recovery_code(&self, who: &LoginKey, hash: &str, now: i64) -> Result<CodeCheck, sqlx::Error> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT failures FROM recovery_codes WHERE login_key = $1 AND code_hash = $2 AND expires_at > $3 \
             AND failures < $4",
        )
        .bind(who.as_str())
        .bind(hash)
        .bind(now)
        .bind(CODE_TRIES)
        .fetch_optional(&self.pool)
        .await?;
        if found.is_some() {
            return Ok(CodeCheck::Good);
        }
        sqlx::query("UPDATE recovery_codes SET failures = failures + 1 WHERE login_key = $1")
            .bind(who.as_str())
            .execute(&self.pool)
            .await?;
        Ok(CodeCheck::Refused)
    }

    /// Drops the account's code: whether there was one with this hash (of two completions
    /// racing with it, one gets it).
    pub async fn drop_recovery_code(&self, who: &LoginKey, hash: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM recovery_codes WHERE login_key = $1 AND code_hash = $2")
            .bind(who.as_str())
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn request_review(&self, employee_id: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE employees SET review_requested_at = $1 WHERE id = $2")
            .bind(now)
            .bind(employee_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Lets the employee enrol an authenticator without another factor until `until` (an
    /// administrator's reset of their authenticator).
    pub async fn allow_enrolment(&self, employee_id: i64, until: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE employees SET enrolment_allowed_until = $1 WHERE id = $2")
            .bind(until)
            .bind(employee_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn enrolment_allowed_until(&self, employee_id: i64) -> Result<Option<i64>, sqlx::Error> {
        let at: Option<(Option<i64>,)> = sqlx::query_as("SELECT enrolment_allowed_until FROM employees WHERE id = $1")
            .bind(employee_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(at.and_then(|(a,)| a))
    }

    pub async fn review_requested_at(&self, employee_id: i64) -> Result<Option<i64>, sqlx::Error> {
        let at: Option<(Option<i64>,)> = sqlx::query_as("SELECT review_requested_at FROM employees WHERE id = $1")
            .bind(employee_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(at.and_then(|(a,)| a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    #[tokio::test]
    async fn a_code_is_good_once_in_time_and_voided_by_wrong_tries() {
        for t in stores().await {
            let s = &t.store;
            let who = LoginKey::of("Zoë");
            assert_eq!(s.check_recovery_code(&who, "h", 10).await.unwrap(), CodeCheck::Refused, "none yet");
            s.put_recovery_code(&who, "h", 100).await.unwrap();
            assert_eq!(s.check_recovery_code(&who, "h", 100).await.unwrap(), CodeCheck::Refused, "expired at 100");
            assert_eq!(s.check_recovery_code(&who, "h", 99).await.unwrap(), CodeCheck::Good, "{}", t.engine);
            assert!(s.drop_recovery_code(&LoginKey::of("ZOË"), "h").await.unwrap(), "used up, once");
            assert!(!s.drop_recovery_code(&who, "h").await.unwrap(), "a racing completion finds it gone");
            assert_eq!(s.check_recovery_code(&who, "h", 99).await.unwrap(), CodeCheck::Refused, "used up");
            s.put_recovery_code(&who, "h2", 100).await.unwrap();
            for _ in 0..CODE_TRIES {
                assert_eq!(s.check_recovery_code(&who, "wrong", 50).await.unwrap(), CodeCheck::Refused);
            }
            assert_eq!(s.check_recovery_code(&who, "h2", 50).await.unwrap(), CodeCheck::Refused, "void after five");
        }
    }
}
