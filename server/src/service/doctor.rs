//! The directory self-check (`latchkey-server doctor`, the administrators' "Directory check"):
//! everything the portal needs of the directory, each with pass, warn or fail and the fix.
//! It only reads.

use latchkey_api::admin::{CheckOutcome, CheckResult, DirectoryCheck};

use crate::directory::Directory;
use crate::state::AppState;

const DAY: i64 = 86_400;
/// Certificates and the service account's password: warn this long before they expire.
const WARN_DAYS: i64 = 30;
/// Minimum age and expiry are computed by the DC: a clock this far off shows in the dates.
const SKEW_WARN_SECS: i64 = 60;
const SKEW_FAIL_SECS: i64 = 300;

struct Checks(Vec<CheckResult>);

impl Checks {
    fn add(&mut self, name: &str, outcome: CheckOutcome, detail: impl Into<String>, fix: Option<String>) {
        let fix = if outcome == CheckOutcome::Pass { None } else { fix };
        self.0.push(CheckResult { name: name.into(), outcome, detail: detail.into(), fix });
    }
    fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.add(name, CheckOutcome::Pass, detail, None);
    }
    fn fail(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(name, CheckOutcome::Fail, detail, Some(fix.into()));
    }
}

pub async fn run(state: &AppState) -> DirectoryCheck {
    let mut checks = Checks(Vec::new());
    let Some(directory) = state.directory.as_ref() else {
        checks.fail(
            "Configuration",
            "no [directory] is configured",
            "set [directory] url, service_account and service_password",
        );
        return DirectoryCheck { checks: checks.0 };
    };
    let now = state.now();
    tls(&mut checks, directory, now).await;
    if !service_account(&mut checks, directory, now).await {
        return DirectoryCheck { checks: checks.0 };
    }
    let groups = [
        ("Employee group", state.config.employee_group.as_ref()),
        ("Administrators' group", state.config.admin_group.as_ref()),
    ];
    let mut sample = None;
    for (name, group) in groups {
        let Some(group) = group else {
            checks.add(
                name,
                CheckOutcome::Warn,
                "not configured",
                Some(format!(
                    "set {} to the group's DN",
                    if name.starts_with("Employee") {
                        "employee_group (the administrators' group is used)"
                    } else {
                        "admin_group"
                    }
                )),
            );
            continue;
        };
        match directory.group_members(group).await {
            Ok(members) if !members.is_empty() || directory.entry_exists(group).await.unwrap_or(false) => {
                checks.pass(name, format!("{group}: {} members", members.len()));
                if sample.is_none() {
                    sample = members.into_iter().next().map(|m| m.user.dn);
                }
            }
            Ok(_) => checks.fail(
                name,
                format!("{group} cannot be read"),
                "check the DN, and that the service account may read the group and its members",
            ),
            Err(e) => checks.fail(name, format!("{group}: {e}"), "check the DN"),
        }
    }
    policies(&mut checks, directory).await;
    match sample {
        Some(dn) => rights(&mut checks, directory, &dn).await,
        None => checks.add(
            "Delegated rights",
            CheckOutcome::Warn,
            "no employee to read the rights on",
            Some("add an employee to the employee group, then check again".into()),
        ),
    }
    clock(&mut checks, directory, now).await;
    DirectoryCheck { checks: checks.0 }
}

fn date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

async fn tls(checks: &mut Checks, directory: &Directory, now: i64) {
    const NAME: &str = "TLS certificate";
    match directory.certificate_expiry().await {
        Ok(Some(not_after)) => {
            let days = (not_after - now).div_euclid(DAY);
            let detail = format!("the chain verifies and the name matches; it expires on {} ({days} days)", date(not_after));
            let renew = "renew the DC's certificate".to_string();
            let outcome = if days < 0 { CheckOutcome::Fail } else if days <= WARN_DAYS { CheckOutcome::Warn } else { CheckOutcome::Pass };
            checks.add(NAME, outcome, detail, Some(renew));
        }
        Ok(None) => checks.add(
            NAME,
            CheckOutcome::Warn,
            "not read: StartTLS, or verification is off (tls_insecure_skip_verify)",
            Some("use ldaps:// with verification on to have the certificate checked here".into()),
        ),
        Err(e) => checks.fail(NAME, e, "set directory.ca_file to the CA that signs the DC's certificate, and use the name in the certificate in directory.url"),
    }
}

/// Whether the service account binds (nothing else can be checked otherwise).
async fn service_account(checks: &mut Checks, directory: &Directory, now: i64) -> bool {
    const NAME: &str = "Service account";
    if let Err(e) = directory.ping().await {
        checks.fail(
            NAME,
            format!("does not bind: {e}"),
            "check directory.service_account and directory.service_password",
        );
        return false;
    }
    let dn = directory.service_dn().await.unwrap_or_default();
    match directory.decoy_facts().await {
        Ok(facts) => match facts.expires_at {
            None => checks.pass(NAME, format!("binds as {dn}; its password never expires")),
            Some(at) => {
                let days = (at - now).div_euclid(DAY);
                let outcome = if days <= 0 {
                    CheckOutcome::Fail
                } else if days <= WARN_DAYS {
                    CheckOutcome::Warn
                } else {
                    CheckOutcome::Pass
                };
                checks.add(
                    NAME,
                    outcome,
                    format!("binds as {dn}; its password expires on {} ({days} days)", date(at)),
                    Some("set a new password for the service account, then in directory.service_password".into()),
                );
            }
        },
        Err(e) => checks.add(
            NAME,
            CheckOutcome::Warn,
            format!("binds as {dn}; its own account cannot be read: {e}"),
            Some("let the service account read its own account".into()),
        ),
    }
    match directory.base_dn_now().await {
        Ok(base) => checks.pass("Base DN", base),
        Err(e) => checks.fail("Base DN", e.to_string(), "set directory.base_dn"),
    }
    true
}

async fn policies(checks: &mut Checks, directory: &Directory) {
    const NAME: &str = "Password policies";
    let domain = match directory.decoy_facts().await {
        Ok(f) => format!(
            "domain: at least {} characters, complexity {}, history {}",
            f.policy.min_length,
            if f.policy.complexity { "on" } else { "off" },
            f.policy.history_length
        ),
        Err(e) => format!("domain policy unreadable: {e}"),
    };
    match directory.readable_psos().await {
        Ok(psos) if psos.is_empty() => checks.add(
            NAME,
            CheckOutcome::Warn,
            format!("{domain}; no fine-grained policy readable"),
            Some("if fine-grained policies exist, let the service account read CN=Password Settings Container,CN=System (read property, list contents)".into()),
        ),
        Ok(psos) => checks.pass(NAME, format!("{domain}; fine-grained policies readable: {}", psos.join(", "))),
        Err(e) => checks.fail(NAME, format!("{domain}; {e}"), "let the service account read the Password Settings Container"),
    }
}

async fn rights(checks: &mut Checks, directory: &Directory, user_dn: &str) {
    let rights = match directory.rights_on(user_dn).await {
        Ok(r) => r,
        Err(e) => {
            return checks.fail(
                "Delegated rights",
                e.to_string(),
                "let the service account read users' security descriptors",
            )
        }
    };
    let on = format!("on {user_dn}");
    let grant =
        |what: &str| format!("delegate to the service account, on the users' container for user objects: {what}");
    let mut right = |name: &str, held: bool, what: &str| {
        if held {
            checks.pass(name, format!("held {on}"));
        } else {
            checks.fail(name, format!("missing {on}"), grant(what));
        }
    };
    right(
        "Reset Password",
        rights.reset_password,
        "the extended right \"Reset Password\" (administrators' resets, recovery)",
    );
    right(
        "Change Password",
        rights.change_password,
        "the extended right \"Change Password\" (changes of users who must change at next logon)",
    );
    right(
        "Write pwdLastSet",
        rights.attributes.iter().any(|a| a == "pwdlastset"),
        "read and write pwdLastSet (\"must change at next logon\")",
    );
    right(
        "Write lockoutTime",
        rights.attributes.iter().any(|a| a == "lockouttime"),
        "read and write lockoutTime (unlock)",
    );
    right("Write the DACL", rights.sd_rights & 0x4 != 0, "modify permissions (\"may not change the password\")");
}

async fn clock(checks: &mut Checks, directory: &Directory, now: i64) {
    const NAME: &str = "Clock";
    match directory.dc_time().await {
        Ok(dc) => {
            let skew = now - dc;
            let outcome = match skew.abs() {
                s if s <= SKEW_WARN_SECS => CheckOutcome::Pass,
                s if s <= SKEW_FAIL_SECS => CheckOutcome::Warn,
                _ => CheckOutcome::Fail,
            };
            checks.add(
                NAME,
                outcome,
                format!("this server is {skew} s off the DC"),
                Some("synchronise this server's clock with the domain's (NTP)".into()),
            );
        }
        Err(e) => checks.fail(NAME, e.to_string(), "let the service account read the RootDSE"),
    }
}
