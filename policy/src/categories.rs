use serde::{Deserialize, Serialize};

use crate::letters::{has_lowercase_partner, letter_class, LetterClass};

/// The five character categories of Active Directory's complexity rule, as Windows documents
/// them: by Unicode *general category* (not Rust's derived properties, which call `ʰ` and `ª`
/// lowercase and `Ⓐ` or `Ⅻ` uppercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Uppercase,
    Lowercase,
    /// 0–9 only: other scripts' digits count in no category.
    Digit,
    /// The ASCII symbols ``~!@#$%^&*_-+=`|\(){}[]:;"'<>,.?/``. Currency signs, other symbols,
    /// emoji, spaces and marks count in no category.
    NonAlphanumeric,
    /// Letters that are neither upper- nor lowercase: titlecase (Lt), modifier (Lm) and other
    /// (Lo) letters, such as CJK, `ʰ` or `ª`.
    OtherAlphabetic,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Uppercase,
        Category::Lowercase,
        Category::Digit,
        Category::NonAlphanumeric,
        Category::OtherAlphabetic,
    ];

    pub fn of(c: char) -> Option<Category> {
        if c.is_ascii_digit() {
            return Some(Category::Digit);
        }
        // Exactly the 32 ASCII symbols the rule lists.
        if c.is_ascii_punctuation() {
            return Some(Category::NonAlphanumeric);
        }
        match letter_class(c) {
            LetterClass::Uppercase => Some(Category::Uppercase),
            LetterClass::Lowercase => Some(Category::Lowercase),
            LetterClass::Other => Some(Category::OtherAlphabetic),
            LetterClass::NotALetter => None,
        }
    }

    /// The category Samba's DC puts `c` in: ASCII as Windows does; beyond ASCII, a letter of
    /// the Basic Multilingual Plane with a one-character case partner is upper- or lowercase,
    /// and *every* other character (letters without a partner such as `ß`, titlecase, symbols,
    /// other scripts' digits, anything past U+FFFF) counts as "other" (checked against the DC in
    /// the suite).
    /// Samba's case tables are older than Unicode's: a case pair outside the long-stable Latin,
    /// Greek and Cyrillic blocks may be "other" to it, so such a letter is [`SambaClass::Either`].
    pub fn as_samba_counts(c: char) -> SambaClass {
        if c.is_ascii() {
            return Category::of(c).map_or(SambaClass::Nothing, SambaClass::Sure);
        }
        let lowers = has_lowercase_partner(c);
        let uppers = single(c.to_uppercase()).is_some_and(|u| u != c);
        let case = if (c as u32) > 0xFFFF || (lowers && uppers) {
            // Past U+FFFF, or titlecase (`ǅ`, a partner either way): "other" to Samba.
            None
        } else if lowers {
            Some(Category::Uppercase)
        } else if uppers {
            Some(Category::Lowercase)
        } else {
            None
        };
        let long_stable = matches!(c as u32, 0x80..=0x4FF | 0x1E00..=0x1FFF);
        match case {
            Some(case) if long_stable => SambaClass::Sure(case),
            Some(case) => SambaClass::Either(case),
            None => SambaClass::Sure(Category::OtherAlphabetic),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Category::Uppercase => "uppercase letters",
            Category::Lowercase => "lowercase letters",
            Category::Digit => "digits",
            Category::NonAlphanumeric => "symbols",
            Category::OtherAlphabetic => "other letters (e.g. CJK)",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Where Samba's DC counts a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SambaClass {
    Nothing,
    Sure(Category),
    /// Its case, or "other" if Samba's tables predate the pair.
    Either(Category),
}

/// The one character a case mapping gives, if it gives exactly one.
fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let first = mapped.next()?;
    mapped.next().is_none().then_some(first)
}

/// The categories present in a password.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategorySet(u8);

impl CategorySet {
    pub fn of(password: &str) -> Self {
        CategorySet(password.chars().filter_map(Category::of).fold(0, |bits, c| bits | c.bit()))
    }

    /// The fewest categories Samba's DC may find in a password (see
    /// [`Category::as_samba_counts`]), and those it surely finds.
    pub fn as_samba_counts(password: &str) -> (u32, Self) {
        let classes: Vec<SambaClass> = password.chars().map(Category::as_samba_counts).collect();
        let sure = classes.iter().fold(CategorySet(0), |set, class| match class {
            SambaClass::Sure(c) => CategorySet(set.0 | c.bit()),
            _ => set,
        });
        // Every uncertain letter may be "other": at most one more category, and none when
        // one of its two is already there.
        let more = classes.iter().any(|class| {
            matches!(class, SambaClass::Either(c) if !sure.contains(*c) && !sure.contains(Category::OtherAlphabetic))
        });
        (sure.len() + u32::from(more), sure)
    }

    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn missing(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| !self.contains(*c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_empty_until_a_category_is_found() {
        assert!(CategorySet::of("").is_empty() && CategorySet::of("   ").is_empty());
        assert!(!CategorySet::of("a").is_empty());
    }

    #[test]
    fn classifies_each_category() {
        assert_eq!(Category::of('A'), Some(Category::Uppercase));
        assert_eq!(Category::of('É'), Some(Category::Uppercase));
        assert_eq!(Category::of('Ж'), Some(Category::Uppercase));
        assert_eq!(Category::of('z'), Some(Category::Lowercase));
        assert_eq!(Category::of('ß'), Some(Category::Lowercase));
        assert_eq!(Category::of('7'), Some(Category::Digit));
        assert_eq!(Category::of('#'), Some(Category::NonAlphanumeric));
        assert_eq!(Category::of('漢'), Some(Category::OtherAlphabetic));
        assert_eq!(Category::of('€'), None, "currency is not a symbol for AD");
        assert_eq!(Category::of(' '), None);
        // Arabic-Indic digits are not base-10 ASCII digits; they are not alphabetic either.
        assert_eq!(Category::of('٣'), None);
    }

    #[test]
    fn letters_count_by_general_category_not_by_rusts_derived_properties() {
        // Rust calls these lowercase (Other_Lowercase); Windows counts them as other letters.
        assert!('ʰ'.is_lowercase() && 'ª'.is_lowercase());
        assert_eq!(Category::of('ʰ'), Some(Category::OtherAlphabetic), "Lm");
        assert_eq!(Category::of('ª'), Some(Category::OtherAlphabetic), "Lo");
        // Rust calls these uppercase (Other_Uppercase) or alphabetic; they are symbols and
        // letter-like numbers to Unicode, and count in no category.
        assert!('Ⓐ'.is_uppercase() && 'Ⅻ'.is_uppercase());
        assert_eq!(Category::of('Ⓐ'), None, "So");
        assert_eq!(Category::of('Ⅻ'), None, "Nl");
        assert_eq!(Category::of('ǅ'), Some(Category::OtherAlphabetic), "Lt");
        assert_eq!(Category::of('²'), None, "No: not a digit 0–9");
        assert_eq!(Category::of('7'), Some(Category::Digit));
    }

    #[test]
    fn each_script_counts_as_windows_documents() {
        let cases = [
            ('Ж', Some(Category::Uppercase)),        // Cyrillic Lu
            ('ж', Some(Category::Lowercase)),        // Cyrillic Ll
            ('Ω', Some(Category::Uppercase)),        // Greek Lu
            ('ς', Some(Category::Lowercase)),        // Greek final sigma, Ll
            ('ש', Some(Category::OtherAlphabetic)),  // Hebrew Lo
            ('ع', Some(Category::OtherAlphabetic)),  // Arabic Lo
            ('ก', Some(Category::OtherAlphabetic)),  // Thai Lo
            ('あ', Some(Category::OtherAlphabetic)), // Hiragana Lo
            ('ー', Some(Category::OtherAlphabetic)), // Katakana prolonged sound mark, Lm
            ('한', Some(Category::OtherAlphabetic)), // Hangul Lo
            ('٣', None),                             // Arabic-Indic digit, Nd
            ('५', None),                             // Devanagari digit, Nd
            ('\u{301}', None),                       // combining acute, Mn
            ('😀', None),                            // emoji, So
            ('€', None),                             // currency, Sc
            ('§', None),                             // Latin-1 symbol, Po but not ASCII
            ('\u{a0}', None),                        // no-break space, Zs
        ];
        for (c, expected) in cases {
            assert_eq!(Category::of(c), expected, "{c:?} U+{:04X}", c as u32);
        }
        // Every ASCII symbol the rule lists, and nothing else of ASCII's non-alphanumerics.
        let symbols = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";
        assert_eq!(symbols.chars().count(), 32);
        for c in (0u8..128).map(char::from) {
            let listed = symbols.contains(c);
            assert_eq!(Category::of(c) == Some(Category::NonAlphanumeric), listed, "{c:?}");
        }
    }

    #[test]
    fn samba_counts_case_from_its_own_tables_and_everything_else_as_other() {
        use SambaClass::{Either, Nothing, Sure};
        assert_eq!(Category::as_samba_counts('ß'), Sure(Category::OtherAlphabetic), "no one-character partner");
        assert_eq!(Category::as_samba_counts('ǅ'), Sure(Category::OtherAlphabetic), "titlecase");
        assert_eq!(Category::as_samba_counts('€'), Sure(Category::OtherAlphabetic));
        assert_eq!(Category::as_samba_counts('𐐨'), Sure(Category::OtherAlphabetic), "past U+FFFF");
        assert_eq!(Category::as_samba_counts('ς'), Sure(Category::Lowercase));
        assert_eq!(Category::as_samba_counts('Ж'), Sure(Category::Uppercase));
        assert_eq!(Category::as_samba_counts('ა'), Either(Category::Lowercase), "a pair newer than Samba's tables");
        assert_eq!(Category::as_samba_counts(' '), Nothing);
        assert_eq!(Category::as_samba_counts('7'), Sure(Category::Digit));
        // An uncertain letter beside "other" may add nothing; alone, at most one.
        assert_eq!(CategorySet::as_samba_counts("漢5ა").0, 2);
        assert_eq!(CategorySet::as_samba_counts("Q5ა").0, 3);
    }

    #[test]
    fn counts_distinct_categories() {
        let set = CategorySet::of("abcABC123");
        assert_eq!(set.len(), 3);
        assert_eq!(set.missing().collect::<Vec<_>>(), vec![Category::NonAlphanumeric, Category::OtherAlphabetic]);
        assert!(CategorySet::of("").is_empty());
    }
}
