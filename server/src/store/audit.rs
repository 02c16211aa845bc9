//! The audit log, as a hash chain: each entry's link covers its fields and the previous
//! entry's link, so an edited or deleted entry is detected by [`Store::verify_audit`].
//!
//! Anchored ([`Store::anchored`]): links are HMAC-SHA256 under a key kept outside the database,
//! so whoever can write the database cannot re-chain edited rows; and every append writes the
//! head (id and link, with its own HMAC) to a checkpoint file, so a deleted tail is detected too.

use std::path::PathBuf;
use std::sync::Arc;

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::Store;
use crate::secrets::keyed_mac;

/// One audit entry. `result` holds "success" or the failure's stable error code.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub client_addr: Option<String>,
}

/// An entry as a search finds it, with its place in the chain (newer entries have greater ids).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FoundEntry {
    pub id: i64,
    #[sqlx(flatten)]
    pub entry: AuditEntry,
}

impl std::ops::Deref for FoundEntry {
    type Target = AuditEntry;
    fn deref(&self) -> &AuditEntry {
        &self.entry
    }
}

impl From<FoundEntry> for latchkey_api::admin::AuditView {
    fn from(found: FoundEntry) -> Self {
        latchkey_api::admin::AuditView { id: Some(found.id), ..found.entry.into() }
    }
}

impl From<AuditEntry> for latchkey_api::admin::AuditView {
    fn from(e: AuditEntry) -> Self {
        latchkey_api::admin::AuditView {
            id: None,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            result: e.result,
            client_addr: e.client_addr,
        }
    }
}

/// What an audit search matches: a substring of the actor and of the target, any of the
/// actions (all when none), entries at or after `since`, one result or failures only.
#[derive(Clone, Debug, Default)]
pub struct AuditSearch<'a> {
    pub actor: &'a str,
    pub target: &'a str,
    pub actions: &'a [&'a str],
    pub since: i64,
    pub result: &'a str,
    pub failures_only: bool,
    /// Only entries older than this one (by id): the next page of a newest-first list.
    pub before: Option<i64>,
}

/// Where the chain breaks: the first entry whose link does not follow, or (`truncated`) the
/// checkpointed head that is no longer there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub id: i64,
    pub truncated: bool,
}

/// The key of the chain's HMAC and the file the head is checkpointed to.
pub struct AuditAnchor {
    pub key: [u8; 32],
    pub checkpoint: PathBuf,
    /// The first entry linked with the key (from there on every entry must be).
    pub first_keyed: std::sync::OnceLock<i64>,
}

impl AuditAnchor {
    pub fn new(key: [u8; 32], checkpoint: PathBuf) -> AuditAnchor {
        AuditAnchor { key, checkpoint, first_keyed: std::sync::OnceLock::new() }
    }
}

/// The head as last written: which entry is the first keyed one, the head's id and link, and
/// (for good, once seen) the checkpointed head an append found missing: a deleted tail.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Checkpoint {
    first_keyed: i64,
    id: i64,
    hash: String,
    missing: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ChainedEntry {
    id: i64,
    #[sqlx(flatten)]
    entry: AuditEntry,
    hash: Option<String>,
    keyed: i64,
}

const GENESIS: &str = "latchkey-audit-v1";
/// Rows read at a time when the chain is verified.
const VERIFY_PAGE: i64 = 1_000;

impl AuditEntry {
    fn fields<'a>(&'a self, prev: &'a str, at: &'a str) -> [&'a str; 7] {
        let addr = self.client_addr.as_deref().unwrap_or("");
        [prev, at, &self.actor, &self.action, &self.target, &self.result, addr]
    }

    /// The unkeyed link of entries appended before the chain was anchored.
    pub(super) fn hash(&self, prev: &str) -> String {
        let at = self.at.to_string();
        let mut h = Sha256::new();
        for field in self.fields(prev, &at) {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }

    pub(super) fn mac(&self, key: &[u8; 32], prev: &str) -> String {
        let at = self.at.to_string();
        let mut m = keyed_mac(key, b"latchkey-audit-hmac-v1");
        for field in self.fields(prev, &at) {
            m.update(&(field.len() as u64).to_be_bytes());
            m.update(field.as_bytes());
        }
        hex::encode(m.finalize().into_bytes())
    }
}

fn checkpoint_mac(key: &[u8; 32], c: &Checkpoint) -> String {
    let mut m = keyed_mac(key, b"latchkey-audit-checkpoint-v1");
    m.update(&c.first_keyed.to_be_bytes());
    m.update(&c.id.to_be_bytes());
    m.update(c.hash.as_bytes());
    m.update(&c.missing.unwrap_or(-1).to_be_bytes());
    hex::encode(m.finalize().into_bytes())
}

impl Store {
    /// This store with its audit chain anchored to `anchor`.
    pub fn anchored(mut self, anchor: AuditAnchor) -> Store {
        self.audit_anchor = Some(Arc::new(anchor));
        self
    }

    pub async fn audit(&self, e: &AuditEntry) -> Result<(), sqlx::Error> {
        // Entries are chained in order: one writer at a time in this process, and the read of
        // the previous link and the insert in one transaction.
        let _turn = self.audit_turn.lock().await;
        let mut tx = self.write_tx().await?;
        if self.backend == super::Backend::Postgres {
            // Replicas share the chain: one appender at a time, until this transaction ends.
            sqlx::query("SELECT pg_advisory_xact_lock(7411)").execute(&mut *tx).await?;
        }
        let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
        let prev = prev.unwrap_or_else(|| GENESIS.to_string());
        // The head this process checkpointed must still be there: if not, the tail was deleted,
        // and the checkpoint says so from now on (the next append would otherwise hide it).
        let mut missing = None;
        if let Some(c) = self.audit_anchor.as_deref().and_then(read_checkpoint) {
            missing = c.missing;
            if missing.is_none() {
                let there: Option<Option<String>> = sqlx::query_scalar("SELECT hash FROM audit WHERE id = $1")
                    .bind(c.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if there.flatten().as_deref() != Some(c.hash.as_str()) || c.hash.is_empty() {
                    tracing::error!(id = c.id, "the audit log's checkpointed head is gone: its tail was deleted");
                    missing = Some(c.id);
                }
            }
        }
        let (link, keyed) = match &self.audit_anchor {
            Some(anchor) => (e.mac(&anchor.key, &prev), 1),
            None => (e.hash(&prev), 0),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit (at, actor, action, target, result, client_addr, prev_hash, hash, keyed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.result)
        .bind(&e.client_addr)
        .bind(&prev)
        .bind(&link)
        .bind(keyed)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if let Some(anchor) = &self.audit_anchor {
            let first_keyed = match anchor.first_keyed.get() {
                Some(id) => *id,
                None => {
                    let first: Option<i64> =
                        sqlx::query_scalar("SELECT MIN(id) FROM audit WHERE keyed = 1").fetch_one(&self.pool).await?;
                    *anchor.first_keyed.get_or_init(|| first.unwrap_or(id))
                }
            };
            if let Err(err) = write_checkpoint(anchor, Checkpoint { first_keyed, id, hash: link, missing }) {
                tracing::error!(path = %anchor.checkpoint.display(), "cannot write the audit checkpoint: {err}");
            }
        }
        Ok(())
    }

    /// Whether an administrator wrote to `username`'s password facts (a reset, or the flags)
    /// since `since`: then a moved pwdLastSet is no proof of the user's own change.
    pub async fn admin_wrote_since(&self, username: &str, since: i64) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit WHERE target = $1 AND at >= $2 AND result = 'success'
             AND action IN ('admin_reset', 'admin_set_flags') AND actor <> 'latchkey'",
        )
        .bind(username)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Whether `action` on `target` was recorded as a success at or after `since`.
    pub async fn succeeded_since(&self, target: &str, action: &str, since: i64) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit WHERE target = $1 AND action = $2 AND result = 'success' AND at >= $3",
        )
        .bind(target)
        .bind(action)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Entries about `target`, oldest first.
    pub async fn audit_of(&self, target: &str) -> Result<Vec<AuditEntry>, sqlx::Error> {
        sqlx::query_as("SELECT at, actor, action, target, result, client_addr FROM audit WHERE target = $1 ORDER BY id")
            .bind(target)
            .fetch_all(&self.pool)
            .await
    }

    /// Up to `limit` entries matching `q`, newest first. Pages go by id (`q.before`), never
    /// by skipping rows, so a deep page costs what the first does.
    pub async fn search_audit(&self, q: &AuditSearch<'_>, limit: i64) -> Result<Vec<FoundEntry>, sqlx::Error> {
        let like = |t: &str| format!("%{}%", t.trim().replace('!', "!!").replace('%', "!%").replace('_', "!_"));
        let actions: Vec<&str> = q.actions.iter().map(|a| a.trim()).filter(|a| !a.is_empty()).collect();
        // Fixed text and numbered parameters only: each action is bound, never spliced.
        let mut sql = String::from(
            "SELECT id, at, actor, action, target, result, client_addr FROM audit
             WHERE actor LIKE $1 ESCAPE '!' AND target LIKE $2 ESCAPE '!' AND at >= $3 AND ($4 = '' OR result = $5)
             AND id < $7",
        );
        if q.failures_only {
            sql.push_str(" AND result <> 'success'");
        }
        if !actions.is_empty() {
            let slots: Vec<String> = (0..actions.len()).map(|i| format!("${}", 8 + i)).collect();
            sql.push_str(&format!(" AND action IN ({})", slots.join(", ")));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $6");
        let mut query = sqlx::query_as(&sql)
            .bind(like(q.actor))
            .bind(like(q.target))
            .bind(q.since)
            .bind(q.result.trim())
            .bind(q.result.trim())
            .bind(limit)
            .bind(q.before.unwrap_or(i64::MAX));
        for action in actions {
            query = query.bind(action);
        }
        query.fetch_all(&self.pool).await
    }

    /// Walks the whole chain, a page at a time; `Ok(None)` when every entry follows from the
    /// one before and the checkpointed head is still there.
    pub async fn verify_audit(&self) -> Result<Option<ChainBreak>, sqlx::Error> {
        let mut prev = GENESIS.to_string();
        let mut after = i64::MIN;
        let mut seen_keyed = false;
        let checkpoint = self.audit_anchor.as_deref().and_then(read_checkpoint);
        let mut checkpoint_found = false;
        loop {
            let rows: Vec<ChainedEntry> = sqlx::query_as(
                "SELECT id, at, actor, action, target, result, client_addr, hash, keyed FROM audit \
                 WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows {
                // Rows from before the chain began carry no link; none may come after it began.
                if row.hash.is_none() {
                    if prev == GENESIS {
                        continue;
                    }
                    return Ok(Some(ChainBreak { id: row.id, truncated: false }));
                }
                let must_be_keyed = seen_keyed || checkpoint.as_ref().is_some_and(|c| row.id >= c.first_keyed);
                let expected = match (row.keyed, &self.audit_anchor) {
                    (0, _) if !must_be_keyed => Some(row.entry.hash(&prev)),
                    (1, Some(anchor)) => {
                        seen_keyed = true;
                        Some(row.entry.mac(&anchor.key, &prev))
                    }
                    // An unkeyed link after a keyed one, or a keyed one without the key.
                    _ => None,
                };
                match expected {
                    Some(link) if row.hash.as_deref() == Some(link.as_str()) => prev = link,
                    _ => return Ok(Some(ChainBreak { id: row.id, truncated: false })),
                }
                if checkpoint.as_ref().is_some_and(|c| c.id == row.id && c.hash == prev) {
                    checkpoint_found = true;
                }
            }
        }
        match checkpoint {
            Some(Checkpoint { missing: Some(id), .. }) => Ok(Some(ChainBreak { id, truncated: true })),
            Some(c) if !checkpoint_found => Ok(Some(ChainBreak { id: c.id, truncated: true })),
            _ => Ok(None),
        }
    }
}

/// What a rotation of the server secret did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotated {
    pub totp_secrets: usize,
    pub audit_entries: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("the TOTP secret of {0} cannot be opened with the current server secret")]
    Unsealable(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error("cannot write the new audit checkpoint: {0}")]
    Checkpoint(#[from] std::io::Error),
}

impl Store {
    /// Moves the database to a new server secret in one transaction: every TOTP secret sealed
    /// again (`reseal` opens it under the old secret and seals it under the new), every keyed
    /// audit link made again under `anchor`'s key, and the new secret's check value; then the
    /// head is checkpointed beside the new secret. The caller verified the chain under the old
    /// key first: re-linking a broken chain would hide the break.
    pub async fn rotate_server_secret(
        &self,
        reseal: impl Fn(&[u8]) -> Option<Vec<u8>>,
        anchor: &AuditAnchor,
        check: &str,
    ) -> Result<Rotated, RotationError> {
        let _turn = self.audit_turn.lock().await;
        let mut tx = self.write_tx().await?;
        if self.backend == super::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7411)").execute(&mut *tx).await?;
        }
        let secrets: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT username, secret FROM admin_totp").fetch_all(&mut *tx).await?;
        for (username, sealed) in &secrets {
            let resealed = reseal(sealed).ok_or_else(|| RotationError::Unsealable(username.clone()))?;
            sqlx::query("UPDATE admin_totp SET secret = $1 WHERE username = $2")
                .bind(resealed)
                .bind(username)
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<ChainedEntry> = sqlx::query_as(
            "SELECT id, at, actor, action, target, result, client_addr, hash, keyed FROM audit ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let (mut prev, mut head, mut first_keyed, mut relinked) = (GENESIS.to_string(), None, None, 0);
        for row in rows {
            let Some(hash) = row.hash else { continue };
            // Links made before the chain was keyed stay as they are; keyed ones follow the new key.
            let link = if row.keyed == 1 { row.entry.mac(&anchor.key, &prev) } else { hash };
            if row.keyed == 1 {
                sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2 WHERE id = $3")
                    .bind(&prev)
                    .bind(&link)
                    .bind(row.id)
                    .execute(&mut *tx)
                    .await?;
                first_keyed.get_or_insert(row.id);
                relinked += 1;
            }
            head = Some(row.id);
            prev = link;
        }
        sqlx::query("UPDATE server_secret_check SET check_value = $1 WHERE id = 1")
            .bind(check)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let (Some(id), Some(first_keyed)) = (head, first_keyed) {
            write_checkpoint(anchor, Checkpoint { first_keyed, id, hash: prev, missing: None })?;
        }
        Ok(Rotated { totp_secrets: secrets.len(), audit_entries: relinked })
    }
}

/// The head as `first_keyed id hash missing mac`, written whole (a temporary file of this
/// process, then rename), 0600; never behind what another replica on this host wrote.
fn write_checkpoint(anchor: &AuditAnchor, c: Checkpoint) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut c = c;
    if let Some(old) = read_checkpoint(anchor) {
        // Never backwards (another process on this host wrote a later head), and a missing head
        // once recorded stays recorded.
        if old.id > c.id && old.missing.is_none() {
            return Ok(());
        }
        c.missing = c.missing.or(old.missing);
    }
    let tmp = anchor.checkpoint.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    let missing = c.missing.unwrap_or(-1);
    writeln!(file, "{} {} {} {missing} {}", c.first_keyed, c.id, c.hash, checkpoint_mac(&anchor.key, &c))?;
    file.sync_all()?;
    std::fs::rename(tmp, &anchor.checkpoint)
}

/// The checkpointed head, if the file is there. One whose HMAC does not hold keeps its id
/// but no link, so verification reports the head missing.
fn read_checkpoint(anchor: &AuditAnchor) -> Option<Checkpoint> {
    let text = std::fs::read_to_string(&anchor.checkpoint).ok()?;
    let mut parts = text.split_whitespace();
    let mut c = Checkpoint {
        first_keyed: parts.next()?.parse().ok()?,
        id: parts.next()?.parse().ok()?,
        hash: parts.next()?.to_string(),
        missing: parts.next()?.parse::<i64>().ok().filter(|m| *m >= 0),
    };
    if checkpoint_mac(&anchor.key, &c) != parts.next()? {
        tracing::error!(path = %anchor.checkpoint.display(), "the audit checkpoint's HMAC does not hold");
        c.hash.clear();
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i64) -> AuditEntry {
        AuditEntry {
            at: n,
            actor: "alice".into(),
            action: "sign_in".into(),
            target: "alice".into(),
            result: if n == 2 { "invalid_credentials".into() } else { "success".into() },
            client_addr: Some("10.0.0.1".into()),
        }
    }

    /// Each engine's store, anchored (its checkpoint in `dir`), with five entries.
    async fn anchored_stores(dir: &tempfile::TempDir) -> Vec<(crate::store::testing::TestStore, Store)> {
        let mut all = Vec::new();
        for t in crate::store::testing::stores().await {
            let anchor = AuditAnchor::new([7; 32], dir.path().join(format!("audit-head-{}", t.engine)));
            let store = t.store.clone().anchored(anchor);
            for n in 1..=5 {
                store.audit(&entry(n)).await.unwrap();
            }
            all.push((t, store));
        }
        all
    }

    /// What someone with write access to the database but not the key can do: edit a row and
    /// recompute every link after it the only way they can.
    async fn rechain_without_the_key(store: &Store, keyed: i64) {
        sqlx::query("UPDATE audit SET result = 'success' WHERE at = 2").execute(&store.pool).await.unwrap();
        let rows: Vec<ChainedEntry> = sqlx::query_as(
            "SELECT id, at, actor, action, target, result, client_addr, hash, keyed FROM audit ORDER BY id",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let mut prev = GENESIS.to_string();
        for row in rows {
            let link = row.entry.hash(&prev);
            sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2, keyed = $3 WHERE id = $4")
                .bind(&prev)
                .bind(&link)
                .bind(keyed)
                .bind(row.id)
                .execute(&store.pool)
                .await
                .unwrap();
            prev = link;
        }
    }

    #[tokio::test]
    async fn a_rotated_chain_verifies_under_the_new_key_only() {
        let dir = tempfile::tempdir().unwrap();
        for (t, store) in anchored_stores(&dir).await {
            store.matches_server_secret("old").await.unwrap();
            let new = AuditAnchor::new([8; 32], dir.path().join(format!("new-head-{}", t.engine)));
            let rotated = store.rotate_server_secret(|s| Some(s.to_vec()), &new, "new").await.unwrap();
            assert_eq!(rotated, Rotated { totp_secrets: 0, audit_entries: 5 }, "{}", t.engine);
            let under_new = t.store.clone().anchored(new);
            assert_eq!(under_new.verify_audit().await.unwrap(), None, "{}", t.engine);
            under_new.audit(&entry(6)).await.unwrap();
            assert_eq!(under_new.verify_audit().await.unwrap(), None, "appending goes on");
            assert!(store.verify_audit().await.unwrap().is_some(), "the old key no longer verifies it");
            assert!(under_new.matches_server_secret("new").await.unwrap());
            assert!(!under_new.matches_server_secret("old").await.unwrap());
        }
    }

    #[tokio::test]
    async fn an_edited_log_rechained_without_the_key_is_detected() {
        for keyed in [0, 1] {
            let dir = tempfile::tempdir().unwrap();
            for (t, store) in anchored_stores(&dir).await {
                assert_eq!(store.verify_audit().await.unwrap(), None, "an untouched chain verifies");
                rechain_without_the_key(&store, keyed).await;
                let broken = store.verify_audit().await.unwrap();
                assert_eq!(broken.map(|b| b.id), Some(1), "claimed keyed = {keyed} on {}", t.engine);
            }
        }
    }

    #[tokio::test]
    async fn a_deleted_tail_is_detected_by_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        for (t, store) in anchored_stores(&dir).await {
            deleted_tail(&store, &dir.path().join(format!("audit-head-{}", t.engine))).await;
        }
    }

    async fn deleted_tail(store: &Store, checkpoint: &std::path::Path) {
        let head: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit").fetch_one(&store.pool).await.unwrap();
        sqlx::query("DELETE FROM audit WHERE id >= $1").bind(head - 1).execute(&store.pool).await.unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Some(ChainBreak { id: head, truncated: true }));
        // Appending again does not hide it: the checkpoint remembers the missing head.
        store.audit(&entry(6)).await.unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Some(ChainBreak { id: head, truncated: true }));
        assert_eq!(store.verify_audit().await.unwrap(), Some(ChainBreak { id: head, truncated: true }));
        let text = std::fs::read_to_string(checkpoint).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let forged = format!("{} {} {} -1 {}", fields[0], fields[1], fields[2], fields[4]);
        std::fs::write(checkpoint, forged).unwrap();
        assert!(store.verify_audit().await.unwrap().is_some_and(|b| b.truncated), "a forged checkpoint");
    }

    #[tokio::test]
    async fn appends_to_an_untouched_log_keep_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        for (_, store) in anchored_stores(&dir).await {
            untouched(&store).await;
        }
    }

    async fn untouched(store: &Store) {
        store.audit(&entry(6)).await.unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), None, "positive control");
        // A forged row without a link after the chain began is a break too.
        sqlx::query(
            "INSERT INTO audit (at, actor, action, target, result) VALUES (7, 'x', 'admin_reset', 'y', 'success')",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let last: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit").fetch_one(&store.pool).await.unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Some(ChainBreak { id: last, truncated: false }));
    }

    #[tokio::test]
    async fn entries_from_before_the_anchor_still_verify_but_never_after_a_keyed_one() {
        let dir = tempfile::tempdir().unwrap();
        for t in crate::store::testing::stores().await {
            let plain = t.store.clone();
            plain.audit(&entry(1)).await.unwrap();
            let anchor = AuditAnchor::new([7; 32], dir.path().join(format!("audit-head-{}", t.engine)));
            let store = plain.clone().anchored(anchor);
            store.audit(&entry(2)).await.unwrap();
            assert_eq!(store.verify_audit().await.unwrap(), None);
            plain.audit(&entry(3)).await.unwrap();
            let third: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit").fetch_one(&store.pool).await.unwrap();
            assert_eq!(store.verify_audit().await.unwrap().map(|b| b.id), Some(third), "unkeyed after keyed");
        }
    }
}
