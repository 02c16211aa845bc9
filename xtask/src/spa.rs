//! Builds the SPA with Trunk (release, size profile, wasm-opt from binaryen).

use std::process::Command;

use crate::{cmd, paths, Result};

pub fn build() -> Result {
    cmd::run(
        Command::new("trunk")
            .args(["build", "--release"])
            .current_dir(paths::root())
            .env("PATH", paths::tool_path())
            .env("CARGO_TARGET_DIR", paths::target()),
    )
}
