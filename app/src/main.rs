//! Latchkey's SPA. Knows the DOM and HTTP (and, later, WebBluetooth); never LDAP, SQL or a
//! key's secrets. The same password rules as the server run here, live, as the user types.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod checklist;
mod dates;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod components;

#[cfg(target_arch = "wasm32")]
fn main() {
    leptos::mount::mount_to_body(components::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("latchkey-app runs in the browser: build it with `trunk build`");
}
