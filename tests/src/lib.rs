//! The test kit: a handle on the Samba AD DC that `cargo xtask test` starts, users made fresh
//! for each test, and the real server spawned on a random port with a fresh database.

pub mod app;
pub mod bluetooth;
pub mod browser;
pub mod dc;
pub mod dc_proxy;
pub mod evidence;
pub mod held_page;
pub mod keys;
pub mod load;
pub mod process;
pub mod pwa;
pub mod round_robin;
pub mod secrets;
pub mod server_log;
pub mod smtp;
pub mod tcp_relay;
pub mod wire;

pub use app::{spawn_app, AppOptions, TestApp};

/// The current code of an authenticator app holding `secret_base32` (TOTP: SHA-1, 6 digits, 30 s).
pub fn totp_code(secret_base32: &str) -> String {
    totp_code_at(secret_base32, now())
}

/// The code of the time step that holds `unix_secs` (a code is accepted once per step: a test
/// that gives two in a row takes the second from the next step, which the server still accepts).
pub fn totp_code_at(secret_base32: &str, unix_secs: u64) -> String {
    use totp_rs::{Algorithm, Secret, TOTP};
    let secret = Secret::Encoded(secret_base32.trim().to_string()).to_bytes().expect("a base32 secret");
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret).expect("a TOTP").generate(unix_secs)
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
pub use dc::{TestDc, TestUser, UserOptions};
