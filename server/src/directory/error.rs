//! What the directory answered, as typed errors. A failed bind or modify comes back from ldap3
//! as an `LdapResult` with a non-zero `rc`; the reason hides in its text ("data 52e",
//! "0000052D: ...").

use ldap3::LdapResult;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("wrong logon name or password")]
    InvalidCredentials,
    /// The password was right but must be changed before use (pwdLastSet = 0).
    #[error("password must be changed")]
    MustChange,
    #[error("password expired")]
    Expired,
    #[error("account disabled")]
    Disabled,
    #[error("account expired")]
    AccountExpired,
    #[error("account locked out")]
    LockedOut,
    #[error("wrong current password")]
    WrongCurrentPassword,
    /// Too young, too short, not complex or in history: the DC says which only in English prose.
    #[error("password refused by the domain policy")]
    PolicyRefused,
    #[error("the user may not change the password")]
    NotPermitted,
    #[error("directory unreachable: {0}")]
    Unavailable(String),
    /// Latchkey's own configuration or rights are wrong; logged, shown to users as unavailable.
    #[error("directory misconfigured: {0}")]
    Misconfigured(String),
    #[error("unexpected directory answer: rc {rc}: {text}")]
    Unexpected { rc: u32, text: String },
}

impl From<ldap3::LdapError> for DirectoryError {
    fn from(e: ldap3::LdapError) -> Self {
        DirectoryError::Unavailable(e.to_string())
    }
}

const INVALID_CREDENTIALS: u32 = 49;
const CONSTRAINT_VIOLATION: u32 = 19;
const INSUFFICIENT_ACCESS: u32 = 50;

/// A simple bind's answer.
pub fn from_bind(result: &LdapResult) -> Result<(), DirectoryError> {
    match result.rc {
        0 => Ok(()),
        INVALID_CREDENTIALS => Err(match bind_data_code(&result.text).as_deref() {
            Some("773") => DirectoryError::MustChange,
            Some("532") => DirectoryError::Expired,
            Some("533") => DirectoryError::Disabled,
            Some("701") => DirectoryError::AccountExpired,
            Some("775") => DirectoryError::LockedOut,
            _ => DirectoryError::InvalidCredentials,
        }),
        rc => Err(DirectoryError::Unexpected { rc, text: result.text.clone() }),
    }
}

/// A password change's (delete old + add new) answer.
pub fn from_change(result: &LdapResult) -> Result<(), DirectoryError> {
    let text = result.text.as_str();
    match result.rc {
        0 => Ok(()),
        CONSTRAINT_VIOLATION if text.starts_with("00000056") => Err(DirectoryError::WrongCurrentPassword),
        CONSTRAINT_VIOLATION if text.starts_with("0000052D") => Err(DirectoryError::PolicyRefused),
        CONSTRAINT_VIOLATION if text.starts_with("00000775") => Err(DirectoryError::LockedOut),
        CONSTRAINT_VIOLATION if text.contains("error in module acl") => Err(DirectoryError::NotPermitted),
        INSUFFICIENT_ACCESS => Err(DirectoryError::NotPermitted),
        rc => Err(DirectoryError::Unexpected { rc, text: text.to_string() }),
    }
}

/// "... AcceptSecurityContext error, data 52e, v1db1" → "52e".
fn bind_data_code(text: &str) -> Option<String> {
    let rest = &text[text.find("data ")? + 5..];
    let code: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (!code.is_empty()).then(|| code.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult { rc, matched: String::new(), text: text.into(), refs: vec![], ctrls: vec![] }
    }

    #[test]
    fn maps_bind_answers() {
        let t = |code: &str| {
            format!("80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data {code}, v893")
        };
        assert_eq!(from_bind(&result(0, "")), Ok(()));
        assert_eq!(from_bind(&result(49, &t("52e"))), Err(DirectoryError::InvalidCredentials));
        assert_eq!(from_bind(&result(49, &t("773"))), Err(DirectoryError::MustChange));
        assert_eq!(from_bind(&result(49, &t("532"))), Err(DirectoryError::Expired));
        assert_eq!(from_bind(&result(49, &t("533"))), Err(DirectoryError::Disabled));
        assert_eq!(from_bind(&result(49, &t("701"))), Err(DirectoryError::AccountExpired));
        assert_eq!(from_bind(&result(49, &t("775"))), Err(DirectoryError::LockedOut));
        assert_eq!(from_bind(&result(49, "no data here")), Err(DirectoryError::InvalidCredentials));
        assert!(matches!(from_bind(&result(8, "x")), Err(DirectoryError::Unexpected { rc: 8, .. })));
    }

    #[test]
    fn maps_change_answers() {
        assert_eq!(from_change(&result(19, "00000056: AtrErr")), Err(DirectoryError::WrongCurrentPassword));
        assert_eq!(from_change(&result(19, "0000052D: Constraint violation")), Err(DirectoryError::PolicyRefused));
        assert_eq!(from_change(&result(19, "00000775: locked")), Err(DirectoryError::LockedOut));
        assert_eq!(
            from_change(&result(19, "error in module acl: insufficient access rights")),
            Err(DirectoryError::NotPermitted)
        );
        assert_eq!(from_change(&result(50, "")), Err(DirectoryError::NotPermitted));
    }
}
