//! WebBluetooth: finding the key, connecting, and reading its beacon. The browser gives no
//! timeouts of its own, so every operation here has one.

use std::future::Future;

use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::Promise;
use latchkey_protocol::gatt;
use wasm_bindgen::convert::FromWasmAbi;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{BluetoothDevice, BluetoothLeScanFilterInit, BluetoothRemoteGattCharacteristic, RequestDeviceOptions};

const CONNECT_MS: u32 = 10_000;
const OPERATION_MS: u32 = 5_000;

#[derive(Clone, Debug, PartialEq)]
pub enum BleError {
    /// No WebBluetooth in this browser (Firefox, Safari) or it is switched off.
    Unsupported,
    /// The user closed the chooser, or no key was in range.
    Cancelled,
    /// No Bluetooth adapter, or it is off.
    NoAdapter,
    TimedOut(&'static str),
    /// The key went out of range or was switched off.
    Lost,
    Failed(String),
}

impl BleError {
    pub fn message(&self) -> String {
        match self {
            BleError::Unsupported => "This browser cannot talk to Bluetooth keys. Use a current Chrome or Edge; \
                                      on Linux, WebBluetooth may need to be enabled."
                .into(),
            BleError::Cancelled => "No key was chosen. Switch the key on, bring it close and try again.".into(),
            BleError::NoAdapter => "No Bluetooth adapter is available. Switch Bluetooth on and try again.".into(),
            BleError::TimedOut(what) => {
                format!("The key did not answer in time ({what}). Bring it closer and try again.")
            }
            BleError::Lost => "The key went out of range or was switched off. Bring it close and reconnect: \
                               an interrupted change is finished or undone then."
                .into(),
            BleError::Failed(detail) => format!("Talking to the key failed: {detail}"),
        }
    }

    fn from_js(e: JsValue) -> BleError {
        let name = e.dyn_ref::<web_sys::DomException>().map(|d| d.name()).unwrap_or_default();
        match name.as_str() {
            "NotFoundError" => BleError::Cancelled,
            "NotAllowedError" | "SecurityError" => BleError::Cancelled,
            "InvalidStateError" | "NotSupportedError" if e.as_string().is_none() => {
                BleError::Failed(format!("{name}: {}", dom_message(&e)))
            }
            _ => BleError::Failed(dom_message(&e)),
        }
    }
}

fn dom_message(e: &JsValue) -> String {
    e.dyn_ref::<web_sys::DomException>()
        .map(|d| d.message())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// A connected key.
pub struct KeyConnection {
    pub device: BluetoothDevice,
    pub info: BluetoothRemoteGattCharacteristic,
    /// Where the relay writes chunks.
    pub to_key: BluetoothRemoteGattCharacteristic,
    /// Subscribed; the key's notifications arrive here.
    pub from_key: BluetoothRemoteGattCharacteristic,
}

impl KeyConnection {
    /// Writes one chunk and waits for the key to acknowledge it.
    pub async fn write(&self, chunk: &[u8]) -> Result<(), BleError> {
        let promise = self.to_key.write_value_with_response_with_u8_slice(chunk).map_err(BleError::from_js)?;
        timed(OPERATION_MS, "write", promise).await.map(|_| ())
    }

    pub fn disconnect(&self) {
        if let Some(server) = self.device.gatt() {
            server.disconnect();
        }
    }
}

/// Opens the browser's chooser. Must run inside the click handler (a user gesture).
pub fn choose() -> Result<Promise<BluetoothDevice>, BleError> {
    let bluetooth = web_sys::window().and_then(|w| w.navigator().bluetooth()).ok_or(BleError::Unsupported)?;
    let filter = BluetoothLeScanFilterInit::new();
    filter.set_services(&[js_sys::JsString::from(gatt::SERVICE)]);
    let options = RequestDeviceOptions::new();
    options.set_filters(&[filter]);
    // Called through `Function::call1`, which turns a synchronous throw into an error value;
    // through web-sys's binding it would abort the app.
    let request = js_sys::Reflect::get(&bluetooth, &JsValue::from_str("requestDevice"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or(BleError::Unsupported)?;
    match request.call1(&bluetooth, &options) {
        Ok(promise) => Ok(promise.unchecked_into()),
        Err(e) => Err(BleError::from_js(e)),
    }
}

/// Waits for the chooser; the chosen key.
pub async fn chosen(chosen: Promise<BluetoothDevice>) -> Result<BluetoothDevice, BleError> {
    match JsFuture::from(chosen).await {
        Ok(device) => Ok(device),
        Err(e) => Err(explain_not_found(BleError::from_js(e)).await),
    }
}

/// Connects to `device` and fetches the characteristics: on the first connection and again
/// after every reconnect (the old objects are invalid then).
pub async fn open(device: BluetoothDevice) -> Result<KeyConnection, BleError> {
    let server = device.gatt().ok_or_else(|| BleError::Failed("the key offers no GATT server".into()))?;
    let server: web_sys::BluetoothRemoteGattServer = timed(CONNECT_MS, "connect", server.connect()).await?;
    let service: web_sys::BluetoothRemoteGattService =
        timed(OPERATION_MS, "service", server.get_primary_service_with_str(gatt::SERVICE)).await?;
    let characteristic =
        |uuid: &'static str| timed(OPERATION_MS, "characteristic", service.get_characteristic_with_str(uuid));
    let info = characteristic(gatt::INFO).await?;
    let to_key = characteristic(gatt::HOST_TO_KEY).await?;
    let from_key: BluetoothRemoteGattCharacteristic = characteristic(gatt::KEY_TO_HOST).await?;
    let from_key = timed(OPERATION_MS, "notifications", from_key.start_notifications()).await?;
    Ok(KeyConnection { device, info, to_key, from_key })
}

/// "Not found" means a cancelled chooser, or no adapter at all: ask which.
async fn explain_not_found(e: BleError) -> BleError {
    if e != BleError::Cancelled {
        return e;
    }
    let Some(bluetooth) = web_sys::window().and_then(|w| w.navigator().bluetooth()) else {
        return BleError::Unsupported;
    };
    match race(OPERATION_MS, JsFuture::from(bluetooth.get_availability())).await {
        Some(Ok(available)) if !available.value_of() => BleError::NoAdapter,
        _ => BleError::Cancelled,
    }
}

/// The key's beacon (its info characteristic), as bytes: the server reads it, the page only
/// passes it on.
pub async fn read_beacon(connection: &KeyConnection) -> Result<Vec<u8>, BleError> {
    let view: js_sys::DataView = timed(OPERATION_MS, "read", connection.info.read_value()).await?;
    let bytes = bytes_of(&view);
    if bytes.is_empty() {
        return Err(BleError::Failed("the key's beacon is empty".into()));
    }
    Ok(bytes)
}

/// The bytes of a DataView.
pub fn bytes_of(view: &js_sys::DataView) -> Vec<u8> {
    js_sys::Uint8Array::new_with_byte_offset_and_length(
        &view.buffer(),
        view.byte_offset() as u32,
        view.byte_length() as u32,
    )
    .to_vec()
}

/// `promise` with a deadline.
async fn timed<T: FromWasmAbi + 'static>(ms: u32, what: &'static str, promise: Promise<T>) -> Result<T, BleError> {
    let outcome = race(ms, JsFuture::from(promise)).await.ok_or(BleError::TimedOut(what))?;
    outcome.map_err(BleError::from_js)
}

async fn race<F: Future + Unpin>(ms: u32, fut: F) -> Option<F::Output> {
    match select(fut, TimeoutFuture::new(ms)).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}
