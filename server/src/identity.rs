//! Names as keys. A logon name is compared case-insensitively everywhere (the directory does,
//! and a user types `Alice` as often as `alice`), so every row keyed by a name stores and looks
//! it up through [`LoginKey`]: one normalisation, whatever the store engine's collation.

use std::fmt;

/// A logon name normalised for use as a key: trimmed, Unicode lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginKey(String);

impl LoginKey {
    pub fn of(name: &str) -> LoginKey {
        LoginKey(name.trim().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_whatever_the_case_or_script() {
        assert_eq!(LoginKey::of(" Admin "), LoginKey::of("admin"));
        assert_eq!(LoginKey::of("ÄDMIN"), LoginKey::of("ädmin"));
        assert_eq!(LoginKey::of("ΝΊΚΟΣ"), LoginKey::of("Νίκος"));
        assert_ne!(LoginKey::of("alice"), LoginKey::of("alice2"));
    }
}
