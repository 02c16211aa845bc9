//! The administration API's JSON types (`/api/admin/*`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub added: u32,
    pub updated: u32,
    pub removed: u32,
    pub unchanged: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeSummary {
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    /// No longer in the administered group.
    pub removed: bool,
    pub keys: u32,
}

/// `GET /api/admin/employees?q=&offset=&limit=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeePage {
    pub employees: Vec<EmployeeSummary>,
    pub total: u64,
    pub offset: u64,
}

/// What the directory says of an employee now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryFacts {
    pub password_last_set: Option<i64>,
    pub expires_at: Option<i64>,
    pub locked_out: bool,
    pub may_change: bool,
    pub must_change: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub serial: String,
    pub status: crate::registry::KeyStatus,
    pub status_reason: Option<crate::registry::StatusReason>,
    pub employee: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub key: String,
    pub slot: u16,
    pub name: String,
    pub login_type: String,
    pub login: String,
    pub pending_delivery: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub client_addr: Option<String>,
}

/// `GET /api/admin/employees/{username}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeDetail {
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub removed: bool,
    /// `None` when the directory cannot be asked right now.
    pub directory: Option<DirectoryFacts>,
    pub keys: Vec<KeyView>,
    pub accounts: Vec<AccountView>,
    pub audit: Vec<AuditView>,
}

/// `POST /api/admin/keys`: one key from the vendor's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterKey {
    pub serial: String,
    /// 64 hex digits.
    pub public_key: String,
    pub activation_code: String,
}

/// `POST /api/admin/keys/manifest` (CSV: serial,public_key,activation_code per line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestReport {
    pub registered: u32,
    /// "line N: why", for every line not registered.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignKey {
    pub username: String,
}

/// The activation code, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedKey {
    pub activation_code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatusChange {
    pub status: String,
    pub reason: Option<String>,
}

/// `POST /api/admin/employees/{username}/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct FlagsChange {
    pub must_change: Option<bool>,
    /// "User may not change password" cleared (`true`) or set (`false`).
    #[serde(default)]
    pub may_change: Option<bool>,
}

/// `POST /api/admin/local/{username}/flags`: a portal-local account's flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalFlags {
    pub may_change: Option<bool>,
    pub must_change: Option<bool>,
}
