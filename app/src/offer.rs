//! What the page's one change form offers: where a change may go, which of those it goes to
//! unless the user chose, and which of the key's accounts a key operation acts on. Plain logic,
//! tested on the host; the form follows it.

use latchkey_api::relay::KeyAccount;

/// The form's destinations. The key's only when a key is connected and holds accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The directory: current, new and confirmation.
    Directory,
    /// The directory and the key at once; the key supplies the current password.
    Everywhere,
    /// The key only (storing the current password there first, when it has none yet).
    KeyOnly,
}

impl Target {
    /// The radio button's id.
    pub fn id(self) -> &'static str {
        match self {
            Target::Directory => "target-directory",
            Target::Everywhere => "target-everywhere",
            Target::KeyOnly => "target-key",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Target::Directory => "Directory only",
            Target::Everywhere => "Directory and key",
            Target::KeyOnly => "Key only",
        }
    }
}

/// The account on the key that holds the directory's password (a key holds its owner's own
/// accounts only).
pub fn directory_account(accounts: &[KeyAccount]) -> Option<&KeyAccount> {
    accounts.iter().find(|a| a.directory_managed)
}

/// Where a change may go: the directory when the directory lets this user change it; both
/// when the key also holds the directory's current password (it supplies it); the key alone
/// whenever a connected key holds accounts (`accounts` is empty without one).
pub fn targets(may_change: bool, accounts: &[KeyAccount]) -> Vec<Target> {
    let stored = directory_account(accounts).is_some_and(|a| a.has_password);
    let mut targets = Vec::new();
    if may_change {
        targets.push(Target::Directory);
    }
    if may_change && stored {
        targets.push(Target::Everywhere);
    }
    if !accounts.is_empty() {
        targets.push(Target::KeyOnly);
    }
    targets
}

/// The user's choice while it is offered; otherwise what a connected key is for — changing
/// both, or first storing the current password on it — else whatever is offered.
pub fn target(chosen: Option<Target>, offered: &[Target], accounts: &[KeyAccount]) -> Option<Target> {
    let onboarding = directory_account(accounts).is_some_and(|a| !a.has_password);
    let usual = if onboarding { Target::KeyOnly } else { Target::Everywhere };
    chosen.into_iter().chain([usual]).chain(offered.first().copied()).find(|t| offered.contains(t))
}

/// The account a key operation acts on: the directory's own for a change of both; for the key
/// alone the one picked, else the directory's, else the first.
pub fn account(target: Option<Target>, accounts: &[KeyAccount], picked: Option<u16>) -> Option<KeyAccount> {
    let picked = picked.and_then(|id| accounts.iter().find(|a| a.id == id));
    match target {
        Some(Target::Everywhere) => directory_account(accounts),
        Some(Target::KeyOnly) => picked.or_else(|| directory_account(accounts)).or_else(|| accounts.first()),
        _ => None,
    }
    .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Target::*;

    fn account(id: u16, directory_managed: bool, has_password: bool) -> KeyAccount {
        KeyAccount { id, name: format!("account {id}"), login: "EXAMPLE\\nora".into(), directory_managed, has_password }
    }

    #[test]
    fn without_a_key_only_the_directory() {
        assert_eq!(targets(true, &[]), vec![Directory]);
        assert_eq!(target(None, &[Directory], &[]), Some(Directory));
        assert_eq!(target(Some(Everywhere), &[Directory], &[]), Some(Directory), "a choice no longer offered");
        assert_eq!(targets(false, &[]), vec![], "no form at all");
        assert_eq!(target(None, &[], &[]), None);
    }

    #[test]
    fn a_key_without_the_password_offers_to_store_it_first() {
        let accounts = [account(1, true, false)];
        let offered = targets(true, &accounts);
        assert_eq!(offered, vec![Directory, KeyOnly], "nothing on the key to change both with");
        assert_eq!(target(None, &offered, &accounts), Some(KeyOnly));
        assert_eq!(target(Some(Directory), &offered, &accounts), Some(Directory), "the user's choice stands");
    }

    #[test]
    fn a_key_holding_the_password_changes_both_unless_told_otherwise() {
        let accounts = [account(1, true, true)];
        let offered = targets(true, &accounts);
        assert_eq!(offered, vec![Directory, Everywhere, KeyOnly]);
        assert_eq!(target(None, &offered, &accounts), Some(Everywhere));
        assert_eq!(target(Some(KeyOnly), &offered, &accounts), Some(KeyOnly));
        // Not allowed to change it in the directory: the key alone.
        assert_eq!(targets(false, &accounts), vec![KeyOnly]);
        assert_eq!(target(None, &[KeyOnly], &accounts), Some(KeyOnly));
    }

    #[test]
    fn key_operations_act_on_the_right_account() {
        let accounts = [account(4, false, true), account(7, true, true)];
        assert_eq!(account_of(Some(Everywhere), &accounts, Some(4)), Some(7), "both: the directory's own");
        assert_eq!(account_of(Some(KeyOnly), &accounts, None), Some(7));
        assert_eq!(account_of(Some(KeyOnly), &accounts, Some(4)), Some(4), "the key alone: the one picked");
        assert_eq!(account_of(Some(KeyOnly), &accounts, Some(9)), Some(7), "a pick that is gone");
        assert_eq!(account_of(Some(Directory), &accounts, Some(4)), None);
        let others = [account(2, false, false)];
        assert_eq!(account_of(Some(KeyOnly), &others, None), Some(2));
    }

    fn account_of(target: Option<Target>, accounts: &[KeyAccount], picked: Option<u16>) -> Option<u16> {
        super::account(target, accounts, picked).map(|a| a.id)
    }
}
