//! The conformance kit: drives a key implementation through PROTOCOL.md's requirements from
//! outside, over the chunk stream, and reports each as passed or failed.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cases;
pub mod key_process;
mod link;

pub use key_process::KeyCommands;

/// One requirement's outcome.
pub struct Outcome {
    pub id: &'static str,
    pub section: &'static str,
    pub text: &'static str,
    pub result: Result<(), String>,
}

/// Runs every requirement, each against a key of its own.
pub fn run(commands: &KeyCommands) -> Vec<Outcome> {
    cases::all()
        .into_iter()
        .map(|r| Outcome { id: r.id, section: r.section, text: r.text, result: r.check(commands) })
        .collect()
}

/// The table `run` printed: one row per requirement.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        let verdict = if o.result.is_ok() { "pass" } else { "FAIL" };
        out.push_str(&format!("{verdict:<4}  {:<15} {:<12} {}\n", o.id, o.section, o.text));
        if let Err(e) = &o.result {
            out.push_str(&format!("      └ {e}\n"));
        }
    }
    let passed = outcomes.iter().filter(|o| o.result.is_ok()).count();
    out.push_str(&format!("conformance: {passed} of {} requirements pass\n", outcomes.len()));
    out
}
