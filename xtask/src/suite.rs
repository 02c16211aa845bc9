//! `cargo xtask test`: every test of the workspace against real parts (a Samba AD DC started
//! here, the built SPA in headless Chromium). Extra arguments go to `cargo test`.

use std::process::Command;

use crate::{cmd, paths, samba::Dc, spa, tools, Result};

pub fn run(extra: &[String]) -> Result {
    tools::ensure_all()?;
    lint()?;
    spa::build()?;
    // Compile everything before the DC starts, so it is not kept waiting.
    cmd::run(cargo_test(&[]).arg("--no-run"))?;
    let dc = Dc::start()?;
    let mut test = cargo_test(extra);
    test.envs(dc.env());
    let result = cmd::run(&mut test);
    drop(dc);
    result
}

/// Formatting, and clippy with warnings as errors on the host and for wasm32 (the app and every
/// crate that must also run in the browser).
fn lint() -> Result {
    let cargo = |args: &[&str]| {
        cmd::run(Command::new("cargo").args(args).current_dir(paths::root()).env("CARGO_TARGET_DIR", paths::target()))
    };
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    cargo(&[
        "clippy",
        "-p",
        "latchkey-app",
        "-p",
        "latchkey-policy",
        "-p",
        "latchkey-api",
        "-p",
        "latchkey-protocol",
        "-p",
        "keysim",
        "--target",
        "wasm32-unknown-unknown",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])
}

fn cargo_test(extra: &[String]) -> Command {
    let mut c = Command::new("cargo");
    c.args(["test", "--workspace", "--locked"])
        .current_dir(paths::root())
        .env("CARGO_TARGET_DIR", paths::target())
        .env("PATH", paths::tool_path())
        .env("LATCHKEY_TEST_DIST", paths::dist());
    if !extra.is_empty() {
        c.arg("--").args(extra);
    }
    c
}
