//! `cargo xtask test`: every test of the workspace against real parts (a Samba AD DC started
//! here, the built SPA in headless Chromium). Extra arguments go to `cargo test`.

use std::process::{Command, Stdio};

use crate::{cmd, paths, samba::Dc, spa, tools, Result};

pub fn run(extra: &[String]) -> Result {
    tools::ensure_all()?;
    lint()?;
    spa::build()?;
    let bundle = xtask::pwa::first_load_bytes(&paths::dist())?;
    if bundle > crate::bench::BUNDLE_BUDGET {
        return Err(format!(
            "a first visit downloads {bundle} B (brotli, as served), over the {} B budget",
            crate::bench::BUNDLE_BUDGET
        ));
    }
    println!("first load: {bundle} B over the wire (budget {} B)", crate::bench::BUNDLE_BUDGET);
    // Compile everything before the DC starts, so it is not kept waiting.
    cmd::run(cargo_test(&[]).arg("--no-run"))?;
    let dc = Dc::start()?;
    let pg = crate::postgres::Postgres::start()?;
    let mut test = cargo_test(extra);
    test.envs(dc.env()).env("LATCHKEY_TEST_PG_URL", pg.url());
    let mut result = run_counting(&mut test, "tests");
    if result.is_ok() && extra.is_empty() {
        // The suites that use the store, again with PostgreSQL behind every server.
        let mut again = store_suites();
        again.envs(dc.env()).env("LATCHKEY_TEST_PG_URL", pg.url()).env("LATCHKEY_TEST_STORE", "postgres");
        result = run_counting(&mut again, "tests on PostgreSQL");
    }
    drop((dc, pg));
    result
}

/// Runs `cargo test`, passing its output through, and closes with one summary line over all
/// test binaries: `tests: N passed, N failed, N skipped`.
fn run_counting(test: &mut Command, label: &str) -> Result {
    use std::io::{BufRead, BufReader};
    eprintln!("+ cargo test (with the DC running)");
    let mut child = test.stdout(Stdio::piped()).spawn().map_err(|e| format!("cannot start cargo test: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(std::result::Result::ok) {
            println!("{line}");
            if let Some(counts) = line.strip_prefix("test result: ") {
                let number = |label: &str| {
                    counts
                        .split(';')
                        .find_map(|part| {
                            part.trim()
                                .strip_suffix(label)
                                .map(|n| n.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").to_string())
                        })
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                passed += number("passed");
                failed += number("failed");
                ignored += number("ignored");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    println!("{label}: {passed} passed, {failed} failed, {ignored} skipped");
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed: {status}"))
    }
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
        "-p",
        "latchkey-virtual-key",
        "-p",
        "latchkey-admin",
        "-p",
        "latchkey-recover",
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
        .env("LATCHKEY_TEST_DIST", paths::dist())
        .env("LATCHKEY_TEST_AXE", paths::axe_core())
        .env("LATCHKEY_TEST_SCHEMATHESIS", paths::schemathesis());
    if !extra.is_empty() {
        c.arg("--").args(extra);
    }
    c
}

/// `cargo test` of the store-backed black-box suites only (modules of the one suite binary).
fn store_suites() -> Command {
    let mut c = Command::new("cargo");
    c.args([
        "test",
        "--locked",
        "-p",
        "latchkey-tests",
        "--test",
        "suite",
        "--",
        "api::",
        "relay::",
        "admin::",
        "step_up::",
        "mail::",
    ])
    .current_dir(paths::root())
    .env("CARGO_TARGET_DIR", paths::target())
    .env("PATH", paths::tool_path());
    c
}
