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
use crate::virtual_key::VirtualKey;

/// How the page reaches the key.
pub enum Transport {
    Bluetooth(KeyConnection),
    /// DEMO ONLY: the reference key running in the page.
    Virtual(VirtualKey),
}

/// What the relay reports: the server's events, or why the session is gone.
pub type Update = Result<RelayEvent, BleError>;

/// A running relay; dropping it ends the session (and disconnects the key).
pub struct Relay {
    socket: WebSocket,
    transport: Rc<Transport>,
    _handlers: Handlers,
}

struct Handlers {
    _open: Closure<dyn FnMut()>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut()>,
    _notification: Option<Closure<dyn FnMut()>>,
    _lost: Option<Closure<dyn FnMut()>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.socket.set_onclose(None);
        let _ = self.socket.close();
        match self.transport.as_ref() {
            Transport::Bluetooth(connection) => {
                connection.from_key.set_oncharacteristicvaluechanged(None);
                connection.device.set_ongattserverdisconnected(None);
                connection.disconnect();
            }
            Transport::Virtual(key) => key.disconnect(),
        }
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
pub fn start(transport: Transport, beacon: Vec<u8>, on_update: impl Fn(Update) + 'static) -> Result<Relay, BleError> {
    let location = web_sys::window().map(|w| w.location()).ok_or(BleError::Unsupported)?;
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().map_err(|_| BleError::Failed("no host".into()))?;
    let socket = WebSocket::new(&format!("{scheme}://{host}/api/key/relay"))
        .map_err(|_| BleError::Failed("the relay could not be opened".into()))?;
    socket.set_binary_type(BinaryType::Arraybuffer);
    let transport = Rc::new(transport);
    let reassembler = Rc::new(std::cell::RefCell::new(Reassembler::default()));
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
        let (transport, report, socket, reassembler) =
            (transport.clone(), report.clone(), socket.clone(), reassembler.clone());
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
            if let Transport::Virtual(key) = transport.as_ref() {
                for note in chunks.iter().flat_map(|chunk| key.write(chunk)) {
                    forward(&reassembler, &socket, &note);
                }
                return;
            }
            let (transport, report) = (transport.clone(), report.clone());
            spawn_local(async move {
                let Transport::Bluetooth(connection) = transport.as_ref() else { return };
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

    socket.set_onopen(Some(open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(close.as_ref().unchecked_ref()));
    let (mut notification, mut lost) = (None, None);
    if let Transport::Bluetooth(connection) = transport.as_ref() {
        let on_note = {
            let (from_key, socket, reassembler) = (connection.from_key.clone(), socket.clone(), reassembler.clone());
            Closure::<dyn FnMut()>::new(move || {
                if let Some(view) = from_key.value() {
                    forward(&reassembler, &socket, &ble::bytes_of(&view));
                }
            })
        };
        // The key went out of range: the server notices the closed relay; the page offers to
        // reconnect.
        let on_lost = {
            let (report, socket) = (report.clone(), socket.clone());
            Closure::<dyn FnMut()>::new(move || {
                report(Err(BleError::Lost));
                let _ = socket.close();
            })
        };
        connection.from_key.set_oncharacteristicvaluechanged(Some(on_note.as_ref().unchecked_ref()));
        connection.device.set_ongattserverdisconnected(Some(on_lost.as_ref().unchecked_ref()));
        (notification, lost) = (Some(on_note), Some(on_lost));
    }
    let _handlers =
        Handlers { _open: open, _message: message, _close: close, _notification: notification, _lost: lost };
    Ok(Relay { socket, transport, _handlers })
}

/// A chunk from the key; a whole frame goes to the server.
fn forward(reassembler: &std::cell::RefCell<Reassembler>, socket: &WebSocket, chunk: &[u8]) {
    let now = js_sys::Date::now() as u64;
    if let Ok(Some(frame)) = reassembler.borrow_mut().push(chunk, now) {
        let _ = socket.send_with_u8_array(&frame);
    }
}
