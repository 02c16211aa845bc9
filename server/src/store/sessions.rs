use super::Store;

/// Whose session it is: a directory account (by DN) or a portal-local account (by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Directory { dn: String },
    Local { username: String },
}

/// How a portal-local principal is stored in `sessions.user_dn` (no directory DN starts so).
const LOCAL_PREFIX: &str = "local:";

impl Principal {
    fn stored(&self) -> String {
        match self {
            Principal::Directory { dn } => dn.clone(),
            Principal::Local { username } => format!("{LOCAL_PREFIX}{username}"),
        }
    }

    fn from_stored(stored: &str) -> Principal {
        match stored.strip_prefix(LOCAL_PREFIX) {
            Some(username) => Principal::Local { username: username.to_string() },
            None => Principal::Directory { dn: stored.to_string() },
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Principal::Local { .. })
    }
}

impl SessionRow {
    pub fn principal(&self) -> Principal {
        Principal::from_stored(&self.user_dn)
    }
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub principal: &'a Principal,
    pub username: &'a str,
    pub display_name: &'a str,
    pub change_required: Option<&'a str>,
    /// `enrol_totp` or `verify_totp` for a member of the administrators' group.
    pub admin_state: Option<&'a str>,
    pub csrf_token: &'a str,
    pub client_addr: Option<&'a str>,
    /// Started by a sign-in with the key.
    pub with_key: bool,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_dn: String,
    pub username: String,
    pub display_name: String,
    pub change_required: Option<String>,
    pub csrf_token: String,
    pub admin_state: Option<String>,
    /// Unix seconds of the last re-check of an administrator's standing (0: at sign-in).
    pub checked_at: i64,
    /// 1 when a sign-in with the key started it.
    pub with_key: i64,
}

impl Store {
    pub async fn create_session(&self, s: NewSession<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_dn, username, display_name, change_required, \
             csrf_token, client_addr, created_at, expires_at, admin_state, checked_at, with_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8, $11)",
        )
        .bind(s.token_hash)
        .bind(s.principal.stored())
        .bind(s.username)
        .bind(s.display_name)
        .bind(s.change_required)
        .bind(s.csrf_token)
        .bind(s.client_addr)
        .bind(s.now)
        .bind(s.expires_at)
        .bind(s.admin_state)
        .bind(i64::from(s.with_key))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The live session with this token hash; expired ones are deleted on the way.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        sqlx::query_as(
            "SELECT token_hash, user_dn, username, display_name, change_required, csrf_token, admin_state, \
             checked_at, with_key FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await.map(|_| ())
    }

    /// Ends every session of `principal` but `keep`; returns how many ended.
    pub async fn end_other_sessions(&self, principal: &Principal, keep: &str) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_dn = $1 AND token_hash <> $2")
            .bind(principal.stored())
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn clear_change_required(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET change_required = NULL WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn set_checked_at(&self, token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET checked_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn set_admin_state(&self, token_hash: &str, state: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET admin_state = $1 WHERE token_hash = $2")
            .bind(state)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Step-up: a confirmation held by one session, taken by the one operation it is for.
impl Store {
    /// Holds a confirmation for the session until `until` (replacing an earlier one).
    pub async fn grant_step_up(&self, token_hash: &str, until: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET step_up_until = $1 WHERE token_hash = $2")
            .bind(until)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Until when the session's confirmation is good, if it holds one still good at `now`.
    pub async fn step_up_until(&self, token_hash: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
        let until: Option<(Option<i64>,)> = sqlx::query_as("SELECT step_up_until FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(until.and_then(|(u,)| u).filter(|u| *u >= now))
    }

    /// Takes the session's confirmation for one operation: `Some(until)` when one was held and
    /// still good at `now` (it is gone now, here and on every replica), else `None`.
    pub async fn take_step_up(&self, token_hash: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
        let Some(until) = self.step_up_until(token_hash, now).await? else { return Ok(None) };
        // Conditional on the value read: of two operations racing for it, one gets it.
        let taken =
            sqlx::query("UPDATE sessions SET step_up_until = NULL WHERE token_hash = $1 AND step_up_until = $2")
                .bind(token_hash)
                .bind(until)
                .execute(&self.pool)
                .await?;
        Ok((taken.rows_affected() == 1).then_some(until))
    }
}

#[cfg(test)]
mod tests {
    use super::Principal;

    #[test]
    fn principals_round_trip_through_their_stored_form() {
        for p in [
            Principal::Directory { dn: "CN=Zoë,CN=Users,DC=example,DC=test".into() },
            Principal::Local { username: "portal-admin".into() },
        ] {
            assert_eq!(Principal::from_stored(&p.stored()), p);
        }
        assert!(Principal::Local { username: "a".into() }.is_local());
        assert!(!Principal::from_stored("CN=local,DC=x").is_local());
    }

    fn session<'a>(token: &'a str, principal: &'a Principal, expires_at: i64) -> super::NewSession<'a> {
        super::NewSession {
            token_hash: token,
            principal,
            username: "Zoë",
            display_name: "Zoë",
            change_required: None,
            admin_state: None,
            csrf_token: "c",
            client_addr: None,
            with_key: false,
            now: 100,
            expires_at,
        }
    }

    #[tokio::test]
    async fn a_session_lives_until_its_expiry_and_not_a_second_longer_on_both_engines() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            let zoe = Principal::Directory { dn: "CN=Zoë,DC=x".into() };
            store.create_session(session("s1", &zoe, 700)).await.unwrap();
            assert!(store.session("s1", 699).await.unwrap().is_some(), "{}: alive before", t.engine);
            assert!(store.session("s1", 700).await.unwrap().is_none(), "{}: gone at its expiry", t.engine);
            assert!(store.session("s1", 100).await.unwrap().is_none(), "{}: deleted, not hidden", t.engine);
        }
    }

    #[tokio::test]
    async fn signing_out_and_a_change_end_sessions_in_the_store_on_both_engines() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            let zoe = Principal::Directory { dn: "CN=Zoë,DC=x".into() };
            let other = Principal::Directory { dn: "CN=Other,DC=x".into() };
            for (token, who) in [("a", &zoe), ("b", &zoe), ("c", &zoe), ("o", &other)] {
                store.create_session(session(token, who, 10_000)).await.unwrap();
            }
            store.delete_session("a").await.unwrap();
            assert!(store.session("a", 200).await.unwrap().is_none(), "{}: signed out", t.engine);
            assert!(store.session("b", 200).await.unwrap().is_some(), "{}: the others remain", t.engine);
            assert_eq!(store.end_other_sessions(&zoe, "b").await.unwrap(), 1, "{}", t.engine);
            assert!(store.session("c", 200).await.unwrap().is_none(), "{}", t.engine);
            assert!(store.session("b", 200).await.unwrap().is_some(), "{}: the one kept", t.engine);
            assert!(store.session("o", 200).await.unwrap().is_some(), "{}: nobody else's", t.engine);
        }
    }

    #[tokio::test]
    async fn a_sign_in_ticket_is_good_once_and_only_before_it_expires_on_both_engines() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            store.register_key("LK-TICKET", &[3; 32], "12345678", 0).await.unwrap();
            let key = store.key_by_serial("LK-TICKET").await.unwrap().unwrap().id;
            store.create_sign_in_ticket("t1", key, 160).await.unwrap();
            store.create_sign_in_ticket("t2", key, 160).await.unwrap();
            assert_eq!(store.redeem_sign_in_ticket("t1", 159).await.unwrap(), Some(key), "{}", t.engine);
            assert_eq!(store.redeem_sign_in_ticket("t1", 159).await.unwrap(), None, "{}: once", t.engine);
            assert_eq!(store.redeem_sign_in_ticket("t2", 160).await.unwrap(), None, "{}: expired", t.engine);
            assert_eq!(store.redeem_sign_in_ticket("nope", 0).await.unwrap(), None, "{}", t.engine);
        }
    }
}
