//! The administration API, typed: every URL the administration pages use is built here, its
//! path segments and query values percent-encoded; components call these functions only.

use latchkey_api::admin::{
    AssignKey, AssignedKey, AuditView, Dashboard, DirectoryCheck, EmployeeDetail, EmployeePage, FlagsChange,
    KeyStatusChange, KeyView, MailOverview, ManifestReport, NewAccount, RegisterKey, ReminderRun, SyncReport,
};
use latchkey_api::{AdminResetRequest, AdminResetResponse, RecoveryCodes, TotpCode, TotpEnrolment};
use latchkey_app::api::{encode, get, post_json, post_text, post_unit, Empty};
pub use latchkey_app::api::{session, sign_out, ApiResult};

/// How many employees a page of the list shows.
pub const EMPLOYEES_PER_PAGE: u64 = 50;
/// How many audit entries a page shows.
pub const AUDIT_PER_PAGE: usize = 200;

pub async fn dashboard() -> ApiResult<Dashboard> {
    get("/api/admin/dashboard").await
}

/// Which page of a list to load: the first, or the one after or before a cursor the previous
/// answer gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PageAt {
    #[default]
    First,
    After(String),
    Before(String),
}

/// A page of employees matching `query` in `state` (`""` for everyone; see the list's filter).
pub async fn employees(query: &str, state: &str, at: &PageAt) -> ApiResult<EmployeePage> {
    let cursor = match at {
        PageAt::First => String::new(),
        PageAt::After(c) => format!("&after={}", encode(c)),
        PageAt::Before(c) => format!("&before={}", encode(c)),
    };
    let url =
        format!("/api/admin/employees?q={}&state={}&limit={EMPLOYEES_PER_PAGE}{cursor}", encode(query), encode(state));
    get(&url).await
}

pub async fn sync_employees() -> ApiResult<SyncReport> {
    post_json("/api/admin/employees/sync", &()).await
}

pub async fn employee(username: &str) -> ApiResult<EmployeeDetail> {
    get(&employee_url(username, "")).await
}

/// Queues an account (no password) on each of the employee's keys; the serials it went to.
pub async fn add_account(username: &str, account: &NewAccount) -> ApiResult<Vec<String>> {
    post_json(&employee_url(username, "/accounts"), account).await
}

pub async fn set_flags(username: &str, flags: &FlagsChange) -> ApiResult<()> {
    post_unit(&employee_url(username, "/flags"), flags).await
}

pub async fn unlock(username: &str) -> ApiResult<()> {
    post_unit(&employee_url(username, "/unlock"), &()).await
}

pub async fn reset(username: &str, request: &AdminResetRequest) -> ApiResult<AdminResetResponse> {
    post_json(&employee_url(username, "/reset"), request).await
}

/// Removes the employee's authenticator app (and its recovery codes): they enrol a new one.
pub async fn reset_totp(username: &str) -> ApiResult<()> {
    post_unit(&employee_url(username, "/totp/reset"), &Empty {}).await
}

/// Checks what the portal needs of the directory; changes nothing.
pub async fn directory_check() -> ApiResult<DirectoryCheck> {
    get("/api/admin/directory-check").await
}

pub async fn mail() -> ApiResult<MailOverview> {
    get("/api/admin/mail").await
}

/// Runs the password reminders now instead of at their hour.
pub async fn run_reminders() -> ApiResult<ReminderRun> {
    post_json("/api/admin/mail/reminders", &Empty {}).await
}

pub async fn keys() -> ApiResult<Vec<KeyView>> {
    get("/api/admin/keys").await
}

pub async fn register_key(key: &RegisterKey) -> ApiResult<()> {
    post_unit("/api/admin/keys", key).await
}

pub async fn register_manifest(csv: String) -> ApiResult<ManifestReport> {
    post_text("/api/admin/keys/manifest", csv).await
}

pub async fn assign_key(serial: &str, username: &str) -> ApiResult<AssignedKey> {
    let url = format!("/api/admin/keys/{}/assign", encode(serial));
    post_json(&url, &AssignKey { username: username.to_string() }).await
}

pub async fn set_key_status(serial: &str, change: &KeyStatusChange) -> ApiResult<()> {
    post_unit(&format!("/api/admin/keys/{}/status", encode(serial)), change).await
}

/// What the audit page filters by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub failures_only: bool,
    /// Exactly this result (`locked_out`, say); empty for any.
    pub result: String,
    /// Only entries at or after this moment (Unix seconds); 0 for all.
    pub since: i64,
}

/// A page of matching entries, newest first; `before`: the id of the oldest entry already shown.
pub async fn audit(filter: &AuditFilter, before: Option<i64>) -> ApiResult<Vec<AuditView>> {
    let page =
        before.map(|id| format!("&before={id}&limit={AUDIT_PER_PAGE}")).unwrap_or(format!("&limit={AUDIT_PER_PAGE}"));
    get(&format!("{}{page}", audit_url(filter, false))).await
}

/// Where the browser downloads the filtered log as CSV.
pub fn audit_csv_url(filter: &AuditFilter) -> String {
    audit_url(filter, true)
}

/// Whether the audit log's hash chain is whole.
pub async fn audit_intact() -> ApiResult<bool> {
    let verdict: serde_json::Value = get("/api/admin/audit/verify").await?;
    Ok(verdict["intact"].as_bool().unwrap_or(false))
}

pub async fn totp_enrol() -> ApiResult<TotpEnrolment> {
    post_json("/api/admin/totp/enrol", &()).await
}

pub async fn totp_confirm(code: String) -> ApiResult<RecoveryCodes> {
    post_json("/api/admin/totp/confirm", &TotpCode { code }).await
}

pub async fn totp_verify(code: String) -> ApiResult<()> {
    post_unit("/api/admin/totp/verify", &TotpCode { code }).await
}

fn employee_url(username: &str, rest: &str) -> String {
    format!("/api/admin/employees/{}{rest}", encode(username))
}

fn audit_url(f: &AuditFilter, csv: bool) -> String {
    format!(
        "/api/admin/audit?actor={}&action={}&target={}&result={}&since={}{}{}",
        encode(&f.actor),
        encode(&f.action),
        encode(&f.target),
        encode(&f.result),
        f.since,
        if f.failures_only { "&outcome=failure" } else { "" },
        if csv { "&format=csv" } else { "" }
    )
}
