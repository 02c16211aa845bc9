//! Running commands with errors that say which command failed.

use std::process::{Command, Output};

use crate::Result;

/// Runs `cmd`, inheriting stdio; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result {
    eprintln!("+ {}", describe(cmd));
    let status = cmd.status().map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed: {status}", describe(cmd)))
    }
}

/// Runs `cmd` and returns its stdout; fails (with stderr) unless it exits 0.
pub fn output(cmd: &mut Command) -> Result<String> {
    let Output { status, stdout, stderr } = cmd.output().map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    } else {
        Err(format!("{} failed: {status}\n{}", describe(cmd), String::from_utf8_lossy(&stderr)))
    }
}

/// The first line a command prints, or `None` when it is missing or fails.
pub fn probe(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string())
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
