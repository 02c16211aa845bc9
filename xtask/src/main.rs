//! Project automation: `cargo xtask <command>`.
//!
//! - `setup`: install what building and testing need (apt packages, wasm target, Trunk,
//!   wasm-bindgen, wasm-opt), skipping whatever is already there at the right version.
//! - `test`:  setup, build the SPA, start a throwaway Samba AD DC, run every test.
//! - `demo`:  setup, build the SPA, start a throwaway domain with sample users, run Latchkey.
//! - `bench`: the tracked figures (bundle size, policy check, portal vs raw directory change).
//! - `fuzz`:  the protocol's fuzz targets, for a set time each.
//! - `dc`:    start a throwaway DC and print how to reach it (for development).
//! - `conformance`: run the protocol's conformance kit against a key implementation
//!   (`--make-key CMD --key-command CMD`; the reference key when none is given).
//! - `vectors`: rewrite the protocol's test vectors (`protocol/vectors/`) from the reference
//!   implementation; the test suite fails while the published ones differ.

mod bench;
mod cmd;
mod demo;
mod fuzz;
mod paths;
mod postgres;
mod samba;
mod spa;
mod suite;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => tools::ensure_all(),
        Some("test") => suite::run(&args[1..]),
        Some("demo") => demo::run(),
        Some("dc") => samba::run_foreground(),
        Some("spa") => spa::build(),
        Some("bench") => bench::run(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("vectors") => vectors(),
        Some("conformance") => conformance(&args[1..]),
        _ => Err("usage: cargo xtask <setup|test|demo|bench|fuzz|dc|spa|vectors|conformance>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn vectors() -> Result {
    let mut test = std::process::Command::new("cargo");
    test.args(["test", "--locked", "-p", "keysim", "--test", "vectors", "the_published_vectors"])
        .current_dir(paths::root())
        .env("CARGO_TARGET_DIR", paths::target())
        .env("LATCHKEY_WRITE_VECTORS", "1");
    cmd::run(&mut test)
}

/// The kit against `--make-key` / `--key-command`, or against the reference key.
fn conformance(args: &[String]) -> Result {
    let cargo = |args: &[&str]| {
        let mut c = std::process::Command::new("cargo");
        c.args(args).arg("--locked").current_dir(paths::root()).env("CARGO_TARGET_DIR", paths::target());
        c
    };
    cmd::run(&mut cargo(&["build", "-q", "-p", "keysim", "-p", "latchkey-conformance"]))?;
    let mut kit = std::process::Command::new(paths::target().join("debug/latchkey-conformance"));
    if args.is_empty() {
        let keysim = paths::target().join("debug/keysim");
        let key = format!("{} -f \"$LATCHKEY_KEY_DIR/key\"", keysim.display());
        kit.args([
            "--make-key",
            &format!("{key} create --serial LK-CONFORM-1"),
            "--key-command",
            &format!("{key} run"),
        ]);
    } else {
        kit.args(args);
    }
    cmd::run(&mut kit)
}

pub type Result<T = ()> = std::result::Result<T, String>;
