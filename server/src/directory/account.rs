//! Reading an account's password facts: the effective policy (domain or fine-grained), the
//! dates, and whether the user may change their password at all.

use latchkey_api::PolicySource;
use latchkey_policy::{Account, Mode, Policy};
use ldap3::controls::RawControl;
use ldap3::{Ldap, Scope, SearchEntry};

use super::{error::DirectoryError, filetime, security_descriptor};

pub const USER_ATTRS: &[&str] = &["sAMAccountName", "displayName", "objectGUID"];

const FACT_ATTRS: &[&str] = &[
    "sAMAccountName",
    "displayName",
    "objectGUID",
    "pwdLastSet",
    "msDS-UserPasswordExpiryTimeComputed",
    "msDS-User-Account-Control-Computed",
    "msDS-ResultantPSO",
    "nTSecurityDescriptor",
    "userAccountControl",
    "accountExpires",
    "adminCount",
    "userPrincipalName",
    "badPwdCount",
    "badPasswordTime",
    "mail",
];
const DOMAIN_ATTRS: &[&str] = &[
    "minPwdLength",
    "pwdProperties",
    "pwdHistoryLength",
    "minPwdAge",
    "maxPwdAge",
    "lockoutThreshold",
    "lockOutObservationWindow",
];
const PSO_ATTRS: &[&str] = &[
    "cn",
    "msDS-MinimumPasswordLength",
    "msDS-PasswordComplexityEnabled",
    "msDS-PasswordHistoryLength",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
    "msDS-LockoutThreshold",
    "msDS-LockoutObservationWindow",
];

/// LDAP_SERVER_SD_FLAGS_OID asking for the DACL only (a plain account may read that part).
pub const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";
pub const SD_FLAGS_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x04];

const UF_ACCOUNTDISABLE: i64 = 0x2;
const UF_LOCKOUT: i64 = 0x10;
const UF_PASSWORD_EXPIRED: i64 = 0x80_0000;
const DOMAIN_PASSWORD_COMPLEX: i64 = 0x1;

/// A directory user, as found by logon name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRef {
    pub dn: String,
    pub sam_account_name: String,
    pub display_name: String,
    /// objectGUID, hex: what links an employee to this entry through renames and moves.
    pub object_guid: String,
}

impl UserRef {
    pub fn from_entry(entry: &SearchEntry) -> Self {
        UserRef {
            dn: entry.dn.clone(),
            sam_account_name: first(entry, "sAMAccountName").unwrap_or_default(),
            display_name: first(entry, "displayName").unwrap_or_default(),
            object_guid: entry.bin_attrs.get("objectGUID").and_then(|v| v.first()).map(hex::encode).unwrap_or_default(),
        }
    }

    /// How messages address the user: the display name, or the logon name when there is none.
    pub fn greeting_name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.sam_account_name
        } else {
            &self.display_name
        }
    }

    pub fn account(&self) -> Account {
        Account { sam_account_name: self.sam_account_name.clone(), display_name: self.display_name.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct AccountFacts {
    pub user: UserRef,
    pub policy: Policy,
    pub policy_source: PolicySource,
    pub password_last_set: Option<i64>,
    /// pwdLastSet as stored (100 ns ticks, 0 = must change): compared exactly to tell whether
    /// a change went through.
    pub password_last_set_ticks: i64,
    pub expires_at: Option<i64>,
    /// "Must change at next logon" or expired.
    pub change_required: bool,
    pub locked_out: bool,
    pub may_change: bool,
    /// userAccountControl's ACCOUNTDISABLE.
    pub disabled: bool,
    /// accountExpires, Unix seconds; `None` when it never expires.
    pub account_expires_at: Option<i64>,
    /// adminCount = 1: a member (now or once) of a protected group (Domain Admins and the like).
    pub protected: bool,
    pub user_principal_name: Option<String>,
    /// How long the directory remembers wrong passwords (the effective policy's
    /// lockout observation window).
    pub lockout_window_secs: u64,
    /// Wrong passwords the directory counted (badPwdCount), and when the last was (Unix
    /// seconds): the count is current only within the observation window after it.
    pub bad_password_count: u32,
    pub bad_password_at: Option<i64>,
    /// The `mail` attribute: where reminders and notices go.
    pub mail: Option<String>,
}

impl AccountFacts {
    /// An ordinary account's facts, for tests to vary.
    #[cfg(test)]
    pub fn sample() -> AccountFacts {
        AccountFacts {
            user: UserRef {
                dn: "CN=a".into(),
                sam_account_name: "a".into(),
                display_name: "A".into(),
                object_guid: "00".into(),
            },
            policy: Policy::nist(),
            policy_source: PolicySource::Domain,
            password_last_set: None,
            password_last_set_ticks: 1,
            expires_at: None,
            change_required: false,
            locked_out: false,
            may_change: true,
            disabled: false,
            account_expires_at: None,
            protected: false,
            user_principal_name: None,
            lockout_window_secs: DEFAULT_LOCKOUT_WINDOW_SECS,
            bad_password_count: 0,
            bad_password_at: None,
            mail: None,
        }
    }
}

/// When no window can be read: Windows' default observation window.
pub const DEFAULT_LOCKOUT_WINDOW_SECS: u64 = 30 * 60;

pub async fn read(ldap: &mut Ldap, base_dn: &str, dn: &str) -> Result<AccountFacts, DirectoryError> {
    let sd_flags = RawControl { ctype: SD_FLAGS_OID.into(), crit: false, val: Some(SD_FLAGS_DACL.to_vec()) };
    // Both asked at once: the connection multiplexes them, so a read costs one round trip.
    let mut for_domain = ldap.clone();
    let (user, domain) = tokio::join!(
        search_one(ldap.with_controls(sd_flags), dn, FACT_ATTRS),
        search_one(&mut for_domain, base_dn, DOMAIN_ATTRS)
    );
    let user = user?.ok_or_else(|| DirectoryError::Unexpected { rc: 32, text: format!("no such user: {dn}") })?;
    let domain =
        domain?.ok_or_else(|| DirectoryError::Misconfigured(format!("cannot read the domain object {base_dn}")))?;

    let domain_window = int(&domain, "lockOutObservationWindow");
    let (policy, policy_source, window) = match first(&user, "msDS-ResultantPSO") {
        None => (domain_policy(&domain), PolicySource::Domain, domain_window),
        Some(pso_dn) => {
            let name = rdn_value(&pso_dn);
            match search_one(ldap, &pso_dn, PSO_ATTRS).await? {
                Some(pso) if pso.attrs.contains_key("msDS-MinimumPasswordLength") => {
                    (pso_policy(&pso), PolicySource::FineGrained { name }, int(&pso, "msDS-LockoutObservationWindow"))
                }
                _ => (domain_policy(&domain), PolicySource::FineGrainedUnreadable { name }, domain_window),
            }
        }
    };

    let pwd_last_set = int(&user, "pwdLastSet").unwrap_or(0);
    let computed = int(&user, "msDS-User-Account-Control-Computed").unwrap_or(0);
    let sd = user
        .bin_attrs
        .get("nTSecurityDescriptor")
        .and_then(|v| v.first())
        .cloned()
        .or_else(|| first(&user, "nTSecurityDescriptor").map(String::into_bytes));
    let denied = sd.as_deref().and_then(security_descriptor::denies_password_change);
    if denied.is_none() {
        tracing::warn!(%dn, "cannot read the account's DACL; assuming the user may change the password");
    }
    Ok(AccountFacts {
        user: UserRef::from_entry(&user),
        policy,
        policy_source,
        password_last_set: filetime::to_unix(pwd_last_set),
        password_last_set_ticks: pwd_last_set,
        expires_at: int(&user, "msDS-UserPasswordExpiryTimeComputed").and_then(filetime::to_unix),
        change_required: pwd_last_set == 0 || computed & UF_PASSWORD_EXPIRED != 0,
        locked_out: computed & UF_LOCKOUT != 0,
        may_change: !denied.unwrap_or(false),
        disabled: int(&user, "userAccountControl").unwrap_or(0) & UF_ACCOUNTDISABLE != 0,
        // 0 and 0x7FFFFFFFFFFFFFFF both mean "never".
        account_expires_at: int(&user, "accountExpires").filter(|t| *t != i64::MAX).and_then(filetime::to_unix),
        protected: int(&user, "adminCount").unwrap_or(0) == 1,
        user_principal_name: first(&user, "userPrincipalName"),
        lockout_window_secs: window.and_then(filetime::duration_secs).unwrap_or(DEFAULT_LOCKOUT_WINDOW_SECS),
        bad_password_count: uint(&user, "badPwdCount"),
        bad_password_at: int(&user, "badPasswordTime").and_then(filetime::to_unix),
        mail: first(&user, "mail").filter(|m| !m.trim().is_empty()),
    })
}

fn domain_policy(domain: &SearchEntry) -> Policy {
    Policy {
        mode: Mode::ActiveDirectory,
        min_length: uint(domain, "minPwdLength"),
        complexity: int(domain, "pwdProperties").unwrap_or(0) & DOMAIN_PASSWORD_COMPLEX != 0,
        history_length: uint(domain, "pwdHistoryLength"),
        min_age_secs: int(domain, "minPwdAge").and_then(filetime::duration_secs).unwrap_or(0),
        max_age_secs: int(domain, "maxPwdAge").and_then(filetime::duration_secs),
        lockout_threshold: uint(domain, "lockoutThreshold"),
    }
}

fn pso_policy(pso: &SearchEntry) -> Policy {
    Policy {
        mode: Mode::ActiveDirectory,
        min_length: uint(pso, "msDS-MinimumPasswordLength"),
        complexity: first(pso, "msDS-PasswordComplexityEnabled").is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
        history_length: uint(pso, "msDS-PasswordHistoryLength"),
        min_age_secs: int(pso, "msDS-MinimumPasswordAge").and_then(filetime::duration_secs).unwrap_or(0),
        max_age_secs: int(pso, "msDS-MaximumPasswordAge").and_then(filetime::duration_secs),
        lockout_threshold: uint(pso, "msDS-LockoutThreshold"),
    }
}

async fn search_one(ldap: &mut Ldap, dn: &str, attrs: &[&str]) -> Result<Option<SearchEntry>, DirectoryError> {
    let result = ldap.search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec()).await?;
    match result.1.rc {
        0 => Ok(result.0.into_iter().next().map(SearchEntry::construct)),
        // No such object, or not visible to the service account.
        32 | 50 => Ok(None),
        rc => Err(DirectoryError::Unexpected { rc, text: result.1.text }),
    }
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    entry.attrs.get(attr).and_then(|v| v.first()).cloned()
}

fn int(entry: &SearchEntry, attr: &str) -> Option<i64> {
    first(entry, attr).and_then(|v| v.parse().ok())
}

fn uint(entry: &SearchEntry, attr: &str) -> u32 {
    int(entry, attr).and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

/// "CN=Short Age,CN=Password Settings Container,..." → "Short Age".
fn rdn_value(dn: &str) -> String {
    let rdn = dn.split(',').next().unwrap_or(dn);
    rdn.split_once('=').map(|(_, v)| v).unwrap_or(rdn).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdn_value_takes_the_first_component() {
        assert_eq!(rdn_value("CN=Short Age,CN=Password Settings Container,DC=x"), "Short Age");
        assert_eq!(rdn_value("plain"), "plain");
    }
}
