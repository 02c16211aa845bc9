//! `cargo xtask fuzz [SECONDS]`: runs every fuzz target (the protocol's frames and messages, the
//! relay's JSON messages, the key manifest) for SECONDS each
//! (default 60) and reports the executions reached. cargo-fuzz wants nightly features; the
//! stable toolchain provides them with RUSTC_BOOTSTRAP.

use std::process::Command;

use crate::{cmd, paths, Result};

/// Each target with the crate whose `fuzz/` folder holds it.
const TARGETS: &[(&str, &str)] =
    &[("protocol", "reassembler"), ("protocol", "messages"), ("api", "relay_messages"), ("api", "manifest")];

pub fn run(args: &[String]) -> Result {
    let seconds: u64 = match args.first() {
        Some(s) => s.parse().map_err(|_| format!("not a number of seconds: {s}"))?,
        None => 60,
    };
    if cmd::probe("cargo", &["fuzz", "--version"]).is_none() {
        cmd::run(
            Command::new("cargo")
                .args(["install", "--locked", "cargo-fuzz"])
                .env("CARGO_TARGET_DIR", paths::cache().join("tool-build")),
        )?;
    }
    for (krate, target) in TARGETS {
        let out = Command::new("cargo")
            .args(["fuzz", "run", target, "--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"])
            .current_dir(paths::root().join(krate))
            .env("RUSTC_BOOTSTRAP", "1")
            .output()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let runs = log.lines().rev().find(|l| l.starts_with("Done ")).unwrap_or("no summary line");
        println!("fuzz {target}: {runs}");
        if !out.status.success() {
            return Err(format!("fuzz target {target} found a failure:\n{log}"));
        }
    }
    Ok(())
}
