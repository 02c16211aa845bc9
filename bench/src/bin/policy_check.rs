//! Latency of one full policy check, natively or as wasm (`cargo xtask bench` runs it both
//! ways). Prints `policy-check <target> p50=<ns> p99=<ns>`.

use std::time::Instant;

use latchkey_policy::{check, Account, Mode, NoBlocklist, Policy};

const ROUNDS: usize = 20_000;

fn main() {
    let policy = Policy {
        mode: Mode::ActiveDirectory,
        min_length: 12,
        complexity: true,
        history_length: 24,
        min_age_secs: 86_400,
        max_age_secs: Some(42 * 86_400),
        lockout_threshold: 5,
    };
    let account = Account { sam_account_name: "jdoe".into(), display_name: "Jane Marie Doe-Smith".into() };
    // What a user types, keystroke by keystroke, including Unicode.
    let target = "Tr4vel-Lantern-Ørsted-漢字-2093";
    let prefixes: Vec<&str> = target.char_indices().map(|(i, _)| &target[..i]).chain([target]).collect();
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut passed = 0usize;
    for round in 0..ROUNDS {
        let candidate = prefixes[round % prefixes.len()];
        let start = Instant::now();
        let report = check(candidate, Some("Old-Password-1"), &policy, &account, &NoBlocklist);
        samples.push(start.elapsed().as_nanos() as u64);
        passed += report.failures().count();
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "policy-check {} p50={}ns p99={}ns (rounds {ROUNDS}, failures seen {passed})",
        std::env::consts::ARCH,
        at(0.50),
        at(0.99)
    );
}
