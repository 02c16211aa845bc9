//! The server's half of password checking: the blocklist (zxcvbn's list of common passwords
//! plus the organization's own words) and zxcvbn's strength estimate. Both carry large lists,
//! so they stay here rather than in the SPA.

use std::collections::HashSet;
use std::path::Path;

use hmac::Mac;
use latchkey_api::{ErrorKind, Strength};
use latchkey_policy::{Account, Blocklist, Policy};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};
use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};

use crate::secrets::keyed_mac;

pub struct PasswordChecker {
    extra: HashSet<String>,
    /// Keys the digests that tie a verdict reached ahead to its candidate: kept in memory only,
    /// they tell nothing of the password.
    screen_key: Zeroizing<[u8; 32]>,
}

impl PasswordChecker {
    pub fn new(blocklist_file: Option<&Path>) -> anyhow::Result<Self> {
        let extra = match blocklist_file {
            None => HashSet::new(),
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the blocklist {}: {e}", path.display()))?
                .lines()
                .map(|l| l.trim().to_lowercase())
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect(),
        };
        let mut screen_key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(screen_key.as_mut());
        Ok(PasswordChecker { extra, screen_key })
    }

    /// The policy's verdict on a new password, the blocklist included: every failed rule in
    /// the error.
    pub fn require(
        &self,
        candidate: &str,
        current: Option<&str>,
        policy: &Policy,
        account: &Account,
    ) -> Result<(), ErrorKind> {
        self.require_screened(candidate, current, policy, account, None)
    }

    /// As [`PasswordChecker::require`], taking the blocklist's verdict from `screened` when it
    /// is the verdict on this candidate.
    pub fn require_screened(
        &self,
        candidate: &str,
        current: Option<&str>,
        policy: &Policy,
        account: &Account,
        screened: Option<&Screened>,
    ) -> Result<(), ErrorKind> {
        let blocklist = ScreenedFirst { checker: self, screened };
        let report = latchkey_policy::check(candidate, current, policy, account, &blocklist);
        if report.failures().next().is_some() {
            return Err(ErrorKind::PolicyViolation { report });
        }
        Ok(())
    }

    /// The blocklist's verdict on `candidate`, to be reached ahead: zxcvbn's search takes
    /// milliseconds, which a blocking thread can spend while the directory is read.
    pub fn screen(&self, candidate: &str) -> Screened {
        Screened { digest: self.digest(candidate), blocked: self.contains(candidate) }
    }

    fn digest(&self, candidate: &str) -> [u8; 32] {
        let mut mac = keyed_mac(&self.screen_key, b"latchkey-screened-v1");
        mac.update(candidate.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn strength(&self, candidate: &str, user_inputs: &[&str]) -> Strength {
        if candidate.is_empty() {
            return Strength { score: 0, guesses_log10: 0.0, warning: None, suggestions: vec![] };
        }
        let entropy = zxcvbn::zxcvbn(candidate, user_inputs);
        let feedback = entropy.feedback();
        Strength {
            score: u8::from(entropy.score()),
            guesses_log10: entropy.guesses_log10(),
            warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
            suggestions: feedback.map(|f| f.suggestions().iter().map(|s| s.to_string()).collect()).unwrap_or_default(),
        }
    }
}

impl Blocklist for PasswordChecker {
    fn contains(&self, candidate: &str) -> Option<bool> {
        let lowered = candidate.to_lowercase();
        if self.extra.iter().any(|word| lowered.contains(word.as_str())) {
            return Some(true);
        }
        // A common password, also capitalized, reversed or in l33t, and also with the usual
        // decorations (digits and symbols before or after) is blocked.
        let core = candidate.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
        Some(is_common_password(candidate) || (!core.is_empty() && is_common_password(core)))
    }
}

/// The blocklist's verdict on one candidate, known by a keyed digest (no copy of it is kept).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Screened {
    digest: [u8; 32],
    blocked: Option<bool>,
}

/// The verdict reached ahead when it is this candidate's, else the search.
struct ScreenedFirst<'a> {
    checker: &'a PasswordChecker,
    screened: Option<&'a Screened>,
}

impl Blocklist for ScreenedFirst<'_> {
    fn contains(&self, candidate: &str) -> Option<bool> {
        match self.screened {
            Some(s) if *Zeroizing::new(self.checker.digest(candidate)) == s.digest => s.blocked,
            _ => self.checker.contains(candidate),
        }
    }
}

/// Whether zxcvbn finds `word`, whole, in its list of common passwords.
fn is_common_password(word: &str) -> bool {
    let entropy = zxcvbn::zxcvbn(word, &[]);
    let last = word.chars().count().saturating_sub(1);
    // zxcvbn does not export its dictionary type; its default is the passwords list.
    let passwords = DictionaryPattern::default().dictionary_name;
    entropy.sequence().iter().any(|m| {
        m.i == 0 && m.j == last && matches!(&m.pattern, MatchPattern::Dictionary(d) if d.dictionary_name == passwords)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_common_passwords_in_their_usual_disguises() {
        let checker = PasswordChecker::new(None).unwrap();
        for common in ["password", "Password", "P@ssw0rd", "qwerty123", "drowssap", "Password123!", "!!Monkey2026"] {
            assert_eq!(checker.contains(common), Some(true), "{common}");
        }
        for fine in ["Tr4vel-Lantern-Orbit", "correct horse battery staple"] {
            assert_eq!(checker.contains(fine), Some(false), "{fine}");
        }
    }

    #[test]
    fn blocks_the_organizations_words() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("words");
        std::fs::write(&file, "# ours\nAcmeCorp\n\n").unwrap();
        let checker = PasswordChecker::new(Some(&file)).unwrap();
        assert_eq!(checker.contains("I-love-acmecorp-2026"), Some(true));
        assert_eq!(checker.contains("Tr4vel-Lantern-Orbit"), Some(false));
    }

    #[test]
    fn a_verdict_screened_ahead_serves_its_own_candidate_only() {
        let checker = PasswordChecker::new(None).unwrap();
        let (policy, account) = (latchkey_policy::Policy::nist(), Account::default());
        let refused = |candidate: &str, screened: &Screened| {
            checker.require_screened(candidate, None, &policy, &account, Some(screened)).is_err()
        };
        // A common password screened ahead is refused; so is one screened as another candidate.
        assert!(refused("Password123!", &checker.screen("Password123!")));
        assert!(refused("Password123!", &checker.screen("Tr4vel-Lantern-Orbit")));
        // Positive control: an uncommon password passes with its own verdict.
        assert!(!refused("Tr4vel-Lantern-Orbit", &checker.screen("Tr4vel-Lantern-Orbit")));
    }

    #[test]
    fn strength_rises_with_unpredictability() {
        let checker = PasswordChecker::new(None).unwrap();
        let weak = checker.strength("password1", &[]);
        let strong = checker.strength("Tr4vel-Lantern-Orbit-Quay", &[]);
        assert!(weak.score <= 1 && strong.score >= 3, "{weak:?} {strong:?}");
        assert!(weak.warning.is_some());
    }
}
