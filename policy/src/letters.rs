//! Letters by their Unicode general category: Lu, Ll, the other letters (Lt, Lm, Lo), or not a
//! letter. The standard library's derived properties answer for almost every character; the
//! few hundred ranges where they differ from the general category (Other_Uppercase symbols such
//! as `Ⓐ`, Other_Lowercase letters such as `ʰ`, alphabetic marks and numerals, letters newer
//! than the standard library's Unicode) are a table generated from the Unicode Character
//! Database, and checked against it for every code point by the tests. A whole general
//! category table would cost the browser's bundle about 13 KB; this one about 1.5 KB.

mod lowercase_partners;
mod table;

/// Whether `c` is in the Basic Multilingual Plane and lowercases to one other character (what
/// Samba's case table calls an uppercase letter). A generated table, so the browser's bundle
/// carries no lowercase mapping.
pub fn has_lowercase_partner(c: char) -> bool {
    let Ok(u) = u16::try_from(c as u32) else { return false };
    let at = lowercase_partners::RANGES.partition_point(|&(_, last)| last < u);
    lowercase_partners::RANGES.get(at).is_some_and(|&(first, _)| first <= u)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LetterClass {
    Uppercase,
    Lowercase,
    /// Titlecase, modifier and other letters.
    Other,
    NotALetter,
}

impl LetterClass {
    const fn from_code(code: u8) -> LetterClass {
        match code {
            1 => LetterClass::Uppercase,
            2 => LetterClass::Lowercase,
            3 => LetterClass::Other,
            _ => LetterClass::NotALetter,
        }
    }
}

pub fn letter_class(c: char) -> LetterClass {
    let u = c as u32;
    let at = table::DIFFERS.partition_point(|&(_, last, _)| last < u);
    if let Some(&(first, _, code)) = table::DIFFERS.get(at) {
        if first <= u {
            return LetterClass::from_code(code);
        }
    }
    derived(c)
}

/// The class the standard library's derived properties give.
fn derived(c: char) -> LetterClass {
    if !c.is_alphabetic() {
        LetterClass::NotALetter
    } else if c.is_uppercase() {
        LetterClass::Uppercase
    } else if c.is_lowercase() {
        LetterClass::Lowercase
    } else {
        LetterClass::Other
    }
}

#[cfg(test)]
mod tests {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};

    use super::*;

    fn by_general_category(c: char) -> LetterClass {
        match c.general_category() {
            G::UppercaseLetter => LetterClass::Uppercase,
            G::LowercaseLetter => LetterClass::Lowercase,
            G::TitlecaseLetter | G::ModifierLetter | G::OtherLetter => LetterClass::Other,
            _ => LetterClass::NotALetter,
        }
    }

    fn code(class: LetterClass) -> u8 {
        match class {
            LetterClass::NotALetter => 0,
            LetterClass::Uppercase => 1,
            LetterClass::Lowercase => 2,
            LetterClass::Other => 3,
        }
    }

    /// The table as it must be: the ranges where the derived properties and the general
    /// category disagree, with the general category's answer.
    fn generated() -> Vec<(u32, u32, u8)> {
        let mut ranges: Vec<(u32, u32, u8)> = Vec::new();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let wanted = by_general_category(c);
            if wanted == derived(c) {
                continue;
            }
            let (u, class) = (c as u32, code(wanted));
            match ranges.last_mut() {
                Some(last) if last.1 + 1 == u && last.2 == class => last.1 = u,
                _ => ranges.push((u, u, class)),
            }
        }
        ranges
    }

    fn lowercase_partner_ranges() -> Vec<(u16, u16)> {
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        for u in 0u16..=0xFFFF {
            let Some(c) = char::from_u32(u32::from(u)) else { continue };
            let mut lower = c.to_lowercase();
            let single = match (lower.next(), lower.next()) {
                (Some(l), None) => Some(l),
                _ => None,
            };
            if single.is_none_or(|l| l == c) {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if last.1 + 1 == u => last.1 = u,
                _ => ranges.push((u, u)),
            }
        }
        ranges
    }

    #[test]
    fn lowercase_partners_match_the_standard_library_for_every_code_point() {
        assert_eq!(super::lowercase_partners::RANGES, lowercase_partner_ranges().as_slice(), "stale: regenerate");
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let mut lower = c.to_lowercase();
            let expected = (c as u32) <= 0xFFFF && matches!((lower.next(), lower.next()), (Some(l), None) if l != c);
            assert_eq!(has_lowercase_partner(c), expected, "{c:?}");
        }
    }

    #[test]
    fn every_code_point_is_classed_by_its_general_category() {
        let wrong: Vec<char> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| letter_class(*c) != by_general_category(*c))
            .take(10)
            .collect();
        assert!(
            wrong.is_empty(),
            "{wrong:?} are classed wrongly: the table is stale (a new Rust or Unicode version); \
             regenerate it with `cargo test -p latchkey-policy -- --ignored regenerate_the_letter_table`"
        );
        assert_eq!(super::table::DIFFERS, generated().as_slice(), "the table holds nothing more than it must");
    }

    /// Writes `table.rs` from the Unicode Character Database (run by hand when the check fails).
    #[test]
    #[ignore]
    fn regenerate_the_letter_table() {
        let mut text = String::from(
            "//! Generated by `cargo test -p latchkey-policy -- --ignored regenerate_the_letter_table`:\n\
             //! the code point ranges whose general category class (1 Lu, 2 Ll, 3 Lt/Lm/Lo, 0 not a\n\
             //! letter) differs from what the standard library's derived properties give. Do not edit.\n\n\
             pub const DIFFERS: &[(u32, u32, u8)] = &[\n",
        );
        for (first, last, class) in generated() {
            text.push_str(&format!("    (0x{first:04X}, 0x{last:04X}, {class}),\n"));
        }
        text.push_str("];\n");
        let path = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("src/letters/table.rs");
        std::fs::write(path, text).unwrap();

        let mut text = String::from(
            "//! Generated by `cargo test -p latchkey-policy -- --ignored regenerate_the_letter_table`:\n\
             //! the Basic Multilingual Plane's code points that lowercase to one other character.\n\
             //! Do not edit.\n\n\
             pub const RANGES: &[(u16, u16)] = &[\n",
        );
        for (first, last) in lowercase_partner_ranges() {
            text.push_str(&format!("    (0x{first:04X}, 0x{last:04X}),\n"));
        }
        text.push_str("];\n");
        let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
        let path = dir.join("src/letters/lowercase_partners.rs");
        std::fs::write(path, text).unwrap();
    }
}
