//! A virtual key for trying Latchkey without hardware: the reference key (`keysim`) compiled
//! to wasm and run inside the page, behind the same link layer as a Bluetooth key.
//!
//! Demo only: the app imports this module (separately from its own bundle) only when the
//! server is configured with a virtual key image, and that image carries the key's storage
//! key. A real deployment never serves one. The key's flash is kept in the browser's
//! localStorage between visits (a new image from the server starts a new key).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use keysim::storage::MemoryFlash;
use keysim::SimKey;
use latchkey_api::VirtualKeyImage;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const IMAGE_URL: &str = "/api/demo/virtual-key";
const STORE: &str = "latchkey-demo-key";

#[wasm_bindgen]
pub struct VirtualKey {
    key: SimKey<MemoryFlash>,
    /// The server's image this key started from.
    base: String,
}

/// Boots the virtual key from what this browser kept, or from the server's image.
#[wasm_bindgen]
pub async fn open() -> Result<VirtualKey, JsError> {
    let window = web_sys::window().ok_or_else(|| JsError::new("no window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(IMAGE_URL))
        .await
        .map_err(|_| JsError::new("the demo key image cannot be fetched"))?
        .dyn_into()
        .map_err(|_| JsError::new("not a response"))?;
    if !response.ok() {
        return Err(JsError::new("this server offers no virtual key"));
    }
    let text = JsFuture::from(response.text().map_err(|_| JsError::new("unreadable image"))?)
        .await
        .map_err(|_| JsError::new("unreadable image"))?
        .as_string()
        .unwrap_or_default();
    let image: VirtualKeyImage = serde_json::from_str(&text).map_err(|_| JsError::new("unreadable image"))?;
    let kept = storage().and_then(|s| s.get_item(STORE).ok().flatten());
    let flash = match kept.as_deref().and_then(|k| k.split_once(':')) {
        Some((base, flash)) if base == image.flash => flash.to_string(),
        _ => image.flash.clone(),
    };
    let flash = hex::decode(flash).map_err(|_| JsError::new("damaged image"))?;
    let mut storage_key = [0u8; 32];
    hex::decode_to_slice(&image.storage_key, &mut storage_key).map_err(|_| JsError::new("damaged image"))?;
    let mut seed = [0u8; 32];
    let crypto = window.crypto().map_err(|_| JsError::new("no crypto"))?;
    crypto.get_random_values_with_u8_array(&mut seed).map_err(|_| JsError::new("no crypto"))?;
    let flash = MemoryFlash { contents: Some(flash), ..MemoryFlash::default() };
    let key = SimKey::boot(flash, storage_key, seed).map_err(|_| JsError::new("the key image does not open"))?;
    Ok(VirtualKey { key, base: image.flash })
}

#[wasm_bindgen]
impl VirtualKey {
    /// The info characteristic's value.
    pub fn beacon(&self) -> Vec<u8> {
        self.key.beacon()
    }

    /// A chunk written to the key; returns the chunks it notifies back.
    pub fn write(&mut self, chunk: &[u8]) -> js_sys::Array {
        let now = js_sys::Date::now() as u64;
        let notes = self.key.on_write(chunk, now);
        self.keep();
        notes.into_iter().map(|n| JsValue::from(js_sys::Uint8Array::from(&n[..]))).collect()
    }

    /// The link dropped.
    pub fn disconnect(&mut self) {
        self.key.disconnect();
    }

    fn keep(&self) {
        if let (Some(store), Some(flash)) = (storage(), self.key.flash().contents.as_ref()) {
            let _ = store.set_item(STORE, &format!("{}:{}", self.base, hex::encode(flash)));
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}
