//! The administration API's JSON types (`/api/admin/*`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncReport {
    pub added: u32,
    pub updated: u32,
    pub removed: u32,
    pub unchanged: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmployeeSummary {
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    /// No longer in the administered group.
    pub removed: bool,
    pub keys: u32,
}

/// `GET /api/admin/employees?q=&state=&after=&before=&limit=`: one page, the number of all
/// matching employees, and the cursors of the pages either side (absent at either end). A
/// cursor is opaque: pass it back as `after` (next) or `before` (previous).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmployeePage {
    pub employees: Vec<EmployeeSummary>,
    pub total: u64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// What the directory says of an employee now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryFacts {
    pub password_last_set: Option<i64>,
    pub expires_at: Option<i64>,
    pub locked_out: bool,
    pub may_change: bool,
    pub must_change: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    pub serial: String,
    pub status: crate::registry::KeyStatus,
    pub status_reason: Option<crate::registry::StatusReason>,
    pub employee: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountView {
    pub key: String,
    pub slot: u16,
    pub name: String,
    pub login_type: String,
    pub login: String,
    pub pending_delivery: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    /// Where the entry sits in the log, for the next page (`before`); absent where a view
    /// shows entries without paging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub client_addr: Option<String>,
}

/// `GET /api/admin/audit/verify`: whether the log's hash chain is whole, and where it breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerdict {
    pub intact: bool,
    /// The first entry whose link does not follow from the one before.
    pub first_broken_id: Option<i64>,
    /// The checkpointed head of the chain is gone: entries were cut off the end.
    pub truncated: bool,
}

/// `GET /api/admin/employees/{username}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmployeeDetail {
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub removed: bool,
    /// `None` when the directory cannot be asked right now.
    pub directory: Option<DirectoryFacts>,
    pub keys: Vec<KeyView>,
    pub accounts: Vec<AccountView>,
    /// What was done as or to the employee, newest first.
    pub audit: Vec<AuditView>,
    /// What happened to their keys: status changes and why, deliveries queued and taken.
    pub key_history: Vec<AuditView>,
    /// Passwords sealed to a key and waiting for it to connect.
    pub waiting_deliveries: Vec<DeliveryView>,
    /// An authenticator app is enrolled (an administrator may reset it).
    #[serde(default)]
    pub totp_enrolled: bool,
    /// The password was reset without the key and the organisation wants that looked at.
    #[serde(default)]
    pub review_requested_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub key: String,
    pub slot: u16,
    /// When it was queued (Unix seconds).
    pub queued_at: i64,
}

/// `POST /api/admin/keys`: one key from the vendor's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterKey {
    pub serial: String,
    /// 64 hex digits.
    pub public_key: String,
    pub activation_code: String,
}

/// `POST /api/admin/keys/manifest` (CSV: serial,public_key,activation_code per line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestReport {
    pub registered: u32,
    /// "line N: why", for every line not registered.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignKey {
    pub username: String,
}

/// The activation code, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignedKey {
    pub activation_code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyStatusChange {
    pub status: String,
    pub reason: Option<String>,
}

/// `POST /api/admin/employees/{username}/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccount {
    pub name: String,
    /// `domain` (NetBIOS domain + logon name) or `entra` (the UPN).
    pub login_type: String,
    /// The domain for a domain account; ignored for Entra.
    #[serde(default)]
    pub domain: String,
    /// The UPN for an Entra account; the employee's logon name for a domain account.
    #[serde(default)]
    pub login: Option<String>,
}

/// `POST /api/admin/employees/{username}/flags`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagsChange {
    pub must_change: Option<bool>,
    /// "User may not change password" cleared (`true`) or set (`false`).
    #[serde(default)]
    pub may_change: Option<bool>,
}

/// `POST /api/admin/local/{username}/flags`: a portal-local account's flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocalFlags {
    pub may_change: Option<bool>,
    pub must_change: Option<bool>,
}

/// `GET /api/admin/dashboard`: the numbers an administrator starts the day with. Each names the
/// list it counts (the employee list's `state`, the key list's `status`, the audit's filter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    /// When these numbers were counted (Unix seconds).
    pub now: i64,
    pub employees: EmployeeCounts,
    /// Keys by status, every status listed.
    pub keys: Vec<KeyCount>,
    /// Passwords sealed to a key that has not connected for more than a day.
    pub deliveries_waiting_over_a_day: u64,
    /// Refused sign-ins (password or key) in the last 24 hours.
    pub failed_sign_ins_24h: u64,
    /// Accounts refused as locked out in the last 24 hours.
    pub locked_out_24h: u64,
    /// The last employee sync, scheduled or by hand.
    pub last_sync: Option<AuditView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmployeeCounts {
    pub active: u64,
    pub disabled: u64,
    pub removed: u64,
    pub without_key: u64,
    /// Password expiries as of the last sync.
    pub expired: u64,
    pub expiring_7: u64,
    pub expiring_30: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyCount {
    pub status: crate::registry::KeyStatus,
    pub count: u64,
}

/// `GET /api/admin/mail`: whether mail is set up, the reminder job's last run, and the latest
/// messages with what became of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailOverview {
    pub configured: bool,
    pub last_reminder_run: Option<JobRunView>,
    /// Messages not sent yet that failed at least once, or were given up on.
    pub failing: u64,
    /// Newest first.
    pub messages: Vec<MailView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRunView {
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// What the run did, in a sentence.
    pub summary: String,
}

/// One message of the outbox (never its body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailView {
    pub id: i64,
    /// `reminder`, `notice` or `test`.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub queued_at: i64,
    pub sent_at: Option<i64>,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When it is tried again; `None` once sent or given up.
    pub next_attempt_at: Option<i64>,
    pub gave_up: bool,
}

/// `POST /api/admin/mail/reminders`: a reminder run started by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReminderRun {
    /// Reminders queued by this run.
    pub queued: u32,
    /// Employees within the reminder window already reminded today, or not to be reminded
    /// (disabled, no mail address, may not change).
    pub skipped: u32,
    /// False when another replica was running the job: this one did nothing.
    pub ran: bool,
}

/// `GET /api/admin/directory-check` and `latchkey-server doctor`: what the portal needs of the
/// directory, each with pass or fail and the fix. Nothing is changed by looking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryCheck {
    pub checks: Vec<CheckResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub name: String,
    pub outcome: CheckOutcome,
    /// What was found.
    pub detail: String,
    /// What to do, when it did not pass.
    pub fix: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Pass,
    /// Works today, needs attention soon (a certificate or password close to expiry).
    Warn,
    Fail,
}
