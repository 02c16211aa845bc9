//! Latchkey's administration pages: a bundle of their own at /admin/, so the employees' pages
//! stay small. Knows the DOM and HTTP only, like the employees' app whose API client it shares.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod components;

#[cfg(target_arch = "wasm32")]
fn main() {
    leptos::mount::mount_to_body(components::admin_app::AdminApp);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("latchkey-admin runs in the browser: build it with `cargo xtask spa`");
}
