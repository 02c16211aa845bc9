use serde::{Deserialize, Serialize};

use crate::{Account, Category, CategorySet, Mode, Outcome, Policy, Report, RuleResult};

/// Longest password the directory accepts (unicodePwd holds at most 256 characters).
pub const MAX_LENGTH: u32 = 256;

/// Categories Active Directory's complexity rule requires out of five.
const REQUIRED_CATEGORIES: u32 = 3;

/// Shortest account name or name token that the complexity rule looks for.
const MIN_NAME_PART: usize = 3;

/// Characters that split a display name into tokens, as Active Directory does.
const NAME_DELIMITERS: [char; 7] = [',', '.', '-', '_', '#', ' ', '\t'];

/// Known-bad passwords. The lists are large, so they live on the server; the browser passes
/// [`NoBlocklist`] and the rule stays [`Outcome::Pending`] until the server has checked.
pub trait Blocklist {
    /// `None` when this side cannot tell.
    fn contains(&self, candidate: &str) -> Option<bool>;
}

pub struct NoBlocklist;

impl Blocklist for NoBlocklist {
    fn contains(&self, _: &str) -> Option<bool> {
        None
    }
}

/// One rule of the policy. Serialized externally tagged: the tag (`"not_blocklisted"`, or the
/// key of `{"min_length": {...}}`) is a stable code clients may rely on, and it decodes in the
/// browser without buffering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    MinLength {
        min: u32,
        actual: u32,
        /// Characters beyond the Basic Multilingual Plane (emoji, rare scripts): the directory
        /// counts each as two, and the checklist says so.
        #[serde(default)]
        counted_twice: u32,
    },
    MaxLength {
        max: u32,
        actual: u32,
    },
    Categories {
        required: u32,
        found: u32,
        missing: Vec<crate::Category>,
    },
    NoAccountName {
        account_name: String,
    },
    NoNameParts {
        found: Vec<String>,
    },
    NotBlocklisted,
    DiffersFromCurrent,
}

impl Rule {
    pub fn code(&self) -> &'static str {
        match self {
            Rule::MinLength { .. } => "min_length",
            Rule::MaxLength { .. } => "max_length",
            Rule::Categories { .. } => "categories",
            Rule::NoAccountName { .. } => "no_account_name",
            Rule::NoNameParts { .. } => "no_name_parts",
            Rule::NotBlocklisted => "not_blocklisted",
            Rule::DiffersFromCurrent => "differs_from_current",
        }
    }

    /// The rule as the user reads it in the checklist.
    pub fn message(&self) -> String {
        match self {
            Rule::MinLength { min, actual, counted_twice: 0 } => {
                format!("At least {min} characters ({actual} so far)")
            }
            Rule::MinLength { min, actual, counted_twice } => format!(
                "At least {min} characters ({actual} so far: the directory counts each emoji or rare character \
                 as two, {counted_twice} here)"
            ),
            Rule::MaxLength { max, actual } => format!("At most {max} characters ({actual} typed)"),
            Rule::Categories { required, found, missing } if found < required => {
                let missing: Vec<_> = missing.iter().map(|c| c.describe()).collect();
                format!(
                    "At least {required} of: uppercase, lowercase, digits, symbols, other letters \
                     ({found} so far; could add {})",
                    missing.join(", ")
                )
            }
            Rule::Categories { required, found, .. } => {
                format!("At least {required} of: uppercase, lowercase, digits, symbols, other letters ({found} used)")
            }
            Rule::NoAccountName { account_name } => {
                format!("Does not contain your logon name \"{account_name}\"")
            }
            Rule::NoNameParts { found } if found.is_empty() => "Does not contain parts of your name".to_string(),
            Rule::NoNameParts { found } => {
                format!("Does not contain parts of your name (found: {})", found.join(", "))
            }
            Rule::NotBlocklisted => "Is not a common or breached password".to_string(),
            Rule::DiffersFromCurrent => "Differs from the current password".to_string(),
        }
    }
}

/// Checks `candidate` against every rule of `policy` and reports each one: all failures, never
/// only the first. `current` is the password being replaced, when the caller knows it.
pub fn check(
    candidate: &str,
    current: Option<&str>,
    policy: &Policy,
    account: &Account,
    blocklist: &dyn Blocklist,
) -> Report {
    // What the directory counts: UTF-16 code units (unicodePwd holds at most 256; an emoji is 2).
    let length = u32::try_from(candidate.encode_utf16().count()).unwrap_or(u32::MAX);
    let folded = fold_case(candidate);
    let mut rules = Vec::new();
    let mut push = |rule, passed: bool| {
        let outcome = if passed { Outcome::Passed } else { Outcome::Failed };
        rules.push(RuleResult { rule, outcome });
    };

    let counted_twice = u32::try_from(candidate.chars().filter(|c| c.len_utf16() == 2).count()).unwrap_or(u32::MAX);
    push(Rule::MinLength { min: policy.min_length, actual: length, counted_twice }, length >= policy.min_length);
    if length > MAX_LENGTH {
        push(Rule::MaxLength { max: MAX_LENGTH, actual: length }, false);
    }

    let name = account.sam_account_name.trim();
    if name.chars().count() >= MIN_NAME_PART {
        let passed = !folded.contains(&fold_case(name));
        push(Rule::NoAccountName { account_name: name.to_string() }, passed);
    }

    if policy.mode == Mode::ActiveDirectory && policy.complexity {
        let found = name_parts_in(&folded, &account.display_name);
        let passed = found.is_empty();
        push(Rule::NoNameParts { found }, passed);

        // Windows's documented rule, and Samba's where it is stricter: a password either DC
        // would refuse is refused here.
        let windows = CategorySet::of(candidate);
        let (samba_count, samba_sure) = CategorySet::as_samba_counts(candidate);
        let found = windows.len().min(samba_count);
        let missing = Category::ALL.into_iter().filter(|c| !windows.contains(*c) || !samba_sure.contains(*c)).collect();
        push(Rule::Categories { required: REQUIRED_CATEGORIES, found, missing }, found >= REQUIRED_CATEGORIES);
    }

    if let Some(current) = current {
        push(Rule::DiffersFromCurrent, !current.is_empty() && candidate != current);
    }

    let blocked = if candidate.is_empty() { Some(false) } else { blocklist.contains(candidate) };
    let outcome = match blocked {
        Some(true) => Outcome::Failed,
        Some(false) => Outcome::Passed,
        None => Outcome::Pending,
    };
    rules.push(RuleResult { rule: Rule::NotBlocklisted, outcome });

    Report { rules }
}

/// The display-name tokens (3+ characters) that `folded_candidate` contains.
fn name_parts_in(folded_candidate: &str, display_name: &str) -> Vec<String> {
    display_name
        .split(NAME_DELIMITERS)
        .filter(|token| token.chars().count() >= MIN_NAME_PART)
        .filter(|token| folded_candidate.contains(&fold_case(token)))
        .map(str::to_string)
        .collect()
}

/// Text as Windows compares names without regard to case: each character mapped to its
/// simple uppercase (`ς` and `σ` both `Σ`, `ᾳ` is `ᾼ`); one with no simple uppercase (`ß`,
/// whose full uppercase is several characters) stays itself.
fn fold_case(text: &str) -> String {
    text.chars().map(simple_uppercase).collect()
}

/// The letters whose simple uppercase (UnicodeData.txt) is not their full one: Greek with
/// ypogegrammeni, whose full uppercase is two letters (`ᾳ` → `ΑΙ`) and whose simple one is the
/// titlecase letter with prosgegrammeni. The test derives this list from the character database
/// for every code point.
const SIMPLE_ONLY_UPPERCASE: [(char, char); 27] = {
    let mut pairs = [('\0', '\0'); 27];
    let mut i = 0;
    while i < 24 {
        // ᾀ..ᾇ, ᾐ..ᾗ, ᾠ..ᾧ: each block of eight is followed by its titlecase letters.
        let lower = 0x1F80 + (i / 8) * 16 + i % 8;
        pairs[i as usize] = (char_at(lower), char_at(lower + 8));
        i += 1;
    }
    pairs[24] = ('\u{1FB3}', '\u{1FBC}');
    pairs[25] = ('\u{1FC3}', '\u{1FCC}');
    pairs[26] = ('\u{1FF3}', '\u{1FFC}');
    pairs
};

const fn char_at(code: u32) -> char {
    match char::from_u32(code) {
        Some(c) => c,
        None => '\0',
    }
}

fn simple_uppercase(c: char) -> char {
    if let Some((_, upper)) = SIMPLE_ONLY_UPPERCASE.iter().find(|(lower, _)| *lower == c) {
        return *upper;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;

    fn ad(min_length: u32) -> Policy {
        Policy {
            mode: Mode::ActiveDirectory,
            min_length,
            complexity: true,
            history_length: 24,
            min_age_secs: 86_400,
            max_age_secs: Some(42 * 86_400),
            lockout_threshold: 5,
        }
    }

    fn account(sam: &str, display: &str) -> Account {
        Account { sam_account_name: sam.into(), display_name: display.into() }
    }

    #[test]
    fn an_empty_current_password_never_counts_as_differing() {
        let failed = |current| {
            let report = check("Quartz-Lantern-88", Some(current), &ad(8), &account("zoe", "Zoë"), &NoBlocklist);
            let failed = report.failures().any(|r| r.rule == Rule::DiffersFromCurrent);
            failed
        };
        assert!(failed(""), "nothing typed as the current password");
        assert!(failed("Quartz-Lantern-88"), "the same as the current");
        assert!(!failed("Old-Harbour-12"));
    }

    #[test]
    fn the_checklist_says_what_is_missing_and_what_was_found() {
        let short = Rule::Categories { required: 3, found: 2, missing: vec![Category::Digit] };
        assert!(short.message().contains("2 so far; could add"), "{}", short.message());
        let enough = Rule::Categories { required: 3, found: 3, missing: vec![] };
        assert!(enough.message().ends_with("(3 used)"), "{}", enough.message());
        let exact =
            Rule::Categories { required: 3, found: 3, missing: vec![Category::Digit, Category::OtherAlphabetic] };
        assert!(!exact.message().contains("could add"), "three found is enough: {}", exact.message());
        assert_eq!(Rule::NoNameParts { found: vec![] }.message(), "Does not contain parts of your name");
        let found = Rule::NoNameParts { found: vec!["zoë".into()] };
        assert_eq!(found.message(), "Does not contain parts of your name (found: zoë)");
    }

    fn failed_codes(report: &Report) -> Vec<&'static str> {
        report.failures().map(|r| r.rule.code()).collect()
    }

    struct Listed(&'static [&'static str]);
    impl Blocklist for Listed {
        fn contains(&self, candidate: &str) -> Option<bool> {
            Some(self.0.iter().any(|p| p.eq_ignore_ascii_case(candidate)))
        }
    }

    #[test]
    fn strong_password_passes_every_rule() {
        let r = check("Tr4vel-Lantern", None, &ad(12), &account("jdoe", "John Doe"), &Listed(&[]));
        assert!(r.is_acceptable(), "{r:?}");
    }

    #[test]
    fn reports_all_failures_at_once() {
        let r = check("jdoe", Some("jdoe"), &ad(12), &account("jdoe", "John Doe"), &Listed(&["jdoe"]));
        assert_eq!(
            failed_codes(&r),
            vec![
                "min_length",
                "no_account_name",
                "no_name_parts",
                "categories",
                "differs_from_current",
                "not_blocklisted"
            ]
        );
    }

    #[test]
    fn length_counts_utf16_code_units_as_the_directory_does() {
        let p = ad(8);
        let a = Account::default();
        assert!(failed_codes(&check("Äbc1éüö", None, &p, &a, &NoBlocklist)).contains(&"min_length"));
        assert!(!failed_codes(&check("Äbc1éüöß", None, &p, &a, &NoBlocklist)).contains(&"min_length"));
        // Outside the Basic Multilingual Plane a character is two units: seven characters, eight units.
        assert!(!failed_codes(&check("Äbc1éü😀", None, &p, &a, &NoBlocklist)).contains(&"min_length"));
        let long = format!("aA1!{}", "😀".repeat(127));
        assert_eq!(long.chars().count(), 131, "under 256 characters");
        assert!(failed_codes(&check(&long, None, &p, &a, &NoBlocklist)).contains(&"max_length"), "258 units");
        // The checklist says why seven characters are eight, and says nothing when none is wide.
        let said = |text: &str| check(text, None, &p, &a, &NoBlocklist).rules[0].rule.message();
        assert_eq!(
            said("Äbc1éü😀"),
            "At least 8 characters (8 so far: the directory counts each emoji or rare character as two, 1 here)"
        );
        assert_eq!(said("Äbc1éüö"), "At least 8 characters (7 so far)");
    }

    #[test]
    fn max_length_appears_only_when_exceeded() {
        let long = "aA1!".repeat(65);
        let r = check(&long, None, &ad(8), &Account::default(), &NoBlocklist);
        assert_eq!(failed_codes(&r), vec!["max_length"]);
        let ok = check(&long[..256], None, &ad(8), &Account::default(), &NoBlocklist);
        assert!(ok.rules.iter().all(|r| r.rule.code() != "max_length"));
    }

    #[test]
    fn account_name_is_case_insensitive() {
        let r = check("xxJDOE-2024!", None, &ad(8), &account("jdoe", ""), &NoBlocklist);
        assert_eq!(failed_codes(&r), vec!["no_account_name"]);
    }

    #[test]
    fn two_character_account_name_is_not_checked() {
        let r = check("Jo-2024!abc", None, &ad(8), &account("jo", ""), &NoBlocklist);
        assert!(r.rules.iter().all(|r| r.rule.code() != "no_account_name"));
        assert!(failed_codes(&r).is_empty());
    }

    #[test]
    fn empty_names_check_nothing() {
        let r = check("Sunny-Harbor-12", None, &ad(8), &account("", ""), &NoBlocklist);
        assert!(failed_codes(&r).is_empty());
        assert!(r.rules.iter().all(|r| r.rule.code() != "no_account_name"));
    }

    #[test]
    fn display_name_tokens_split_on_ad_delimiters() {
        let acct = account("x1", "Smith,Anne-Marie_de#la\tCruz.Ng");
        let r = check("MARIE-cruz-42!", None, &ad(8), &acct, &NoBlocklist);
        let found = r.rules.iter().find_map(|r| match &r.rule {
            Rule::NoNameParts { found } => Some(found.clone()),
            _ => None,
        });
        assert_eq!(found, Some(vec!["Marie".to_string(), "Cruz".to_string()]));
        // "de", "la" and "Ng" are shorter than three characters and never count.
        let r = check("de-la-Ng-Zz-77!", None, &ad(8), &acct, &NoBlocklist);
        assert!(failed_codes(&r).is_empty(), "{r:?}");
    }

    #[test]
    fn unicode_names_compare_case_insensitively() {
        let acct = account("ørsted", "Øyvind Ørsted");
        let r = check("ØYVIND-loves-42", None, &ad(8), &acct, &NoBlocklist);
        assert_eq!(failed_codes(&r), vec!["no_name_parts"]);
    }

    #[test]
    fn names_compare_by_simple_uppercase_as_windows_does() {
        // Final and medial sigma are both Σ: the capitalised name is in the uppercase password.
        let acct = account("x1", "Νίκος Papas");
        let r = check("ΝΊΚΟΣ-papas-77", None, &ad(8), &acct, &NoBlocklist);
        let found = r.rules.iter().find_map(|r| match &r.rule {
            Rule::NoNameParts { found } => Some(found.clone()),
            _ => None,
        });
        assert_eq!(found, Some(vec!["Νίκος".to_string(), "Papas".to_string()]));
        // ß has no single uppercase: it stays itself, so "STRASSE" does not contain "Straße".
        let r = check("STRASSE-Lane-77", None, &ad(8), &account("x1", "Straße"), &NoBlocklist);
        assert!(!failed_codes(&r).contains(&"no_name_parts"), "{r:?}");
        assert_eq!(fold_case("ßς"), "ßΣ");
        // ᾳ's full uppercase is two letters, its simple one ᾼ: the name is in the password.
        let r = check("ΣΟΦΊᾼ-x-77", None, &ad(8), &account("x1", "Σοφίᾳ"), &NoBlocklist);
        assert!(failed_codes(&r).contains(&"no_name_parts"), "{r:?}");
    }

    /// The simple uppercase where it is not the full one, derived for every code point: a
    /// letter whose full uppercase is several characters has a simple uppercase exactly when a
    /// titlecase letter (general category Lt) lowercases to it, and that letter is it.
    #[test]
    fn the_simple_only_uppercases_are_exactly_those_of_the_character_database() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        let mut derived = Vec::new();
        for t in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if t.general_category() != GeneralCategory::TitlecaseLetter {
                continue;
            }
            let mut lower = t.to_lowercase();
            let (Some(c), None) = (lower.next(), lower.next()) else { continue };
            if c.to_uppercase().count() > 1 {
                derived.push((c, t));
            }
        }
        derived.sort();
        assert_eq!(derived, SIMPLE_ONLY_UPPERCASE.to_vec());
    }

    #[test]
    fn three_of_five_categories() {
        let a = Account::default();
        let p = ad(8);
        assert_eq!(failed_codes(&check("abcdefgh12", None, &p, &a, &NoBlocklist)), vec!["categories"]);
        assert!(failed_codes(&check("abcdefgh12!", None, &p, &a, &NoBlocklist)).is_empty());
        // CJK counts as the fifth category.
        assert!(failed_codes(&check("abcdefgh12漢字", None, &p, &a, &NoBlocklist)).is_empty());
        // Currency symbols count for nothing.
        assert_eq!(failed_codes(&check("abcdefgh12€€", None, &p, &a, &NoBlocklist)), vec!["categories"]);
        let r = check("abcdefgh", None, &p, &a, &NoBlocklist);
        let missing = r.rules.iter().find_map(|r| match &r.rule {
            Rule::Categories { missing, found, .. } => Some((missing.clone(), *found)),
            _ => None,
        });
        assert_eq!(
            missing,
            Some((vec![Category::Uppercase, Category::Digit, Category::NonAlphanumeric, Category::OtherAlphabetic], 1))
        );
    }

    #[test]
    fn category_message_suggests_only_while_failing() {
        let failing = Rule::Categories { required: 3, found: 2, missing: vec![Category::Digit] };
        assert!(failing.message().contains("could add digits"));
        let passing = Rule::Categories { required: 3, found: 4, missing: vec![Category::OtherAlphabetic] };
        assert!(!passing.message().contains("could add") && passing.message().contains("4 used"));
    }

    #[test]
    fn complexity_off_skips_composition_and_name_parts() {
        let p = Policy { complexity: false, ..ad(8) };
        let r = check("johnjohnjohn", None, &p, &account("ab", "John"), &NoBlocklist);
        assert!(failed_codes(&r).is_empty());
    }

    #[test]
    fn nist_mode_has_no_composition_rules() {
        let r = check("correct horse battery staple", None, &Policy::nist(), &Account::default(), &Listed(&[]));
        assert!(r.is_acceptable());
        let r = check("password1234567", None, &Policy::nist(), &Account::default(), &Listed(&["password1234567"]));
        assert_eq!(failed_codes(&r), vec!["not_blocklisted"]);
    }

    #[test]
    fn blocklist_is_pending_without_a_list() {
        let r = check("Tr4vel-Lantern", None, &ad(8), &Account::default(), &NoBlocklist);
        assert!(failed_codes(&r).is_empty());
        assert!(!r.is_acceptable(), "pending is not yet acceptable");
        assert_eq!(r.pending().count(), 1);
    }

    #[test]
    fn empty_candidate_fails_length_not_blocklist() {
        let r = check("", None, &ad(8), &Account::default(), &NoBlocklist);
        assert_eq!(failed_codes(&r), vec!["min_length", "categories"]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn length_rule_matches_utf16_count(s in "\\PC{0,40}", min in 0u32..30) {
            let p = Policy { min_length: min, ..Policy::nist() };
            let r = check(&s, None, &p, &Account::default(), &NoBlocklist);
            let failed = r.failures().any(|f| f.rule.code() == "min_length");
            prop_assert_eq!(failed, (s.encode_utf16().count() as u32) < min);
        }

        #[test]
        fn every_rule_is_reported_whatever_the_input(s in "\\PC{0,40}") {
            let p = Policy { complexity: true, mode: Mode::ActiveDirectory, ..Policy::nist() };
            let acct = Account { sam_account_name: "someone".into(), display_name: "Some One".into() };
            let r = check(&s, Some("old"), &p, &acct, &NoBlocklist);
            let codes: Vec<_> = r.rules.iter().map(|r| r.rule.code()).collect();
            for code in ["min_length", "no_account_name", "no_name_parts", "categories", "differs_from_current", "not_blocklisted"] {
                prop_assert!(codes.contains(&code));
            }
        }
    }
}
