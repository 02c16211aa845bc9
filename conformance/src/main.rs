//! `latchkey-conformance --make-key CMD --key-command CMD`: runs the kit against a key
//! implementation and prints one row per requirement; fails unless all pass.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let (Some(make), Some(run)) = (value("--make-key"), value("--key-command")) else {
        eprintln!(
            "usage: latchkey-conformance --make-key CMD --key-command CMD\n\
             Both run with $LATCHKEY_KEY_DIR set to a fresh folder per requirement. --make-key manufactures a key \
             there and prints serial=, public_key= (hex) and activation_code= lines; --key-command runs it, reading \
             `w <hex>` / `d` / `b` lines on stdin and writing `n <hex>` / `b <hex>` lines on stdout (PROTOCOL.md, Conformance)."
        );
        return ExitCode::from(2);
    };
    let outcomes = latchkey_conformance::run(&latchkey_conformance::KeyCommands { make, run });
    print!("{}", latchkey_conformance::table(&outcomes));
    if outcomes.iter().all(|o| o.result.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
