use serde::{Deserialize, Serialize};

/// The five character categories of Active Directory's complexity rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Uppercase,
    Lowercase,
    Digit,
    /// ASCII punctuation such as `~!@#$%^&*_-+=`. Currency symbols do not count.
    NonAlphanumeric,
    /// Alphabetic characters that are neither upper- nor lowercase (CJK, for instance).
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
            Some(Category::Digit)
        } else if c.is_ascii_punctuation() {
            Some(Category::NonAlphanumeric)
        } else if c.is_uppercase() {
            Some(Category::Uppercase)
        } else if c.is_lowercase() {
            Some(Category::Lowercase)
        } else if c.is_alphabetic() {
            Some(Category::OtherAlphabetic)
        } else {
            None
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

/// The categories present in a password.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySet(u8);

impl CategorySet {
    pub fn of(password: &str) -> Self {
        CategorySet(password.chars().filter_map(Category::of).fold(0, |bits, c| bits | c.bit()))
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
    fn counts_distinct_categories() {
        let set = CategorySet::of("abcABC123");
        assert_eq!(set.len(), 3);
        assert_eq!(set.missing().collect::<Vec<_>>(), vec![Category::NonAlphanumeric, Category::OtherAlphabetic]);
        assert!(CategorySet::of("").is_empty());
    }
}
