//! Latchkey's SPA. Knows the DOM, HTTP and WebBluetooth; never LDAP, SQL or a key's secrets. The same password rules as the server run here, live, as the user types.
//!
//! Plain-Rust logic (`checklist`, `dates`, `offer`, `step_up_markup`) builds and is tested on the host; the UI is
//! wasm only.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod checklist;
pub mod dates;
pub mod offer;
pub mod step_up_markup;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod ble;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod early;
#[cfg(target_arch = "wasm32")]
pub mod focus;
#[cfg(target_arch = "wasm32")]
pub mod key_session;
#[cfg(target_arch = "wasm32")]
mod live_check;
#[cfg(target_arch = "wasm32")]
pub mod network;
#[cfg(target_arch = "wasm32")]
mod relay;
#[cfg(target_arch = "wasm32")]
mod step_up;
#[cfg(target_arch = "wasm32")]
mod virtual_key;

/// Mounts the app on the page's body, in place of the page's plain sign-in form.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    early::take_over();
    leptos::mount::mount_to_body(components::app::App);
}
