//! The page's side of the key relay: frames from the server go to the key in chunks; the key's
//! notifications are reassembled into frames for the server. The page reads none of them; it
//! hears the session's events and sends the user's requests.

use std::cell::Cell;
use std::rc::Rc;

use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_protocol::gatt;
use latchkey_protocol::link::{Chunker, Reassembler};
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::ble::{self, BleError, KeyConnection};

/// What the relay reports: the server's events, or why the session is gone.
pub type Update = Result<RelayEvent, BleError>;

/// A running relay; dropping it ends the session (and disconnects the key).
pub struct Relay {
    socket: WebSocket,
    connection: Rc<KeyConnection>,
    _handlers: Handlers,
}

struct Handlers {
    _open: Closure<dyn FnMut()>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut()>,
    _notification: Closure<dyn FnMut()>,
    _lost: Closure<dyn FnMut()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.socket.set_onclose(None);
        let _ = self.socket.close();
        self.connection.from_key.set_oncharacteristicvaluechanged(None);
        self.connection.device.set_ongattserverdisconnected(None);
        self.connection.disconnect();
    }
}

impl Relay {
    pub fn send(&self, request: &RelayRequest) {
        if let Ok(text) = serde_json::to_string(request) {
            let _ = self.socket.send_with_str(&text);
        }
    }
}

/// Opens the relay for `connection`; `on_update` hears every event until the session ends.
pub fn start(
    connection: KeyConnection,
    beacon: Vec<u8>,
    on_update: impl Fn(Update) + 'static,
) -> Result<Relay, BleError> {
    let location = web_sys::window().map(|w| w.location()).ok_or(BleError::Unsupported)?;
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().map_err(|_| BleError::Failed("no host".into()))?;
    let socket = WebSocket::new(&format!("{scheme}://{host}/api/key/relay"))
        .map_err(|_| BleError::Failed("the relay could not be opened".into()))?;
    socket.set_binary_type(BinaryType::Arraybuffer);
    let connection = Rc::new(connection);
    let on_update = Rc::new(on_update);
    // Once the session is over, later closes and errors say nothing more.
    let over = Rc::new(Cell::new(false));
    let report = {
        let (on_update, over) = (on_update.clone(), over.clone());
        Rc::new(move |update: Update| {
            if over.get() {
                return;
            }
            if matches!(update, Err(_) | Ok(RelayEvent::Failed { .. })) {
                over.set(true);
            }
            on_update(update);
        })
    };

    let open = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || {
            let hello = RelayRequest::Beacon { beacon: hex::encode(&beacon) };
            if let Ok(text) = serde_json::to_string(&hello) {
                let _ = socket.send_with_str(&text);
            }
        })
    };

    let message = {
        let (connection, report) = (connection.clone(), report.clone());
        let chunker = Rc::new(std::cell::RefCell::new(Chunker::default()));
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(text) = data.as_string() {
                report(
                    serde_json::from_str::<RelayEvent>(&text).map_err(|_| BleError::Failed("unreadable event".into())),
                );
                return;
            }
            let frame = js_sys::Uint8Array::new(&data).to_vec();
            let chunks = chunker.borrow_mut().split(&frame, gatt::chunk_size(23)).unwrap_or_default();
            let (connection, report) = (connection.clone(), report.clone());
            spawn_local(async move {
                for chunk in chunks {
                    if let Err(e) = connection.write(&chunk).await {
                        report(Err(e));
                        return;
                    }
                }
            });
        })
    };

    let close = {
        let report = report.clone();
        Closure::<dyn FnMut()>::new(move || {
            report(Err(BleError::Failed("the connection to the server was lost".into())))
        })
    };

    let notification = {
        let (connection, socket) = (connection.clone(), socket.clone());
        let reassembler = std::cell::RefCell::new(Reassembler::default());
        Closure::<dyn FnMut()>::new(move || {
            let Some(view) = connection.from_key.value() else { return };
            let now = js_sys::Date::now() as u64;
            if let Ok(Some(frame)) = reassembler.borrow_mut().push(&ble::bytes_of(&view), now) {
                let _ = socket.send_with_u8_array(&frame);
            }
        })
    };

    // The key went out of range: the server notices the closed relay; the page offers to
    // reconnect.
    let lost = {
        let (report, socket) = (report.clone(), socket.clone());
        Closure::<dyn FnMut()>::new(move || {
            report(Err(BleError::Lost));
            let _ = socket.close();
        })
    };

    socket.set_onopen(Some(open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(close.as_ref().unchecked_ref()));
    connection.from_key.set_oncharacteristicvaluechanged(Some(notification.as_ref().unchecked_ref()));
    connection.device.set_ongattserverdisconnected(Some(lost.as_ref().unchecked_ref()));
    let _handlers =
        Handlers { _open: open, _message: message, _close: close, _notification: notification, _lost: lost };
    Ok(Relay { socket, connection, _handlers })
}
