//! "Generate for me": a password made on the server to the account's full policy, handed
//! straight to the key and the directory. Nobody ever sees it.

use latchkey_api::{ErrorKind, Password};

use crate::strength::PasswordChecker;
use latchkey_policy::{Account, Blocklist, Policy};
use rand::seq::IndexedRandom;
use rand::Rng;

/// Long enough that guessing is hopeless whatever the policy asks for.
const GENERATED_LENGTH: usize = 24;
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#$%&*+-=?@^_~";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no password satisfying the policy could be generated")]
pub struct CannotGenerate;

/// The new password of a change or reset: the one typed, if the policy accepts it, or one
/// generated to the policy (`typed` is `None`).
pub fn typed_or_generated(
    typed: Option<Password>,
    policy: &Policy,
    account: &Account,
    checker: &PasswordChecker,
) -> Result<Password, ErrorKind> {
    match typed {
        Some(p) => checker.require(p.expose(), None, policy, account).map(|()| p),
        None => generate(policy, account, None, checker, &mut rand::rng()).map_err(|_| ErrorKind::Internal),
    }
}

/// A random password from all four character classes that passes every rule of `policy` for
/// `account` (and differs from `current`).
pub fn generate(
    policy: &Policy,
    account: &Account,
    current: Option<&str>,
    blocklist: &dyn Blocklist,
    rng: &mut impl Rng,
) -> Result<Password, CannotGenerate> {
    let length = GENERATED_LENGTH.max(policy.min_length as usize).min(latchkey_protocol::message::MAX_PASSWORD_CHARS);
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    for _ in 0..64 {
        // One of each class, the rest from all of them, then shuffled.
        let mut chars: Vec<u8> =
            [LOWER, UPPER, DIGITS, SYMBOLS].iter().filter_map(|class| class.choose(rng).copied()).collect();
        chars.extend((4..length).filter_map(|_| all.choose(rng).copied()));
        rand::seq::SliceRandom::shuffle(chars.as_mut_slice(), rng);
        let candidate = Password::new(String::from_utf8(chars).map_err(|_| CannotGenerate)?);
        let report = latchkey_policy::check(candidate.expose(), current, policy, account, blocklist);
        if report.failures().next().is_none() {
            return Ok(candidate);
        }
    }
    Err(CannotGenerate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_policy::{Mode, NoBlocklist};

    fn policy(min_length: u32) -> Policy {
        Policy {
            mode: Mode::ActiveDirectory,
            min_length,
            complexity: true,
            history_length: 5,
            min_age_secs: 0,
            max_age_secs: None,
            lockout_threshold: 5,
        }
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let account = Account { sam_account_name: "abc".into(), display_name: "Ann Bee".into() };
        let mut rng = rand::rng();
        let a = generate(&policy(10), &account, None, &NoBlocklist, &mut rng).unwrap();
        let b = generate(&policy(10), &account, Some(a.expose()), &NoBlocklist, &mut rng).unwrap();
        assert_eq!(a.expose().chars().count(), 24);
        assert_ne!(a, b);
        for p in [&a, &b] {
            let report = latchkey_policy::check(p.expose(), None, &policy(10), &account, &NoBlocklist);
            assert!(report.failures().next().is_none(), "{report:?}");
        }
    }

    #[test]
    fn a_longer_minimum_is_honoured() {
        let p = generate(&policy(40), &Account::default(), None, &NoBlocklist, &mut rand::rng()).unwrap();
        assert_eq!(p.expose().len(), 40);
    }
}
