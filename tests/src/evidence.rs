//! What the DC can tell about a flow after it ran, read so that the test's own checks cannot
//! reset it: the bind log (every LDAP bind, right or wrong, logged by the DC), and the lockout
//! attributes read before any bind of the test's own (a successful bind zeroes badPwdCount).

use std::time::Duration;

use crate::dc::TestDc;

/// A place in the DC's bind log; binds are counted from here on.
pub struct BindLog {
    path: std::path::PathBuf,
    start: u64,
}

/// One bind the DC logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// The account the DC resolved the bind to (its sAMAccountName), or the name as sent.
    pub account: String,
    /// `NT_STATUS_OK` or the refusal.
    pub status: String,
}

impl BindLog {
    /// Binds are counted from now.
    pub fn mark(dc: &TestDc) -> BindLog {
        let path = dc.dir.join("log").join("stdout.log");
        let start = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        BindLog { path, start }
    }

    /// Every bind logged since the mark. A bind of a name nobody has is made and awaited first,
    /// so every bind before it is in the log when it is read (a positive control: the log is
    /// being written, or this fails).
    pub async fn since(&self, dc: &TestDc) -> Vec<Bind> {
        let marker = format!("latchkey-marker-{}", rand_suffix());
        let mut ldap = dc.connect().await;
        let _refused_by_design = ldap.simple_bind(&format!("{marker}@{}", dc.realm()), "x").await;
        let _ = ldap.unbind().await;
        for _ in 0..100 {
            let text = self.read();
            if let Some(end) = text.find(&marker) {
                return parse(&text[..end]);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the DC never logged the marker bind: is samba running with auth_audit:3?");
    }

    /// The binds since the mark that resolved to `sam` (any case).
    pub async fn of(&self, dc: &TestDc, sam: &str) -> Vec<Bind> {
        self.since(dc).await.into_iter().filter(|b| b.account.eq_ignore_ascii_case(sam)).collect()
    }

    fn read(&self) -> String {
        let bytes = std::fs::read(&self.path).unwrap_or_default();
        let from = usize::try_from(self.start).unwrap_or(0).min(bytes.len());
        String::from_utf8_lossy(&bytes[from..]).into_owned()
    }
}

fn parse(text: &str) -> Vec<Bind> {
    text.lines()
        .filter(|l| l.contains("Auth: [LDAP,simple bind"))
        .filter_map(|l| {
            let status = between(l, "status [", "]")?.to_string();
            // "became [DOMAIN]\[sam]" (right), "mapped to [DOMAIN]\[sam]" (wrong), else as sent.
            let account = ["became [", "mapped to [", "user ["]
                .iter()
                .find_map(|anchor| l.split_once(anchor).and_then(|(_, rest)| between(rest, "]\\[", "]")))?
                .to_string();
            Some(Bind { account, status })
        })
        .collect()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(open)?;
    rest.split_once(close).map(|(inside, _)| inside)
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An account's lockout evidence, read with the DC's Administrator (no bind as the user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutEvidence {
    pub bad_pwd_count: u32,
    /// When the last wrong password was tried (ticks); unchanged means none was tried since.
    pub bad_password_time: i64,
    pub lockout_time: i64,
}

impl LockoutEvidence {
    pub async fn read(dc: &TestDc, dn: &str) -> LockoutEvidence {
        let number = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        LockoutEvidence {
            bad_pwd_count: u32::try_from(number(dc.read(dn, "badPwdCount").await)).unwrap_or(u32::MAX),
            bad_password_time: number(dc.read(dn, "badPasswordTime").await),
            lockout_time: number(dc.read(dn, "lockoutTime").await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_read_from_the_dcs_audit_lines() {
        let log = "Auth: [LDAP,simple bind/TLS] user [EXAMPLE]\\[CN=t1,CN=Users,DC=example,DC=test] at [x] with [Plaintext] status [NT_STATUS_OK] workstation [DC1] remote host [ipv4:127.0.0.1:1] became [EXAMPLE]\\[t1] [S-1]. local host [ipv4:127.0.0.1:636]\n\
                   something else\n\
                   Auth: [LDAP,simple bind/TLS] user [EXAMPLE]\\[svc@example.test] at [x] with [Plaintext] status [NT_STATUS_WRONG_PASSWORD] workstation [DC1] remote host [ipv4:127.0.0.1:2] mapped to [EXAMPLE]\\[svc]. local host [x]\n";
        assert_eq!(
            parse(log),
            [
                Bind { account: "t1".into(), status: "NT_STATUS_OK".into() },
                Bind { account: "svc".into(), status: "NT_STATUS_WRONG_PASSWORD".into() }
            ]
        );
    }
}
