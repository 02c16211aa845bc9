//! Any text as an uploaded key manifest: reading never panics, every key line has exactly its
//! three trimmed fields, and lines come in order, numbered within the text.
#![no_main]

use latchkey_api::manifest::{parse, ManifestLine, MAX_MANIFEST_LINES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(lines) = parse(text) else {
        assert!(text.lines().count() > MAX_MANIFEST_LINES);
        return;
    };
    let mut last = 0;
    for entry in lines {
        let line = match entry {
            ManifestLine::Key { line, serial, public_key, activation_code } => {
                for field in [serial, public_key, activation_code] {
                    assert!(!field.contains(',') && field.trim() == field);
                }
                line
            }
            ManifestLine::Malformed { line } => line,
        };
        assert!(line > last && line <= text.lines().count());
        last = line;
    }
});
