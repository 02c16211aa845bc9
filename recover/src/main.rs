//! Latchkey's "Can't sign in?" pages: a bundle of their own at /recover/, so the employees'
//! first load stays small. Knows the DOM and HTTP only; the key's connection and the API
//! client are the employees' app's, used as a library.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod components;

#[cfg(target_arch = "wasm32")]
fn main() {
    leptos::mount::mount_to_body(components::recover_app::RecoverApp);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("latchkey-recover runs in the browser: build it with `cargo xtask spa`");
}
