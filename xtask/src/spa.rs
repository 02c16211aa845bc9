//! Builds the SPA with Trunk (release, size profile, wasm-opt from binaryen), the administration
//! pages and the "Can't sign in?" pages as bundles of their own in `dist/admin/` and
//! `dist/recover/`, then the demo's virtual key as a separate module in `dist/demo/` that the
//! app imports only on demand; last, the service worker and the precompressed copies
//! (`xtask::pwa`).

use std::process::Command;

use crate::{cmd, paths, Result};

pub fn build() -> Result {
    cmd::run(
        Command::new("trunk")
            .args(["build", "--release", "--dist"])
            .arg(paths::dist())
            .current_dir(paths::root())
            .env("PATH", paths::tool_path())
            .env("CARGO_TARGET_DIR", paths::target()),
    )?;
    paint_plain_form_first(&paths::dist().join("index.html"))?;
    // The administration pages: their own bundle at /admin/ (after the app's build, which
    // empties dist/).
    cmd::run(
        Command::new("trunk")
            .args(["build", "admin/index.html", "--release", "true", "--public-url", "/admin/", "--dist"])
            .arg(paths::dist().join("admin"))
            .current_dir(paths::root())
            .env("PATH", paths::tool_path())
            .env("CARGO_TARGET_DIR", paths::target()),
    )?;
    // "Can't sign in?": its own bundle at /recover/, off the employees' first load.
    cmd::run(
        Command::new("trunk")
            .args(["build", "recover/index.html", "--release", "true", "--public-url", "/recover/", "--dist"])
            .arg(paths::dist().join("recover"))
            .current_dir(paths::root())
            .env("PATH", paths::tool_path())
            .env("CARGO_TARGET_DIR", paths::target()),
    )?;
    virtual_key()?;
    // Last, over everything built: the service worker and the compressed copies.
    xtask::pwa::finish(&paths::dist())
}

/// The reference key for the page: wasm-bindgen (`--target web`, loaded by `import()`), then
/// wasm-opt. Never part of the app's initial load.
fn virtual_key() -> Result {
    cmd::run(
        Command::new("cargo")
            .args(["build", "--locked", "-p", "latchkey-virtual-key", "--target", "wasm32-unknown-unknown"])
            .args(["--profile", "wasm-release"])
            .current_dir(paths::root())
            .env("CARGO_TARGET_DIR", paths::target()),
    )?;
    let out = paths::dist().join("demo");
    let wasm = paths::target().join("wasm32-unknown-unknown/wasm-release/latchkey_virtual_key.wasm");
    cmd::run(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript", "--out-name", "virtual_key", "--out-dir"])
            .arg(&out)
            .arg(&wasm)
            .env("PATH", paths::tool_path()),
    )?;
    let module = out.join("virtual_key_bg.wasm");
    cmd::run(
        Command::new("wasm-opt")
            .args(["-Oz", "--strip-debug", "-o"])
            .arg(&module)
            .arg(&module)
            .env("PATH", paths::tool_path()),
    )
}

/// Trunk's loader starts the app as soon as the page is parsed. When the page already shows its
/// plain sign-in form, the app's start (compiling the wasm can take every core a small machine
/// has) waits for the frame that draws the form, or 100 ms at most. A hidden tab draws no
/// frame, and a page without the plain form at that moment (a signed-in user's, with the hint)
/// has nothing to draw first: their apps start at once.
fn paint_plain_form_first(page: &std::path::Path) -> Result {
    const START: &str = "const wasm = await init(";
    const WAIT: &str =
        "if (document.visibilityState === \"visible\" && document.getElementById(\"early\")?.hidden === false) \
        await new Promise((go) => { requestAnimationFrame(() => setTimeout(go)); setTimeout(go, 100); });\n";
    let html = std::fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
    if !html.contains(START) {
        return Err(format!("{}: Trunk's loader no longer has `{START}`", page.display()));
    }
    std::fs::write(page, html.replacen(START, &format!("{WAIT}{START}"), 1))
        .map_err(|e| format!("{}: {e}", page.display()))
}
