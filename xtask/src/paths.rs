//! Where things live. Caches sit outside the clone so that a fresh clone on the same machine
//! (as CI makes) reuses them.

use std::path::PathBuf;

/// The repository root (xtask lives one level below it). Read when run, not when built: a
/// binary built in another clone that shares the target folder (CI's, say) is reused by cargo
/// without a rebuild, and must still work on the clone it was run from.
pub fn root() -> PathBuf {
    let manifest =
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `$LATCHKEY_CACHE`, else `~/.cache/latchkey`.
pub fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("LATCHKEY_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache").join("latchkey")
}

/// Cargo's target directory for the workspace and the SPA builds.
pub fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| cache().join("target"))
}

/// The built SPA: `$LATCHKEY_DIST`, else `dist/` in the clone (two builds side by side, say
/// while a second build of the app is tested against the first).
pub fn dist() -> PathBuf {
    std::env::var_os("LATCHKEY_DIST").map(PathBuf::from).unwrap_or_else(|| root().join("dist"))
}

/// axe-core's browser script, injected into pages by the accessibility checks.
pub fn axe_core() -> PathBuf {
    cache().join("tools").join("node_modules").join("axe-core").join("axe.min.js")
}

/// Schemathesis's command, in its virtualenv in the tools cache.
pub fn schemathesis() -> PathBuf {
    cache().join("tools").join("schemathesis").join("bin").join("st")
}

/// npm-installed tools (binaryen's wasm-opt).
pub fn node_bin() -> PathBuf {
    cache().join("tools").join("node_modules").join(".bin")
}

/// PATH with the project's tools first.
pub fn tool_path() -> std::ffi::OsString {
    let mut parts = vec![node_bin()];
    if let Some(home) = std::env::var_os("HOME") {
        parts.push(PathBuf::from(home).join(".cargo").join("bin"));
    }
    parts.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(parts).unwrap_or_default()
}
