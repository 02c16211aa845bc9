//! DEMO ONLY: the virtual key — the reference key compiled to wasm — as a transport. Its
//! module (`/demo/virtual_key.js` and its wasm) is imported on demand, only when the server
//! offers a virtual key; it fetches its image and keeps its flash itself, so next to nothing
//! of it weighs on the app's own bundle.

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::ble::BleError;

const MODULE: &str = "/demo/virtual_key.js";

#[wasm_bindgen(inline_js = "export async function open_virtual_key(url) { \
    const m = await import(url); await m.default(); return await m.open(); }")]
extern "C" {
    fn open_virtual_key(url: &str) -> js_sys::Promise;
}

pub struct VirtualKey(JsValue);

impl VirtualKey {
    pub async fn load() -> Result<VirtualKey, BleError> {
        let key = JsFuture::from(open_virtual_key(MODULE)).await.map_err(|e| {
            BleError::Failed(format!("the virtual key did not start ({})", e.as_string().unwrap_or_default()))
        })?;
        Ok(VirtualKey(key))
    }

    pub fn beacon(&self) -> Vec<u8> {
        self.call("beacon", &[]).map(|v| Uint8Array::new(&v).to_vec()).unwrap_or_default()
    }

    /// A chunk to the key; the chunks it notifies back.
    pub fn write(&self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let notes = self.call("write", &[Uint8Array::from(chunk).into()]).map(|v| Array::from(&v)).unwrap_or_default();
        notes.iter().map(|n| Uint8Array::new(&n).to_vec()).collect()
    }

    pub fn disconnect(&self) {
        let _ = self.call("disconnect", &[]);
    }

    fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = Reflect::get(&self.0, &JsValue::from_str(method))?.dyn_into()?;
        f.apply(&self.0, &args.iter().collect::<Array>())
    }
}
