//! The key registry's vocabulary, shared by the server, the app and the administration pages:
//! a key's status and the moves between statuses an administrator may make, why a key left
//! service, and the login types of accounts on keys. On the wire each is its snake_case name.

use serde::{Deserialize, Serialize};

/// A key's status in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Registered from the vendor's manifest, nobody's yet.
    Ready,
    /// Assigned; waiting for its owner to activate it.
    Reserved,
    Active,
    Locked,
    Suspended,
    /// Final: the key was wiped.
    Deactivated,
    /// Final: the key must never be trusted again.
    Compromised,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 7] = [
        KeyStatus::Ready,
        KeyStatus::Reserved,
        KeyStatus::Active,
        KeyStatus::Locked,
        KeyStatus::Suspended,
        KeyStatus::Deactivated,
        KeyStatus::Compromised,
    ];

    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Ready => "ready",
            KeyStatus::Reserved => "reserved",
            KeyStatus::Active => "active",
            KeyStatus::Locked => "locked",
            KeyStatus::Suspended => "suspended",
            KeyStatus::Deactivated => "deactivated",
            KeyStatus::Compromised => "compromised",
        }
    }

    pub fn parse(label: &str) -> Option<KeyStatus> {
        KeyStatus::ALL.into_iter().find(|s| s.label() == label)
    }

    /// The moves an administrator may make. Reserved → Active happens only by the owner's
    /// activation, Ready → Reserved only by assignment; Deactivated and Compromised are final.
    pub fn can_move_to(self, to: KeyStatus) -> bool {
        use KeyStatus::*;
        matches!(
            (self, to),
            (Ready, Deactivated)
                | (Reserved, Ready | Deactivated | Compromised)
                | (Active, Locked | Suspended | Deactivated | Compromised)
                | (Locked | Suspended, Active | Deactivated | Compromised)
                | (Locked, Suspended)
                | (Suspended, Locked)
        )
    }
}

/// Why a key left service: the reasons an administrator gives, and those the server records
/// itself (the sync, a key's own report, wrong activation codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StatusReason {
    Lost,
    Stolen,
    Broken,
    InvalidActivationCode,
    LockedByPin,
    Withdrawal,
    /// The sync found the owner gone from the employees' group.
    EmployeeLeftGroup,
    /// The sync found the owner disabled in the directory.
    EmployeeDisabled,
    /// The key said so itself when it connected.
    ReportedByKey,
}

impl StatusReason {
    pub const ALL: [StatusReason; 9] = [
        StatusReason::Lost,
        StatusReason::Stolen,
        StatusReason::Broken,
        StatusReason::InvalidActivationCode,
        StatusReason::LockedByPin,
        StatusReason::Withdrawal,
        StatusReason::EmployeeLeftGroup,
        StatusReason::EmployeeDisabled,
        StatusReason::ReportedByKey,
    ];

    /// The reasons an administrator may give; the others are the server's own records.
    pub const GIVEN_BY_ADMINISTRATORS: [StatusReason; 6] = [
        StatusReason::Lost,
        StatusReason::Stolen,
        StatusReason::Broken,
        StatusReason::InvalidActivationCode,
        StatusReason::LockedByPin,
        StatusReason::Withdrawal,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StatusReason::Lost => "lost",
            StatusReason::Stolen => "stolen",
            StatusReason::Broken => "broken",
            StatusReason::InvalidActivationCode => "invalid_activation_code",
            StatusReason::LockedByPin => "locked_by_pin",
            StatusReason::Withdrawal => "withdrawal",
            StatusReason::EmployeeLeftGroup => "employee_left_group",
            StatusReason::EmployeeDisabled => "employee_disabled",
            StatusReason::ReportedByKey => "reported_by_key",
        }
    }

    /// How people read it.
    pub fn describe(self) -> &'static str {
        match self {
            StatusReason::Lost => "lost",
            StatusReason::Stolen => "stolen",
            StatusReason::Broken => "broken",
            StatusReason::InvalidActivationCode => "wrong activation codes",
            StatusReason::LockedByPin => "locked by its PIN",
            StatusReason::Withdrawal => "withdrawn",
            StatusReason::EmployeeLeftGroup => "its owner left the employees' group",
            StatusReason::EmployeeDisabled => "its owner's account is disabled",
            StatusReason::ReportedByKey => "reported by the key",
        }
    }

    pub fn parse(label: &str) -> Option<StatusReason> {
        StatusReason::ALL.into_iter().find(|r| r.label() == label)
    }

    /// A reason an administrator may give, by its label.
    pub fn parse_given(label: &str) -> Option<StatusReason> {
        StatusReason::GIVEN_BY_ADMINISTRATORS.into_iter().find(|r| r.label() == label)
    }
}

/// How an account on a key signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoginType {
    /// A directory account (NetBIOS domain + logon name): its password is the directory's.
    Domain,
    /// An Entra ID account (the user's e-mail address), no password from the directory.
    Entra,
}

impl LoginType {
    pub fn parse(label: &str) -> Option<LoginType> {
        match label {
            "domain" => Some(LoginType::Domain),
            "entra" => Some(LoginType::Entra),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LoginType::Domain => "domain",
            LoginType::Entra => "entra",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_move_between_statuses_is_decided() {
        use KeyStatus::*;
        let allowed = [
            (Ready, Deactivated),
            (Reserved, Ready),
            (Reserved, Deactivated),
            (Reserved, Compromised),
            (Active, Locked),
            (Active, Suspended),
            (Active, Deactivated),
            (Active, Compromised),
            (Locked, Active),
            (Locked, Suspended),
            (Locked, Deactivated),
            (Locked, Compromised),
            (Suspended, Active),
            (Suspended, Locked),
            (Suspended, Deactivated),
            (Suspended, Compromised),
        ];
        for from in KeyStatus::ALL {
            for to in KeyStatus::ALL {
                assert_eq!(from.can_move_to(to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
        for final_status in [Deactivated, Compromised] {
            assert!(KeyStatus::ALL.iter().all(|to| !final_status.can_move_to(*to)), "{final_status:?} is final");
        }
    }

    #[test]
    fn labels_are_the_wire_names_and_parse_back() {
        for s in KeyStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.label());
            assert_eq!(KeyStatus::parse(s.label()), Some(s));
        }
        for r in StatusReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.label());
            assert_eq!(StatusReason::parse(r.label()), Some(r));
        }
        for l in [LoginType::Domain, LoginType::Entra] {
            assert_eq!(LoginType::parse(l.label()), Some(l));
        }
        assert_eq!(KeyStatus::parse("nonsense"), None);
    }
}
