//! The live checklist: the policy crate's verdict in the browser, completed by the server's
//! verdict (blocklist) when the server has seen the same candidate, plus the confirmation.
//! Before anything is typed every rule is untested: neither met nor failed.

use latchkey_policy::{Outcome, Report, Rule};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub code: &'static str,
    pub text: String,
    pub outcome: Outcome,
    /// Nothing typed yet: shown neutral (`outcome` is `Pending`).
    pub untested: bool,
}

/// `local` is the browser's report for the candidate; `server` the server's report when it
/// was computed for that same candidate; `typed` whether the candidate is not empty.
pub fn items(local: &Report, server: Option<&Report>, confirm_matches: Option<bool>, typed: bool) -> Vec<Item> {
    let mut items: Vec<Item> = local
        .rules
        .iter()
        .map(|r| {
            if !typed {
                return Item { code: r.rule.code(), text: r.rule.message(), outcome: Outcome::Pending, untested: true };
            }
            let outcome = match (r.outcome, server) {
                (Outcome::Pending, Some(server)) => server
                    .rules
                    .iter()
                    .find(|s| s.rule.code() == r.rule.code())
                    .map(|s| s.outcome)
                    .unwrap_or(Outcome::Pending),
                (outcome, _) => outcome,
            };
            let text = match (&r.rule, outcome) {
                (Rule::NotBlocklisted, Outcome::Pending) => format!("{} (checking…)", r.rule.message()),
                _ => r.rule.message(),
            };
            Item { code: r.rule.code(), text, outcome, untested: false }
        })
        .collect();
    if let Some(matches) = confirm_matches {
        let outcome = if matches { Outcome::Passed } else { Outcome::Failed };
        items.push(Item { code: "confirmation", text: "Both entries match".into(), outcome, untested: false });
    }
    items
}

/// Submitting makes sense once something is typed and nothing has failed (the server decides
/// what is still pending).
pub fn ready_to_submit(items: &[Item]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.outcome != Outcome::Failed && !i.untested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_policy::{check, Account, Blocklist, NoBlocklist, Policy};

    struct Server(bool);
    impl Blocklist for Server {
        fn contains(&self, _: &str) -> Option<bool> {
            Some(self.0)
        }
    }

    fn policy() -> Policy {
        Policy { complexity: true, mode: latchkey_policy::Mode::ActiveDirectory, min_length: 10, ..Policy::nist() }
    }

    #[test]
    fn blocklist_stays_pending_until_the_server_answers() {
        let local = check("Tr4vel-Lantern", None, &policy(), &Account::default(), &NoBlocklist);
        let list = items(&local, None, Some(true), true);
        let blocklist = list.iter().find(|i| i.code == "not_blocklisted").unwrap();
        assert_eq!(blocklist.outcome, Outcome::Pending);
        assert!(blocklist.text.ends_with("(checking…)"));
        assert!(ready_to_submit(&list));

        let server = check("Tr4vel-Lantern", None, &policy(), &Account::default(), &Server(true));
        let list = items(&local, Some(&server), Some(true), true);
        assert_eq!(list.iter().find(|i| i.code == "not_blocklisted").unwrap().outcome, Outcome::Failed);
        assert!(!ready_to_submit(&list));
    }

    #[test]
    fn nothing_typed_is_neither_met_nor_failed() {
        let local = check("", None, &policy(), &Account::default(), &NoBlocklist);
        // Even a server's earlier verdict (for another candidate) says nothing of an empty field.
        let server = check("", None, &policy(), &Account::default(), &Server(false));
        let list = items(&local, Some(&server), None, false);
        assert!(!list.is_empty());
        assert!(list.iter().all(|i| i.untested && i.outcome == Outcome::Pending), "{list:?}");
        assert!(list.iter().all(|i| !i.text.contains("checking")), "{list:?}");
        assert!(!ready_to_submit(&list));
    }

    #[test]
    fn confirmation_mismatch_blocks_submit() {
        let local = check("Tr4vel-Lantern", None, &policy(), &Account::default(), &NoBlocklist);
        let list = items(&local, None, Some(false), true);
        assert_eq!(list.last().unwrap().code, "confirmation");
        assert!(!ready_to_submit(&list));
    }
}
