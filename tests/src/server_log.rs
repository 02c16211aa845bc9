//! Everything the servers of this test process log, kept in memory so a test can search it
//! (for a password that must never be logged). Installed once, by the first `spawn_app`.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

fn log() -> &'static Mutex<Vec<u8>> {
    LOG.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        log().lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the server's log at debug level from now on (once per process).
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::new("info,latchkey_server=debug");
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| Capture).try_init();
    });
}

/// What was logged so far (every server of this process).
pub fn text() -> Vec<u8> {
    log().lock().unwrap_or_else(|e| e.into_inner()).clone()
}
