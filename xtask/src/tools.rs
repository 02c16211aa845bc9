//! Installs what the build and the tests need, each only when missing or at the wrong version.

use std::process::Command;

use crate::{cmd, paths, Result};

/// Debian packages: the directory (Samba AD DC and its Python bindings, LDAP tools), the
/// browser for end-to-end tests, PostgreSQL for the store's second backend, and a real SMTP
/// server (aiosmtpd) for the mail tests.
const APT_PACKAGES: &[&str] = &[
    "samba",
    "samba-ad-dc",
    "python3-samba",
    "ldap-utils",
    "openssl",
    "chromium",
    "chromium-driver",
    "postgresql",
    "python3-aiosmtpd",
    // A virtualenv for the API contract checker (from PyPI).
    "python3-venv",
];

const TRUNK: &str = "0.21.14";
/// Must equal the wasm-bindgen version in Cargo.lock (pinned with `=` in app/Cargo.toml).
const WASM_BINDGEN: &str = "0.2.130";
/// Binaryen from npm: Debian's older wasm-opt silently breaks current wasm-bindgen output.
const BINARYEN: &str = "132.0.0";
/// The accessibility checker the browser tests inject into pages.
const AXE_CORE: &str = "4.14.1";
/// The API contract checker: generates requests from `/api/openapi.json` and checks the answers.
const SCHEMATHESIS: &str = "4.32.5";

pub fn ensure_all() -> Result {
    ensure_apt()?;
    ensure_wasm_target()?;
    ensure_cargo_tool("trunk", TRUNK, &["install", "--locked", &format!("trunk@{TRUNK}")])?;
    // Without --locked: its lockfile names a crate version the registry no longer serves.
    ensure_cargo_tool("wasm-bindgen", WASM_BINDGEN, &["install", &format!("wasm-bindgen-cli@{WASM_BINDGEN}")])?;
    ensure_binaryen()?;
    ensure_npm_package("axe-core", AXE_CORE, &paths::axe_core())?;
    ensure_schemathesis()
}

/// Schemathesis from PyPI in its own virtualenv in the tools cache, at the pinned version.
fn ensure_schemathesis() -> Result {
    let st = paths::schemathesis();
    let version = cmd::probe(&st.to_string_lossy(), &["--version"]).unwrap_or_default();
    if version.ends_with(SCHEMATHESIS) {
        return Ok(());
    }
    let venv = paths::cache().join("tools").join("schemathesis");
    cmd::run(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv))?;
    cmd::run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("schemathesis=={SCHEMATHESIS}")),
    )
}

/// An npm package in the tools cache, at `version`; `probe` is a file it installs.
fn ensure_npm_package(name: &str, version: &str, probe: &std::path::Path) -> Result {
    let manifest = probe.parent().map(|d| d.join("package.json"));
    let installed = manifest.and_then(|m| std::fs::read_to_string(m).ok()).unwrap_or_default();
    if probe.exists() && installed.contains(&format!("\"version\": \"{version}\"")) {
        return Ok(());
    }
    npm_install(name, version)
}

/// Installs `name@version` into the tools cache.
fn npm_install(name: &str, version: &str) -> Result {
    let prefix = paths::cache().join("tools");
    std::fs::create_dir_all(&prefix).map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    cmd::run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("{name}@{version}")),
    )
}

fn ensure_apt() -> Result {
    let missing: Vec<&str> = APT_PACKAGES.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Debian packages: {}", missing.join(" "));
    cmd::run(Command::new("apt-get").args(["update", "-qq"]))?;
    cmd::run(
        Command::new("apt-get").args(["install", "-y", "-qq"]).args(&missing).env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn dpkg_installed(package: &str) -> bool {
    cmd::probe("dpkg-query", &["-W", "-f=${Status}", package]).is_some_and(|s| s.ends_with("install ok installed"))
}

fn ensure_wasm_target() -> Result {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    cmd::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_cargo_tool(binary: &str, version: &str, install_args: &[&str]) -> Result {
    let found = cmd::probe(binary, &["--version"]).unwrap_or_default();
    if found.split_whitespace().any(|w| w == version) {
        return Ok(());
    }
    eprintln!("{binary} {version} is missing (found: {found:?}); installing");
    // Tool builds get their own target dir so they never invalidate the workspace's.
    cmd::run(Command::new("cargo").args(install_args).env("CARGO_TARGET_DIR", paths::cache().join("tool-build")))
}

fn ensure_binaryen() -> Result {
    let wasm_opt = paths::node_bin().join("wasm-opt");
    let major = BINARYEN.split('.').next().unwrap_or(BINARYEN);
    let found = cmd::probe(&wasm_opt.to_string_lossy(), &["--version"]).unwrap_or_default();
    if found.contains(&format!("version {major}")) {
        return Ok(());
    }
    npm_install("binaryen", BINARYEN)
}
