//! Active Directory over LDAPS (or StartTLS) with ldap3.
//!
//! Invariants:
//! - TLS is verified against the configured CA (or the system roots); skipping verification
//!   takes an explicit setting and logs a warning at every start.
//! - A user's own change is ONE modify (delete old + add new) so that the DC checks the old
//!   password, history and minimum age. `userPassword` is never written.
//! - Nothing here retries a bind or a change: every wrong password costs the user a
//!   badPwdCount.
//! - Every value put in a filter goes through `ldap_escape`.

mod account;
pub mod doctor;
mod error;
mod filetime;
mod security_descriptor;

pub use account::{AccountFacts, UserRef, DEFAULT_LOCKOUT_WINDOW_SECS};
pub use error::DirectoryError;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use latchkey_api::{ChangeReason, Password};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// `ldaps://dc.example.com` or, with `starttls`, `ldap://dc.example.com`.
    pub url: String,
    /// PEM file of the CA that signed the DC's certificate; the system roots when absent.
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub starttls: bool,
    /// Accept any certificate. Only for a lab; logged as a warning.
    #[serde(default)]
    pub tls_insecure_skip_verify: bool,
    /// Read from the RootDSE's defaultNamingContext when absent.
    pub base_dn: Option<String>,
    /// Bind name of Latchkey's service account (UPN or DN).
    pub service_account: String,
    pub service_password: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Bound service-account connections kept open and shared by every read, administrative
    /// write and sync (each multiplexes its operations); at least 1.
    #[serde(default = "default_service_connections")]
    pub service_connections: usize,
    /// Allow `ldap://` without StartTLS: passwords would cross the network in the clear.
    /// Refused unless set.
    #[serde(default)]
    pub allow_plaintext_ldap: bool,
}

fn default_timeout_secs() -> u64 {
    10
}

fn default_service_connections() -> usize {
    4
}

/// Whose rights a change uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindAs {
    /// The user's own bind with the current password.
    User,
    /// The service account, for users who cannot bind (must change, expired). The modify still
    /// proves the old password.
    Service,
}

/// A member of a group, as an employee is imported.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: UserRef,
    pub disabled: bool,
    /// When the password expires (Unix seconds), as the DC computes it; `None`: never.
    pub password_expires_at: Option<i64>,
}

const UF_ACCOUNTDISABLE: i64 = 0x2;

/// The user who signed in, and what the directory requires of them.
#[derive(Clone, Debug)]
pub struct SignIn {
    pub user: UserRef,
    pub change_required: Option<ChangeReason>,
}

pub struct Directory {
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    starttls: bool,
    timeout: Duration,
    service_account: String,
    service_password: Zeroizing<String>,
    configured_base_dn: Option<String>,
    base_dn: OnceCell<String>,
    /// The pool of service connections: each slot holds one, made when first needed.
    service: Vec<tokio::sync::Mutex<Option<Shared>>>,
    /// The slot the next caller takes (round robin).
    next_slot: std::sync::atomic::AtomicUsize,
    /// Bumped when the DC failed under a connection: every slot made before is made again.
    generation: std::sync::atomic::AtomicU64,
    /// Failed attempts to make a service connection in a row, and when the last one failed.
    reconnects: std::sync::Mutex<(u32, Option<std::time::Instant>)>,
    /// The service account's own DN, once known (see [`Directory::decoy_facts`]).
    service_dn: OnceCell<String>,
}

impl Directory {
    pub fn new(config: DirectoryConfig) -> anyhow::Result<Self> {
        let url = config.url.trim().to_ascii_lowercase();
        if !url.starts_with("ldaps://") && !config.starttls {
            if !url.starts_with("ldap://") {
                anyhow::bail!("the directory URL must be ldaps://… or ldap://… with starttls = true");
            }
            if !config.allow_plaintext_ldap {
                anyhow::bail!(
                    "{} would send passwords in the clear: use ldaps://, or starttls = true, \
                     or set allow_plaintext_ldap = true for a lab",
                    config.url
                );
            }
            tracing::warn!(url = %config.url, "directory over plain LDAP: passwords cross the network in the clear");
        }
        let tls = if config.tls_insecure_skip_verify {
            tracing::warn!(url = %config.url, "directory TLS certificate verification is OFF (tls_insecure_skip_verify)");
            None
        } else {
            Some(Arc::new(tls_config(config.ca_file.as_ref())?))
        };
        Ok(Directory {
            url: config.url,
            tls,
            starttls: config.starttls,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            service_account: config.service_account,
            service_password: Zeroizing::new(config.service_password),
            configured_base_dn: config.base_dn,
            base_dn: OnceCell::new(),
            service: (0..config.service_connections.clamp(1, MAX_SERVICE_CONNECTIONS))
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
            next_slot: std::sync::atomic::AtomicUsize::new(0),
            generation: std::sync::atomic::AtomicU64::new(0),
            reconnects: std::sync::Mutex::new((0, None)),
            service_dn: OnceCell::new(),
        })
    }

    /// Readiness: the service account binds and the base DN is known.
    pub async fn ping(&self) -> Result<(), DirectoryError> {
        self.base_dn_now().await.map(|_| ())
    }

    /// One bind as `user` with `password`: what the directory requires of them, or why not.
    /// Callers go through the lockout guard (`service::lockout`): every wrong one costs a
    /// badPwdCount.
    pub async fn bind_user(&self, user: &UserRef, password: &Password) -> Result<Option<ChangeReason>, DirectoryError> {
        // An empty password would make a successful *unauthenticated* bind.
        if password.is_empty() {
            return Err(DirectoryError::InvalidCredentials);
        }
        let mut ldap = self.connect().await?;
        let bind = ldap.simple_bind(&user.dn, password.expose()).await?;
        let _ = ldap.unbind().await;
        match error::from_bind(&bind) {
            Ok(()) => Ok(None),
            Err(DirectoryError::MustChange) => Ok(Some(ChangeReason::MustChange)),
            Err(DirectoryError::Expired) => Ok(Some(ChangeReason::Expired)),
            Err(e) => Err(e),
        }
    }

    /// An unknown logon name costs what a known one does (a connection and a bind, against a
    /// name no account has), so the answer's timing does not tell which names exist.
    pub async fn refuse_unknown(&self, password: &Password) -> DirectoryError {
        if let Ok(mut ldap) = self.connect().await {
            let nobody = format!("CN=latchkey-no-such-user-{:016x},CN=Users", rand::random::<u64>());
            let _ = ldap.simple_bind(&nobody, password.expose()).await;
            let _ = ldap.unbind().await;
        }
        DirectoryError::InvalidCredentials
    }

    /// The service account's own facts, read the way a user's are: what a sign-in for a name
    /// no account has reads, so it costs what a known name does. Its DN is asked of the DC once
    /// ("who am I"), then kept.
    pub async fn decoy_facts(&self) -> Result<AccountFacts, DirectoryError> {
        let dn = self.service_dn().await?;
        self.account_facts(&dn).await
    }

    /// The service account's own DN, asked of the DC once ("who am I"), then kept.
    pub async fn service_dn(&self) -> Result<String, DirectoryError> {
        let dn = self
            .service_dn
            .get_or_try_init(|| {
                self.guarded(async {
                    let mut ldap = self.service_session().await?;
                    // Samba does not answer "who am I": the configured name then says who it is.
                    let answer = match ldap.extended(ldap3::exop::WhoAmI).await?.success() {
                        Ok((who, _)) => who.val.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default(),
                        Err(_) => self.configured_identity(),
                    };
                    // "dn:<DN>", or (Active Directory) "u:DOMAIN\\name".
                    if let Some(dn) = answer.strip_prefix("dn:") {
                        return Ok(dn.to_string());
                    }
                    // A UPN names the account too (find_user matches it), a DOMAIN\\name its last part.
                    let name = answer.strip_prefix("u:").and_then(|u| u.rsplit('\\').next()).unwrap_or_default();
                    match self.find_user(name).await? {
                        Some(user) if !name.is_empty() => Ok(user.dn),
                        _ => Err(DirectoryError::Misconfigured(format!(
                            "the service account ({answer}) cannot find itself"
                        ))),
                    }
                })
            })
            .await?
            .clone();
        Ok(dn)
    }

    /// The service account as configured, in "who am I"'s form: `dn:<DN>` or `u:<name>`.
    fn configured_identity(&self) -> String {
        let account = self.service_account.trim();
        if account.contains('=') {
            format!("dn:{account}")
        } else {
            format!("u:{account}")
        }
    }

    pub async fn find_user(&self, username: &str) -> Result<Option<UserRef>, DirectoryError> {
        let name = ldap3::ldap_escape(username.trim());
        self.find_one(&format!("(|(sAMAccountName={name})(userPrincipalName={name}))")).await
    }

    /// The user whose objectGUID is `guid_hex` (as [`UserRef::object_guid`] holds it).
    pub async fn find_by_guid(&self, guid_hex: &str) -> Result<Option<UserRef>, DirectoryError> {
        let bytes =
            hex::decode(guid_hex).map_err(|_| DirectoryError::Unexpected { rc: 0, text: "bad objectGUID".into() })?;
        if bytes.len() != 16 {
            return Ok(None);
        }
        let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        self.find_one(&format!("(objectGUID={escaped})")).await
    }

    /// The one user matching `condition` (an escaped LDAP filter); none when zero or several do.
    async fn find_one(&self, condition: &str) -> Result<Option<UserRef>, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let base = self.base_dn(&mut ldap).await?;
            let filter = format!("(&(objectCategory=person)(objectClass=user){condition})");
            let (entries, _) = ldap
                .search(&base, Scope::Subtree, &filter, account::USER_ATTRS)
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            Ok(match entries.len() {
                1 => entries.into_iter().next().map(|e| UserRef::from_entry(&SearchEntry::construct(e))),
                _ => None,
            })
        })
        .await
    }

    /// What the change page shows: policy, dates, flags.
    pub async fn account_facts(&self, dn: &str) -> Result<AccountFacts, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let base = self.base_dn(&mut ldap).await?;
            let facts = account::read(&mut ldap, &base, dn).await;
            facts
        })
        .await
    }

    /// The user's own change: one modify deleting the current value and adding the new one.
    pub async fn change_password(
        &self,
        user: &UserRef,
        current: &Password,
        new: &Password,
        bind_as: BindAs,
        opened: Option<Opened>,
    ) -> Result<(), DirectoryError> {
        self.guarded(async {
            // The user's own bind is a connection of its own (it proves the user), closed after.
            let (mut ldap, own) = match bind_as {
                BindAs::Service => (self.service_session().await?, false),
                BindAs::User => {
                    let mut ldap = match opened {
                        Some(Opened(ldap)) => ldap,
                        None => self.connect().await?,
                    };
                    let bind = ldap.simple_bind(&user.dn, current.expose()).await?;
                    error::from_bind(&bind).map_err(|e| match e {
                        DirectoryError::InvalidCredentials => DirectoryError::WrongCurrentPassword,
                        other => other,
                    })?;
                    (ldap, true)
                }
            };
            let old_value = Zeroizing::new(unicode_pwd(current));
            let new_value = Zeroizing::new(unicode_pwd(new));
            let mods = vec![
                Mod::Delete(b"unicodePwd".to_vec(), HashSet::from([old_value.to_vec()])),
                Mod::Add(b"unicodePwd".to_vec(), HashSet::from([new_value.to_vec()])),
            ];
            let result = ldap.modify(&user.dn, mods).await;
            if own {
                let _ = ldap.unbind().await;
            }
            error::from_change(&result?)
        })
        .await
    }

    /// Whether the service account can read the entry `dn` (a group the sync relies on).
    pub async fn entry_exists(&self, dn: &str) -> Result<bool, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let result = ldap.search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"]).await?;
            Ok(result.1.rc == 0 && !result.0.is_empty())
        })
        .await
    }

    /// The first value of `attr` on `dn` (a recovery address, say), as the service account reads it.
    pub async fn attribute(&self, dn: &str, attr: &str) -> Result<Option<String>, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let (entries, _) = ldap
                .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            let value = entries.into_iter().next().and_then(|e| {
                let entry = SearchEntry::construct(e);
                entry
                    .attrs
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                    .and_then(|(_, v)| v.into_iter().next())
            });
            Ok(value.filter(|v| !v.trim().is_empty()))
        })
        .await
    }

    /// Whether `user_dn` is a member of `group_dn`, directly or through nested groups.
    pub async fn is_member(&self, user_dn: &str, group_dn: &str) -> Result<bool, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            // LDAP_MATCHING_RULE_IN_CHAIN walks nested groups on the DC.
            let filter = format!("(memberOf:1.2.840.113556.1.4.1941:={})", ldap3::ldap_escape(group_dn));
            let (entries, _) = ldap
                .search(user_dn, Scope::Base, &filter, vec!["1.1"])
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            Ok(!entries.is_empty())
        })
        .await
    }

    /// Every user in `group_dn` (nested groups included), in pages: groups of 10,000 exceed
    /// the DC's page size.
    pub async fn group_members(&self, group_dn: &str) -> Result<Vec<Member>, DirectoryError> {
        // A whole group, in pages: longer than one operation may take.
        self.guarded_for(self.timeout * 20, async {
            use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
            let mut ldap = self.service_session().await?;
            let base = self.base_dn(&mut ldap).await?;
            let filter = format!(
                "(&(objectCategory=person)(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={}))",
                ldap3::ldap_escape(group_dn)
            );
            let adapters: Vec<Box<dyn Adapter<_, _>>> =
                vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(500))];
            let mut attrs = account::USER_ATTRS.to_vec();
            attrs.extend(["userAccountControl", "msDS-UserPasswordExpiryTimeComputed"]);
            let mut stream = ldap.streaming_search_with(adapters, &base, Scope::Subtree, &filter, attrs).await?;
            let mut members = Vec::new();
            while let Some(entry) = stream.next().await? {
                let entry = SearchEntry::construct(entry);
                let uac: i64 = entry
                    .attrs
                    .get("userAccountControl")
                    .and_then(|v| v.first())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let expires = entry
                    .attrs
                    .get("msDS-UserPasswordExpiryTimeComputed")
                    .and_then(|v| v.first())
                    .and_then(|v| v.parse::<i64>().ok())
                    // 0: the password must be changed before use, as good as expired.
                    .and_then(|t| if t == 0 { Some(0) } else { filetime::to_unix(t) });
                members.push(Member {
                    user: UserRef::from_entry(&entry),
                    disabled: uac & UF_ACCOUNTDISABLE != 0,
                    password_expires_at: expires,
                });
            }
            let result = stream.finish().await;
            result.success().map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            Ok(members)
        })
        .await
    }

    /// Sets or clears "user must change password at next logon" (pwdLastSet 0, or -1: now).
    pub async fn set_must_change(&self, dn: &str, must_change: bool) -> Result<(), DirectoryError> {
        let value: &[u8] = if must_change { b"0" } else { b"-1" };
        self.replace_attribute(dn, "pwdLastSet", value).await
    }

    /// Sets or clears "user may not change password": the deny ACEs for SELF and Everyone in
    /// the account's DACL. Only the DACL is read and written (SD-flags control).
    pub async fn set_may_change(&self, dn: &str, may_change: bool) -> Result<(), DirectoryError> {
        self.guarded(async {
            use ldap3::controls::RawControl;
            let dacl_only = || RawControl {
                ctype: account::SD_FLAGS_OID.into(),
                crit: true,
                val: Some(account::SD_FLAGS_DACL.to_vec()),
            };
            let mut ldap = self.service_session().await?;
            let (entries, _) = ldap
                .with_controls(dacl_only())
                .search(dn, Scope::Base, "(objectClass=*)", vec!["nTSecurityDescriptor"])
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            let entry = entries
                .into_iter()
                .next()
                .map(SearchEntry::construct)
                .ok_or_else(|| DirectoryError::Unexpected { rc: 32, text: format!("no such object: {dn}") })?;
            let sd = entry.bin_attrs.get("nTSecurityDescriptor").and_then(|v| v.first()).ok_or_else(|| {
                DirectoryError::Misconfigured("the service account cannot read the account's permissions".into())
            })?;
            let updated = security_descriptor::with_password_change_denied(sd, !may_change)
                .ok_or_else(|| DirectoryError::Unexpected { rc: 0, text: "unreadable security descriptor".into() })?;
            let mods = vec![Mod::Replace(b"nTSecurityDescriptor".to_vec(), HashSet::from([updated]))];
            let result = ldap.with_controls(dacl_only()).modify(dn, mods).await;
            error::from_change(&result?)
        })
        .await
    }

    /// Unlocks an account locked out by wrong passwords.
    pub async fn unlock(&self, dn: &str) -> Result<(), DirectoryError> {
        self.replace_attribute(dn, "lockoutTime", b"0").await
    }

    async fn replace_attribute(&self, dn: &str, attr: &str, value: &[u8]) -> Result<(), DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let result =
                ldap.modify(dn, vec![Mod::Replace(attr.as_bytes().to_vec(), HashSet::from([value.to_vec()]))]).await;
            error::from_change(&result?)
        })
        .await
    }

    /// An administrator's reset: the new password replaces the old (the DC checks complexity
    /// and length, not history or minimum age: the caller does). With `must_change`, the user
    /// must change it at next logon.
    pub async fn reset_password(&self, dn: &str, new: &Password, must_change: bool) -> Result<(), DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let value = Zeroizing::new(unicode_pwd(new));
            let mut mods = vec![Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([value.to_vec()]))];
            if must_change {
                mods.push(Mod::Replace(b"pwdLastSet".to_vec(), HashSet::from([b"0".to_vec()])));
            }
            let result = ldap.modify(dn, mods).await;
            error::from_change(&result?)
        })
        .await
    }

    /// Runs `work` on a shared connection within the timeout; when it did not answer, or the
    /// connection failed under it, the pool's connections are marked stale so the next calls
    /// make fresh ones (a DC that restarted closed them all), without waiting on any.
    async fn guarded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, DirectoryError>>,
    ) -> Result<T, DirectoryError> {
        self.guarded_for(self.timeout * 2, work).await
    }

    async fn guarded_for<T>(
        &self,
        limit: Duration,
        work: impl std::future::Future<Output = Result<T, DirectoryError>>,
    ) -> Result<T, DirectoryError> {
        let outcome = match tokio::time::timeout(limit, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(DirectoryError::Unavailable("the directory did not answer in time".into())),
        };
        if matches!(outcome, Err(DirectoryError::Unavailable(_))) {
            self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        outcome
    }

    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        open(self.url.clone(), self.tls.clone(), self.starttls, self.timeout).await
    }

    /// A connection for the user's own bind, opened now, while the caller reads the account and
    /// checks the new password: the TCP and TLS handshakes overlap that work instead of following
    /// it. Closed unused when the change is refused first.
    /// `None` while the service connections fail (a DC that is away is asked at the pool's
    /// bounded rate, not once more per request).
    pub fn connect_ahead(&self) -> Option<Connecting> {
        if self.reconnects.lock().unwrap_or_else(|e| e.into_inner()).0 > 0 {
            return None;
        }
        Some(Connecting(tokio::spawn(open(self.url.clone(), self.tls.clone(), self.starttls, self.timeout))))
    }

    /// A bound service-account connection from the pool, taken in turn: ldap3 multiplexes the
    /// reads and administrative writes of every caller on it, and several connections let the
    /// DC work on more than one at a time. Made again when the DC closed it (a restart, an
    /// idle timeout) or when it is `MAX_CONNECTION_AGE` old (a DC behind a name moves on);
    /// never closed by a caller. Making one again after failures waits first (`backoff`), so a
    /// DC that is away is asked at a bounded rate — one caller per slot, the others wait on its
    /// lock — and a DC that is back is reached by the next request.
    async fn service_session(&self) -> Result<Ldap, DirectoryError> {
        let first = self.next_slot.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A slot another caller is making again is passed over for the next free one.
        let free = (0..self.service.len()).find_map(|n| self.service[(first + n) % self.service.len()].try_lock().ok());
        let mut shared = match free {
            Some(slot) => slot,
            None => self.service[first % self.service.len()].lock().await,
        };
        // Read once the slot is ours: a connection remade meanwhile is not taken for stale.
        let generation = self.generation.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(current) = shared.as_mut() {
            if !current.ldap.is_closed()
                && current.made.elapsed() < MAX_CONNECTION_AGE
                && current.generation >= generation
            {
                return Ok(current.ldap.clone());
            }
        }
        *shared = None;
        let wait = {
            let tried = self.reconnects.lock().unwrap_or_else(|e| e.into_inner());
            tried.1.map(|at| backoff(tried.0).saturating_sub(at.elapsed())).unwrap_or_default()
        };
        tokio::time::sleep(wait).await;
        let made = async {
            let mut ldap = self.connect().await?;
            let bind = ldap.simple_bind(&self.service_account, &self.service_password).await?;
            error::from_bind(&bind)
                .map_err(|e| DirectoryError::Misconfigured(format!("the service account cannot bind: {e}")))?;
            Ok::<Ldap, DirectoryError>(ldap)
        }
        .await;
        let mut tried = self.reconnects.lock().unwrap_or_else(|e| e.into_inner());
        match made {
            Ok(ldap) => {
                *tried = (0, None);
                *shared = Some(Shared { ldap: ldap.clone(), made: std::time::Instant::now(), generation });
                Ok(ldap)
            }
            Err(e) => {
                *tried = (tried.0.saturating_add(1), Some(std::time::Instant::now()));
                Err(e)
            }
        }
    }

    async fn base_dn(&self, ldap: &mut Ldap) -> Result<String, DirectoryError> {
        if let Some(dn) = &self.configured_base_dn {
            return Ok(dn.clone());
        }
        self.base_dn
            .get_or_try_init(|| async {
                let (entries, _) = ldap
                    .search("", Scope::Base, "(objectClass=*)", vec!["defaultNamingContext"])
                    .await?
                    .success()
                    .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
                entries
                    .into_iter()
                    .next()
                    .and_then(|e| SearchEntry::construct(e).attrs.remove("defaultNamingContext"))
                    .and_then(|v| v.into_iter().next())
                    .ok_or_else(|| DirectoryError::Misconfigured("the RootDSE has no defaultNamingContext".into()))
            })
            .await
            .cloned()
    }
}

/// A pooled service connection: when it was made, and in which generation of the pool.
struct Shared {
    ldap: Ldap,
    made: std::time::Instant,
    /// The pool's generation when it was made.
    generation: u64,
}

/// The most service connections a pool keeps, whatever the setting says.
const MAX_SERVICE_CONNECTIONS: usize = 32;

/// A shared connection older than this is made again.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(15 * 60);

/// How long after the `failures`-th failed attempt in a row the next may start: 100 ms,
/// doubling, at most 2 s.
fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(100u64.saturating_mul(1 << (failures - 1).min(5))).min(Duration::from_secs(2))
}

/// unicodePwd's value: the password in double quotes, UTF-16LE.
fn unicode_pwd(password: &Password) -> Vec<u8> {
    format!("\"{}\"", password.expose()).encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn tls_config(ca_file: Option<&PathBuf>) -> anyhow::Result<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| anyhow::anyhow!("cannot read the directory CA file {}: {e}", path.display()))?
            {
                roots.add(cert.map_err(|e| anyhow::anyhow!("bad certificate in {}: {e}", path.display()))?)?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        anyhow::bail!("no CA certificate to verify the directory with");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

async fn open(
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    starttls: bool,
    timeout: Duration,
) -> Result<Ldap, DirectoryError> {
    let mut settings = LdapConnSettings::new().set_conn_timeout(timeout).set_starttls(starttls);
    settings = match tls {
        Some(config) => settings.set_config(config),
        None => settings.set_no_tls_verify(true),
    };
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &url).await?;
    ldap3::drive!(conn);
    ldap.with_timeout(timeout);
    Ok(ldap)
}

/// A connection being opened ahead of the bind it is for ([`Directory::connect_ahead`]).
/// Dropped, it is abandoned: the handshake stops, or the finished connection closes.
pub struct Connecting(tokio::task::JoinHandle<Result<Ldap, DirectoryError>>);

/// A connection opened for a user's bind, not yet bound.
pub struct Opened(Ldap);

impl Connecting {
    /// The connection once open (within the directory's timeout: the connect is bounded by it).
    pub async fn ready(mut self) -> Result<Opened, DirectoryError> {
        match (&mut self.0).await {
            Ok(opened) => opened.map(Opened),
            Err(_) => Err(DirectoryError::Unavailable("the connection to the directory was abandoned".into())),
        }
    }
}

impl Drop for Connecting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_and_are_bounded() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(400));
        assert_eq!(backoff(6), Duration::from_millis(2000));
        assert_eq!(backoff(60), Duration::from_secs(2), "capped");
    }

    fn config(url: &str, starttls: bool, allow_plaintext_ldap: bool) -> DirectoryConfig {
        DirectoryConfig {
            url: url.into(),
            ca_file: None,
            starttls,
            tls_insecure_skip_verify: true,
            base_dn: None,
            service_account: "svc".into(),
            service_password: "x".into(),
            timeout_secs: 1,
            service_connections: 1,
            allow_plaintext_ldap,
        }
    }

    #[test]
    fn plain_ldap_is_refused_unless_allowed() {
        let refused = Directory::new(config("ldap://dc.example.test", false, false)).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("in the clear")));
        assert!(Directory::new(config("LDAP://dc.example.test", false, true)).is_ok(), "explicitly allowed");
        assert!(Directory::new(config("ldap://dc.example.test", true, false)).is_ok(), "StartTLS");
        assert!(Directory::new(config("ldaps://dc.example.test", false, false)).is_ok());
        assert!(Directory::new(config("http://dc.example.test", false, true)).is_err());
    }

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(unicode_pwd(&Password::new("aé")), vec![b'"', 0, b'a', 0, 0xe9, 0, b'"', 0]);
    }
}
