//! The page's side of the key relay: frames from the server go to the key in chunks; the key's
//! notifications are reassembled into frames for the server. The page reads none of them.

use std::cell::RefCell;
use std::rc::Rc;

use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_protocol::gatt;
use latchkey_protocol::link::{Chunker, Reassembler};
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::ble::{self, BleError, KeyConnection};

/// A running relay; dropping it ends the session.
pub struct Relay {
    socket: WebSocket,
    connection: Rc<KeyConnection>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
    _on_notification: Closure<dyn FnMut()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.socket.close();
        self.connection.from_key.set_oncharacteristicvaluechanged(None);
        self.connection.disconnect();
    }
}

/// Opens the relay for `connection`; `on_event` hears how the session ended.
pub fn start(
    connection: KeyConnection,
    beacon: Vec<u8>,
    on_event: impl Fn(Result<RelayEvent, BleError>) + 'static,
) -> Result<Relay, BleError> {
    let location = web_sys::window().map(|w| w.location()).ok_or(BleError::Unsupported)?;
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().map_err(|_| BleError::Failed("no host".into()))?;
    let socket = WebSocket::new(&format!("{scheme}://{host}/api/key/relay"))
        .map_err(|_| BleError::Failed("the relay could not be opened".into()))?;
    socket.set_binary_type(BinaryType::Arraybuffer);
    let connection = Rc::new(connection);
    let on_event = Rc::new(on_event);
    let finished = Rc::new(RefCell::new(false));

    let on_open = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || {
            let hello = RelayRequest::Beacon { beacon: hex::encode(&beacon) };
            if let Ok(text) = serde_json::to_string(&hello) {
                let _ = socket.send_with_str(&text);
            }
        })
    };

    let on_message = {
        let (connection, on_event, finished) = (connection.clone(), on_event.clone(), finished.clone());
        let chunker = Rc::new(RefCell::new(Chunker::default()));
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(text) = data.as_string() {
                *finished.borrow_mut() = true;
                let parsed = serde_json::from_str::<RelayEvent>(&text)
                    .map_err(|_| BleError::Failed("the server's answer is unreadable".into()));
                on_event(parsed);
                return;
            }
            let frame = js_sys::Uint8Array::new(&data).to_vec();
            let chunks = chunker.borrow_mut().split(&frame, gatt::chunk_size(23)).unwrap_or_default();
            let (connection, on_event) = (connection.clone(), on_event.clone());
            spawn_local(async move {
                for chunk in chunks {
                    if let Err(e) = connection.write(&chunk).await {
                        on_event(Err(e));
                        return;
                    }
                }
            });
        })
    };

    let on_close = {
        let (on_event, finished) = (on_event.clone(), finished.clone());
        Closure::<dyn FnMut()>::new(move || {
            if !*finished.borrow() {
                on_event(Err(BleError::Failed("the connection to the server was lost".into())));
            }
        })
    };

    let on_notification = {
        let (connection, socket) = (connection.clone(), socket.clone());
        let reassembler = RefCell::new(Reassembler::default());
        Closure::<dyn FnMut()>::new(move || {
            let Some(view) = connection.from_key.value() else { return };
            let now = js_sys::Date::now() as u64;
            if let Ok(Some(frame)) = reassembler.borrow_mut().push(&ble::bytes_of(&view), now) {
                let _ = socket.send_with_u8_array(&frame);
            }
        })
    };

    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    connection.from_key.set_oncharacteristicvaluechanged(Some(on_notification.as_ref().unchecked_ref()));
    Ok(Relay {
        socket,
        connection,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
        _on_notification: on_notification,
    })
}
