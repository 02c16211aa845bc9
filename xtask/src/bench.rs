//! `cargo xtask bench`: the figures the project tracks. Measurements, never pass/fail.
//! - the SPA's first load (the app shell and its service worker), gzip and brotli as served;
//! - one policy check, p50/p99, natively and as wasm (run by Node.js, the engine of Chromium);
//! - bytes and round trips of the key protocol's flows;
//! - the employee list with 10,000 employees, on SQLite and PostgreSQL;
//! - first content (the sign-in form) in headless Chromium, cold and warm, against a bare page;
//! - the server's resident memory idle, with 1,000 sessions and with 100 key sessions;
//! - two replicas on one PostgreSQL behind a round-robin proxy against one, under 200 sign-ins
//!   and status reads and 50 changes at once (p50/p99, errors per operation);
//! - a password change through the portal against a raw ldap3 change on the same DC.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::samba::Dc;
use crate::{cmd, paths, spa, tools, Result};

const WASI_RUNNER: &str = r#"
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
const wasi = new WASI({ version: 'preview1', args: [], env: {} });
const module = await WebAssembly.compile(await readFile(process.argv[2]));
wasi.start(await WebAssembly.instantiate(module, wasi.getImportObject()));
"#;

pub fn run() -> Result {
    tools::ensure_all()?;
    spa::build()?;
    bundle_size()?;
    policy_check()?;
    cmd::run(&mut cargo(&["run", "--release", "-q", "-p", "latchkey-bench", "--bin", "protocol_cost"]))?;
    let pg = crate::postgres::Postgres::start()?;
    cmd::run(cargo(&["bench", "-p", "latchkey-tests", "--bench", "employees"]).env("LATCHKEY_TEST_PG_URL", pg.url()))?;
    let dc = Dc::start()?;
    let first_load = ["bench", "-p", "latchkey-tests", "--bench", "first_load"];
    cmd::run(cargo(&first_load).envs(dc.env()).env("LATCHKEY_TEST_DIST", paths::dist()))?;
    // The server measured as its own process: the release binary beside the benchmarks.
    cmd::run(&mut cargo(&["build", "--release", "-p", "latchkey-server"]))?;
    cmd::run(cargo(&["bench", "-p", "latchkey-tests", "--bench", "memory"]).envs(dc.env()))?;
    // Two replicas on one PostgreSQL behind a round-robin proxy, against one replica alone.
    let replicas = ["bench", "-p", "latchkey-tests", "--bench", "replicas"];
    cmd::run(cargo(&replicas).envs(dc.env()).env("LATCHKEY_TEST_PG_URL", pg.url()))?;
    let result = cmd::run(cargo(&["bench", "-p", "latchkey-tests", "--bench", "directory"]).envs(dc.env()));
    drop((dc, pg));
    result
}

fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new("cargo");
    c.args(args).args(["--locked"]).current_dir(paths::root()).env("CARGO_TARGET_DIR", paths::target());
    c
}

/// What a first visit may download, as sent (brotli): the app shell and the service worker.
/// The demo's separately loaded virtual key and the other bundles are not part of it.
pub const BUNDLE_BUDGET: u64 = 200_000;

/// Prints each file of the first load raw, gzip and brotli (the build's compressed copies),
/// the totals, and what the service worker precaches.
pub fn bundle_size() -> Result {
    let dist = paths::dist();
    let mut files = xtask::pwa::shell_files(&dist)?;
    files.push("sw.js".into());
    let (mut raw_total, mut gz_total, mut br_total) = (0, 0, 0);
    for file in &files {
        let raw = len(&dist.join(file))?;
        let gz = len(&dist.join(format!("{}.gz", file.display()))).unwrap_or(raw);
        let br = len(&dist.join(format!("{}.br", file.display()))).unwrap_or(raw);
        (raw_total, gz_total, br_total) = (raw_total + raw, gz_total + gz, br_total + br);
        println!("bundle {:<44} {raw:>8} B raw {gz:>8} B gzip {br:>8} B brotli", file.display());
    }
    println!(
        "bundle first load (shell + worker): {gz_total} B gzip, {br_total} B brotli (budget {BUNDLE_BUDGET} B brotli)"
    );
    println!("bundle service worker precache: {} files, {raw_total} B raw", files.len() - 1);
    Ok(())
}

fn len(path: &std::path::Path) -> Result<u64> {
    Ok(std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len())
}

fn policy_check() -> Result {
    cmd::run(&mut cargo(&["run", "--release", "-q", "-p", "latchkey-bench", "--bin", "policy_check"]))?;
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == "wasm32-wasip1") {
        cmd::run(Command::new("rustup").args(["target", "add", "wasm32-wasip1"]))?;
    }
    cmd::run(&mut cargo(&["build", "--release", "-q", "-p", "latchkey-bench", "--target", "wasm32-wasip1"]))?;
    let wasm = paths::target().join("wasm32-wasip1/release/policy_check.wasm");
    let mut node = Command::new("node")
        .args(["--no-warnings", "--input-type=module", "-", &wasm.display().to_string()])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    node.stdin.take().ok_or("no stdin")?.write_all(WASI_RUNNER.as_bytes()).map_err(|e| e.to_string())?;
    let status = node.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the wasm policy benchmark failed: {status}"))
    }
}
