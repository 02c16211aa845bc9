//! `cargo xtask bench`: the figures the project tracks. Measurements, never pass/fail.
//! - the SPA's initial load (wasm + js + css), gzipped;
//! - one policy check, p50/p99, natively and as wasm (run by Node.js, the engine of Chromium);
//! - bytes and round trips of the key protocol's flows;
//! - the employee list with 10,000 employees, on SQLite and PostgreSQL;
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
    drop(pg);
    let dc = Dc::start()?;
    let result = cmd::run(cargo(&["bench", "-p", "latchkey-tests", "--bench", "directory"]).envs(dc.env()));
    drop(dc);
    result
}

fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new("cargo");
    c.args(args).args(["--locked"]).current_dir(paths::root()).env("CARGO_TARGET_DIR", paths::target());
    c
}

/// The app's initial load must stay under this, gzipped (wasm + js + css; the demo's
/// separately loaded virtual key is not part of it).
pub const BUNDLE_BUDGET: u64 = 200_000;

/// Prints each file of the initial load and returns the gzipped total.
pub fn bundle_size() -> Result<u64> {
    let mut total = 0;
    let entries = std::fs::read_dir(paths::dist()).map_err(|e| e.to_string())?;
    for entry in entries.flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !["wasm", "js", "css"].contains(&ext) {
            continue;
        }
        let raw = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        let gz = gzip_len(&path)?;
        total += gz;
        println!(
            "bundle {:<40} {raw:>8} B raw {gz:>8} B gzip-9",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    println!("bundle initial load (wasm + js + css): {total} B gzip-9 (budget {BUNDLE_BUDGET} B)");
    Ok(total)
}

fn gzip_len(path: &std::path::Path) -> Result<u64> {
    let bytes = Command::new("gzip").arg("-9c").arg(path).output().map_err(|e| e.to_string())?.stdout;
    Ok(bytes.len() as u64)
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
