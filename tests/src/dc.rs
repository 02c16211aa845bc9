//! The DC under test, reached as its Administrator to set up each test's users and policies.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};

/// Connection facts exported by `cargo xtask test`.
#[derive(Clone, Debug)]
pub struct TestDc {
    pub dir: PathBuf,
    pub url: String,
    pub base_dn: String,
    pub ca_file: PathBuf,
    pub admin_password: String,
    pub service_account: String,
    pub service_password: String,
    /// DN of the group whose members administer Latchkey.
    pub admin_group: String,
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub sam: String,
    pub dn: String,
    pub display_name: String,
    pub password: String,
}

#[derive(Clone, Debug, Default)]
pub struct UserOptions {
    pub display_name: Option<String>,
    pub disabled: bool,
    /// How the logon name starts (e.g. mixed case, another script); `t` when `None`.
    pub name_prefix: Option<String>,
}

static NEXT_USER: AtomicU32 = AtomicU32::new(0);

impl TestDc {
    /// The DC started by `cargo xtask test`.
    pub fn from_env() -> TestDc {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run the tests with `cargo xtask test`, which starts the Samba AD DC")
            })
        };
        TestDc {
            dir: var("LATCHKEY_TEST_DC_DIR").into(),
            url: var("LATCHKEY_TEST_DC_URL"),
            base_dn: var("LATCHKEY_TEST_DC_BASE_DN"),
            ca_file: var("LATCHKEY_TEST_DC_CA").into(),
            admin_password: var("LATCHKEY_TEST_DC_ADMIN_PASSWORD"),
            service_account: var("LATCHKEY_TEST_DC_SERVICE_ACCOUNT"),
            service_password: var("LATCHKEY_TEST_DC_SERVICE_PASSWORD"),
            admin_group: var("LATCHKEY_TEST_DC_ADMIN_GROUP"),
        }
    }

    pub fn realm(&self) -> String {
        self.base_dn.split(',').filter_map(|p| p.strip_prefix("DC=")).collect::<Vec<_>>().join(".")
    }

    pub async fn connect(&self) -> Ldap {
        let mut roots = rustls::RootCertStore::empty();
        use rustls_pki_types::pem::PemObject;
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(&self.ca_file).expect("CA file") {
            roots.add(cert.expect("CA cert")).expect("add CA");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let settings = LdapConnSettings::new().set_config(Arc::new(config));
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.url).await.expect("connect to the DC");
        ldap3::drive!(conn);
        ldap
    }

    pub async fn admin(&self) -> Ldap {
        let mut ldap = self.connect().await;
        let upn = format!("Administrator@{}", self.realm());
        ldap.simple_bind(&upn, &self.admin_password).await.expect("bind").success().expect("admin bind");
        ldap
    }

    /// Whether `password` binds as `dn` (a wrong one costs a badPwdCount, like any bind).
    pub async fn binds(&self, dn: &str, password: &str) -> bool {
        let mut ldap = self.connect().await;
        let ok = ldap.simple_bind(dn, password).await.map(|r| r.rc == 0).unwrap_or(false);
        let _ = ldap.unbind().await;
        ok
    }

    /// A new user with a unique name and a known, valid password.
    pub async fn create_user(&self, options: UserOptions) -> TestUser {
        let n = NEXT_USER.fetch_add(1, Ordering::SeqCst);
        let prefix = options.name_prefix.as_deref().unwrap_or("t");
        let sam = format!("{prefix}{}u{n}", std::process::id() % 100_000);
        let display_name = options.display_name.unwrap_or_else(|| format!("Test User{n}"));
        let dn = format!("CN={sam},CN=Users,{}", self.base_dn);
        let password = format!("Start-Pass-{n}x!");
        let uac = if options.disabled { "514" } else { "512" };
        let mut ldap = self.admin().await;
        let upn = format!("{sam}@{}", self.realm());
        let pwd = unicode_pwd(&password);
        let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![
            (b"objectClass".to_vec(), HashSet::from([b"user".to_vec()])),
            (b"sAMAccountName".to_vec(), HashSet::from([sam.clone().into_bytes()])),
            (b"userPrincipalName".to_vec(), HashSet::from([upn.into_bytes()])),
            (b"displayName".to_vec(), HashSet::from([display_name.clone().into_bytes()])),
            (b"unicodePwd".to_vec(), HashSet::from([pwd])),
            (b"userAccountControl".to_vec(), HashSet::from([uac.as_bytes().to_vec()])),
        ];
        ldap.add(&dn, attrs).await.expect("add").success().expect("create user");
        let _ = ldap.unbind().await;
        TestUser { sam, dn, display_name, password }
    }

    pub async fn replace(&self, dn: &str, attr: &str, value: &str) {
        let mut ldap = self.admin().await;
        let m = Mod::Replace(attr.as_bytes().to_vec(), HashSet::from([value.as_bytes().to_vec()]));
        ldap.modify(dn, vec![m]).await.expect("modify").success().expect("replace attribute");
        let _ = ldap.unbind().await;
    }

    /// Sets the user's password as the domain's administrator would (a change made elsewhere).
    pub async fn set_password(&self, dn: &str, new: &str) {
        let mut ldap = self.admin().await;
        let m = Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(new)]));
        ldap.modify(dn, vec![m]).await.expect("modify").success().expect("set the password");
        let _ = ldap.unbind().await;
    }

    /// A new, empty security group with a unique name; its DN.
    pub async fn create_group(&self) -> String {
        let n = NEXT_USER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}g{n}", std::process::id() % 100_000);
        let dn = format!("CN={name},CN=Users,{}", self.base_dn);
        let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![
            (b"objectClass".to_vec(), HashSet::from([b"group".to_vec()])),
            (b"sAMAccountName".to_vec(), HashSet::from([name.into_bytes()])),
        ];
        let mut ldap = self.admin().await;
        ldap.add(&dn, attrs).await.expect("add").success().expect("create group");
        let _ = ldap.unbind().await;
        dn
    }

    /// Removes `dn` from the group `group_dn`.
    pub async fn remove_from_group(&self, dn: &str, group_dn: &str) {
        let mut ldap = self.admin().await;
        let m = Mod::Delete(b"member".to_vec(), HashSet::from([dn.as_bytes().to_vec()]));
        ldap.modify(group_dn, vec![m]).await.expect("modify").success().expect("remove from group");
        let _ = ldap.unbind().await;
    }

    /// Adds `dn` to the group `group_dn`.
    pub async fn add_to_group(&self, dn: &str, group_dn: &str) {
        let mut ldap = self.admin().await;
        let m = Mod::Add(b"member".to_vec(), HashSet::from([dn.as_bytes().to_vec()]));
        ldap.modify(group_dn, vec![m]).await.expect("modify").success().expect("add to group");
        let _ = ldap.unbind().await;
    }

    /// "User must change password at next logon".
    pub async fn set_must_change(&self, dn: &str) {
        self.replace(dn, "pwdLastSet", "0").await;
    }

    /// Moves pwdLastSet `days` into the past, through the DC's own database (over LDAP only 0
    /// and -1 are accepted).
    pub fn backdate_password(&self, dn: &str, days: i64) {
        let script = r#"
import sys, time
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
import ldb
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)
when = int((time.time() - int(sys.argv[4]) * 86400 + 11644473600) * 10**7)
m = ldb.Message(); m.dn = ldb.Dn(db, sys.argv[3])
m["pwdLastSet"] = ldb.MessageElement(str(when), ldb.FLAG_MOD_REPLACE, "pwdLastSet")
db.modify(m, controls=["local_oid:1.3.6.1.4.1.7165.4.3.20:0"])
"#;
        // Debian's Python: Samba's bindings live there, not in any other Python on PATH.
        let status = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(self.dir.join("etc/smb.conf"))
            .arg(self.dir.join("private/sam.ldb"))
            .arg(dn)
            .arg(days.to_string())
            .status()
            .expect("python3");
        assert!(status.success(), "backdating pwdLastSet failed");
    }

    /// The objectSid of `dn`, in SDDL's string form (S-1-5-21-…).
    pub async fn read_sid(&self, dn: &str) -> String {
        let mut ldap = self.admin().await;
        let (entries, _) = ldap
            .search(dn, Scope::Base, "(objectClass=*)", vec!["objectSid"])
            .await
            .expect("search")
            .success()
            .expect("read");
        let _ = ldap.unbind().await;
        let entry = SearchEntry::construct(entries.into_iter().next().expect("the entry"));
        let sid = entry.bin_attrs.get("objectSid").and_then(|v| v.first()).cloned().expect("objectSid");
        let authority = sid[2..8].iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        let subs: Vec<String> = sid[8..]
            .chunks(4)
            .take(usize::from(sid[1]))
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
            .collect();
        format!("S-{}-{authority}-{}", sid[0], subs.join("-"))
    }

    /// Adds ACEs (SDDL) to the DACL of `dn` with `samba-tool dsacl`.
    pub fn add_ace(&self, dn: &str, sddl: &str) {
        let out = Command::new("samba-tool")
            .args(["dsacl", "set", &format!("--objectdn={dn}"), &format!("--sddl={sddl}")])
            .arg("-s")
            .arg(self.dir.join("etc/smb.conf"))
            .arg("-H")
            .arg(self.dir.join("private/sam.ldb"))
            .output()
            .expect("samba-tool");
        assert!(out.status.success(), "dsacl failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// "User cannot change password": deny the change-password right to SELF and Everyone.
    pub fn deny_password_change(&self, dn: &str) {
        let sddl = "(OD;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;PS)(OD;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)";
        self.add_ace(dn, sddl);
    }

    /// Locks `dn` out by binding with wrong passwords up to the domain's threshold.
    pub async fn lock_out(&self, dn: &str) {
        for _ in 0..5 {
            assert!(!self.binds(dn, "definitely-wrong").await);
        }
        assert!(self.is_locked_out(dn).await, "{dn} should be locked out now");
    }

    pub async fn is_locked_out(&self, dn: &str) -> bool {
        let computed = self.read(dn, "msDS-User-Account-Control-Computed").await;
        computed.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v & 0x10 != 0)
    }

    pub async fn read(&self, dn: &str, attr: &str) -> Option<String> {
        let mut ldap = self.admin().await;
        let (entries, _) =
            ldap.search(dn, Scope::Base, "(objectClass=*)", vec![attr]).await.expect("search").success().expect("read");
        let _ = ldap.unbind().await;
        entries.into_iter().next().and_then(|e| SearchEntry::construct(e).attrs.remove(attr)?.into_iter().next())
    }

    /// pwdLastSet as a number; a missing attribute fails the test instead of passing it.
    pub async fn password_last_set(&self, dn: &str) -> i64 {
        self.read(dn, "pwdLastSet").await.expect("pwdLastSet is readable").parse().expect("a number")
    }

    /// A fine-grained password policy with a minimum age of `min_age_secs`, applied to `dn`.
    pub async fn apply_pso(&self, name: &str, dn: &str, min_age_secs: i64, min_length: u32) {
        let pso_dn = format!("CN={name},CN=Password Settings Container,CN=System,{}", self.base_dn);
        let ticks = |secs: i64| (-secs * 10_000_000).to_string();
        let attrs: Vec<(&str, String)> = vec![
            ("objectClass", "msDS-PasswordSettings".into()),
            ("msDS-PasswordSettingsPrecedence", "1".into()),
            ("msDS-PasswordReversibleEncryptionEnabled", "FALSE".into()),
            ("msDS-PasswordHistoryLength", "5".into()),
            ("msDS-PasswordComplexityEnabled", "TRUE".into()),
            ("msDS-MinimumPasswordLength", min_length.to_string()),
            ("msDS-MinimumPasswordAge", ticks(min_age_secs)),
            ("msDS-MaximumPasswordAge", ticks(42 * 86_400)),
            ("msDS-LockoutThreshold", "5".into()),
            ("msDS-LockoutObservationWindow", ticks(1800)),
            ("msDS-LockoutDuration", ticks(1800)),
            ("msDS-PSOAppliesTo", dn.into()),
        ];
        let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> =
            attrs.into_iter().map(|(k, v)| (k.as_bytes().to_vec(), HashSet::from([v.into_bytes()]))).collect();
        let mut ldap = self.admin().await;
        ldap.add(&pso_dn, attrs).await.expect("add").success().expect("create PSO");
        let _ = ldap.unbind().await;
    }
}

pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect()
}
