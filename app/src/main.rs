#[cfg(target_arch = "wasm32")]
fn main() {
    latchkey_app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("latchkey-app runs in the browser: build it with `trunk build`");
}
