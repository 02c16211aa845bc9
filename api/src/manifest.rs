//! The vendor's key manifest, as administrators upload it: CSV, one key per line,
//! `serial,public_key,activation_code`; a first line starting with "serial" is a header; blank
//! lines are skipped. Each line is read on its own, so one bad line never hides the others.

use crate::ErrorKind;

/// More lines than any delivery of keys; a bound on one request's work.
pub const MAX_MANIFEST_LINES: usize = 10_000;

/// One line of the manifest, numbered from 1 as an editor shows it.
#[derive(Debug, PartialEq, Eq)]
pub enum ManifestLine<'a> {
    Key {
        line: usize,
        serial: &'a str,
        public_key: &'a str,
        activation_code: &'a str,
    },
    /// Not three comma-separated fields.
    Malformed {
        line: usize,
    },
}

/// Every non-blank line of `body` after the header, in order; too many lines refuse it whole.
pub fn parse(body: &str) -> Result<Vec<ManifestLine<'_>>, ErrorKind> {
    let lines: Vec<&str> = body.lines().collect();
    if lines.len() > MAX_MANIFEST_LINES {
        return Err(ErrorKind::ManifestTooLong { max_lines: MAX_MANIFEST_LINES as u32 });
    }
    let mut read = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let line = line.trim();
        let header = n == 0 && line.get(..6).is_some_and(|start| start.eq_ignore_ascii_case("serial"));
        if line.is_empty() || header {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        read.push(match fields.as_slice() {
            [serial, public_key, activation_code] => {
                ManifestLine::Key { line: n + 1, serial, public_key, activation_code }
            }
            _ => ManifestLine::Malformed { line: n + 1 },
        });
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_one_by_one_after_the_header() {
        let body =
            "Serial, Public_Key, Activation_Code\r\n LK-1 , ab12 , 1234 \n\nLK-2,cd\nLK-3,ef,5678,extra\nLK-Ü,00,9";
        let read = parse(body).unwrap();
        assert_eq!(
            read,
            [
                ManifestLine::Key { line: 2, serial: "LK-1", public_key: "ab12", activation_code: "1234" },
                ManifestLine::Malformed { line: 4 },
                ManifestLine::Malformed { line: 5 },
                ManifestLine::Key { line: 6, serial: "LK-Ü", public_key: "00", activation_code: "9" },
            ]
        );
        assert_eq!(parse("LK-1,ab,1").unwrap().len(), 1, "no header: the first line is a key");
        assert_eq!(parse("ü").unwrap(), [ManifestLine::Malformed { line: 1 }], "a short first line is no header");
    }

    #[test]
    fn too_many_lines_refuse_the_whole_manifest() {
        let body = "LK-1,ab,1\n".repeat(MAX_MANIFEST_LINES + 1);
        assert!(matches!(parse(&body), Err(ErrorKind::ManifestTooLong { .. })));
        assert!(parse(&"LK-1,ab,1\n".repeat(MAX_MANIFEST_LINES)).is_ok());
    }
}
