use serde::{Deserialize, Serialize};

/// Which family of rules applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Active Directory: minimum length, and the complexity rules when the domain enables them.
    ActiveDirectory,
    /// NIST SP 800-63B-4: length and a blocklist, no composition rules.
    Nist,
}

/// The effective password policy for one account (domain policy, or the fine-grained
/// password settings object that applies to the account).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    pub mode: Mode,
    pub min_length: u32,
    /// AD "password must meet complexity requirements".
    pub complexity: bool,
    /// How many previous passwords the directory remembers (checked by the directory itself).
    pub history_length: u32,
    /// Minimum age in seconds (0: may change at once).
    pub min_age_secs: u64,
    /// Maximum age in seconds (`None`: never expires).
    pub max_age_secs: Option<u64>,
    /// Wrong passwords before lockout (0: never locks).
    pub lockout_threshold: u32,
}

impl Policy {
    /// NIST SP 800-63B-4 with its recommended minimum for a single-factor password.
    pub fn nist() -> Self {
        Policy {
            mode: Mode::Nist,
            min_length: 15,
            complexity: false,
            history_length: 0,
            min_age_secs: 0,
            max_age_secs: None,
            lockout_threshold: 0,
        }
    }
}

/// What the policy needs to know about the account whose password is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub sam_account_name: String,
    pub display_name: String,
}
