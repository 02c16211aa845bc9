//! What every scenario must end with, measured in an order that cannot hide a failure: the
//! DC's lockout evidence first (before any bind of the test's own: a right bind zeroes
//! badPwdCount), then the journal, the key, the directory and the audit.

use latchkey_server::store::Store;
use latchkey_tests::evidence::LockoutEvidence;
use latchkey_tests::keys::key_password;
use latchkey_tests::TestDc;

use super::rig::{Rig, ACCOUNT};

/// The server drains its audit spool every 5 s; a spooled entry is in the log within this.
const SPOOL_DRAINED_WITHIN: std::time::Duration = std::time::Duration::from_secs(12);

/// What the key must hold for the account afterwards.
#[derive(Clone, Debug)]
pub enum OnKey {
    Nothing,
    Exactly(String),
    /// Exactly this, which the directory no longer has: it was stale before the flow, and the
    /// flow (refused) did not get to replace it.
    Stale(String),
    /// The password the directory has, whatever it is (a generated one nobody saw).
    TheDirectorys,
}

#[derive(Clone, Debug)]
pub struct Expect {
    /// The password that must bind, when the test knows it.
    pub binds: Option<String>,
    /// Passwords that must no longer bind (each wrong try costs a badPwdCount, after the
    /// evidence was read).
    pub refused: Vec<String>,
    pub on_key: OnKey,
    /// An audit entry on this target with this action and a result of this kind.
    pub audit: Option<(String, &'static str, Audit)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audit {
    /// It happened (now, or settled on the key's next connection).
    Success,
    /// It did not.
    Failure,
    /// It did not, and may have been refused before it began (then no entry says so).
    NotSuccess,
}

impl Audit {
    fn matches(self, result: &str) -> bool {
        let happened = matches!(result, "success" | "reconciled_committed");
        happened == (self == Audit::Success)
    }
}

/// A scenario's outcome.
#[derive(Debug, Default)]
pub struct Verdict {
    pub locked: bool,
    pub lost: bool,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn problem(&mut self, text: String) {
        self.problems.push(text);
    }
}

/// What the checks look at: the user in the DC, the server's store, and what the key holds.
pub struct Subject<'a> {
    pub dc: &'a TestDc,
    pub dn: &'a str,
    pub store: &'a Store,
    pub key_id: i64,
    /// The key's password for the account, read once the scenario ended.
    pub held: Option<String>,
    /// Whether the key keeps a staged password beside it.
    pub staged: bool,
}

impl Subject<'_> {
    /// What `key` holds for the account now.
    pub fn on_key(key: &keysim::SimKey) -> (Option<String>, bool) {
        let staged = key.vault().accounts.iter().find(|a| a.account.id == ACCOUNT).is_some_and(|a| a.staged.is_some());
        (key_password(key, ACCOUNT), staged)
    }
}

pub async fn check(rig: &Rig, expect: Expect) -> Verdict {
    let (held, staged) = Subject::on_key(&rig.key);
    let subject = Subject {
        dc: &rig.dc,
        dn: &rig.user.dn,
        store: &rig.seed.state.store,
        key_id: rig.key_id().await,
        held,
        staged,
    };
    measure(&subject, expect).await
}

pub async fn measure(subject: &Subject<'_>, expect: Expect) -> Verdict {
    let mut v = Verdict::default();
    let Subject { dc, dn, store, .. } = *subject;
    let evidence = LockoutEvidence::read(dc, dn).await;
    if evidence.lockout_time != 0 {
        v.locked = true;
        v.problem(format!("the account is locked: {evidence:?}"));
    }
    if evidence.bad_pwd_count != 0 {
        v.problem(format!("badPwdCount is {}", evidence.bad_pwd_count));
    }

    let open = store.open_changes(subject.key_id).await.expect("journal");
    if !open.is_empty() {
        v.problem(format!("journal rows left open: {open:?}"));
    }

    let held = &subject.held;
    if subject.staged {
        v.problem("a staged password is left on the key".into());
    }
    match (&expect.on_key, held) {
        (OnKey::Nothing, None) => {}
        (OnKey::Exactly(want) | OnKey::Stale(want), Some(have)) if want == have => {}
        (OnKey::TheDirectorys, Some(_)) => {}
        (want, have) => {
            v.lost = true;
            v.problem(format!("the key holds {have:?}, expected {want:?}"));
        }
    }
    if let Some(binds) = &expect.binds {
        if !dc.binds(dn, binds).await {
            v.lost = true;
            v.problem(format!("the expected password {binds:?} does not bind"));
        }
    }
    if let (OnKey::TheDirectorys | OnKey::Exactly(_), Some(held)) = (&expect.on_key, held) {
        if expect.binds.as_deref() != Some(held.as_str()) && !dc.binds(dn, held).await {
            v.lost = true;
            v.problem("the key's password does not bind: the key and the directory disagree".into());
        }
    }
    for refused in &expect.refused {
        if dc.binds(dn, refused).await {
            v.problem(format!("{refused:?} still binds: two passwords work"));
        }
    }

    if let Some((target, action, result)) = &expect.audit {
        // An entry the database could not take when it happened waits in the server's spool,
        // which is drained every few seconds: give it that long.
        let waited = std::time::Instant::now();
        let (audit, found) = loop {
            let audit = store.audit_of(target).await.expect("audit");
            let of_action: Vec<_> = audit.iter().filter(|e| e.action == *action).collect();
            let succeeded = of_action.iter().any(|e| Audit::Success.matches(&e.result));
            let found = match result {
                Audit::Success => succeeded,
                Audit::Failure => !succeeded && of_action.iter().any(|e| result.matches(&e.result)),
                Audit::NotSuccess => !succeeded,
            };
            if found || waited.elapsed() > SPOOL_DRAINED_WITHIN {
                break (audit, found);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        if !found {
            let seen: Vec<_> = audit.iter().map(|e| format!("{}={}", e.action, e.result)).collect();
            v.problem(format!("no audit entry {action} {result:?} on {target}: {seen:?}"));
        }
    }
    if store.verify_audit().await.expect("audit chain").is_some() {
        v.problem("the audit chain is broken".into());
    }
    v
}
