//! The page's side of the key relay: frames from the server go to the key in chunks; the key's
//! notifications are reassembled into frames for the server. The page reads none of them; it
//! hears the session's events and sends the user's requests.
//!
//! The WebSocket is gloo-net's, owned by one task: it sends what the page queues (requests,
//! the key's frames) and hands on what the server sends, in order, until the relay is dropped.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::mpsc::{self, UnboundedSender};
use futures::future::{select, Either};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::Message;
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_protocol::gatt;
use latchkey_protocol::link::{Chunker, Reassembler};
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::ble::{self, BleError};
use crate::virtual_key::VirtualKey;

/// How the page reaches the key.
pub enum Transport {
    Bluetooth(ble::KeyConnection),
    /// DEMO ONLY: the reference key running in the page.
    Virtual(VirtualKey),
}

/// What the relay reports: the server's events, or why the session is gone.
pub type Update = Result<RelayEvent, BleError>;

/// A running relay; dropping it ends the session (and disconnects the key).
pub struct Relay {
    outbox: UnboundedSender<Message>,
    transport: Rc<Transport>,
    over: Rc<Cell<bool>>,
    _key_handlers: Option<KeyHandlers>,
}

/// The Bluetooth key's notification and disconnection handlers, kept while the relay runs.
type KeyHandlers = (Closure<dyn FnMut()>, Closure<dyn FnMut()>);

impl Drop for Relay {
    fn drop(&mut self) {
        // Ended by the page: nothing more is reported, and the socket task closes the socket.
        self.over.set(true);
        self.outbox.close_channel();
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
            let _ = self.outbox.unbounded_send(Message::Text(text));
        }
    }
}

/// Opens the relay for `transport`; `on_update` hears every event until the session ends.
pub fn start(transport: Transport, beacon: Vec<u8>, on_update: impl Fn(Update) + 'static) -> Result<Relay, BleError> {
    let location = web_sys::window().map(|w| w.location()).ok_or(BleError::Unsupported)?;
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().map_err(|_| BleError::Failed("no host".into()))?;
    let socket = WebSocket::open(&format!("{scheme}://{host}/api/key/relay"))
        .map_err(|_| BleError::Failed("the relay could not be opened".into()))?;
    let transport = Rc::new(transport);
    let (outbox, queued) = mpsc::unbounded();
    // The first message names the key; gloo-net holds it until the socket is open.
    let hello = RelayRequest::Beacon { beacon: hex::encode(&beacon) };
    if let Ok(text) = serde_json::to_string(&hello) {
        let _ = outbox.unbounded_send(Message::Text(text));
    }
    // Once the session is over, later closes and errors say nothing more.
    let over = Rc::new(Cell::new(false));
    let report = {
        let over = over.clone();
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
    let reassembler = Rc::new(RefCell::new(Reassembler::default()));

    let mut key_handlers = None;
    if let Transport::Bluetooth(connection) = transport.as_ref() {
        let on_note = {
            let (from_key, outbox, reassembler) = (connection.from_key.clone(), outbox.clone(), reassembler.clone());
            Closure::<dyn FnMut()>::new(move || {
                if let Some(view) = from_key.value() {
                    forward(&reassembler, &outbox, &ble::bytes_of(&view));
                }
            })
        };
        // The key went out of range: the server notices the closed relay; the page offers to
        // reconnect.
        let on_lost = {
            let (report, outbox) = (report.clone(), outbox.clone());
            Closure::<dyn FnMut()>::new(move || {
                report(Err(BleError::Lost));
                outbox.close_channel();
            })
        };
        connection.from_key.set_oncharacteristicvaluechanged(Some(on_note.as_ref().unchecked_ref()));
        connection.device.set_ongattserverdisconnected(Some(on_lost.as_ref().unchecked_ref()));
        key_handlers = Some((on_note, on_lost));
    }

    spawn_local(run(socket, queued, transport.clone(), outbox.clone(), report, reassembler));
    Ok(Relay { outbox, transport, over, _key_handlers: key_handlers })
}

/// The socket's task: sends what is queued, hands on what arrives. Ends (closing the socket)
/// when the queue is closed or the server's side is gone.
async fn run(
    mut socket: WebSocket,
    mut queued: mpsc::UnboundedReceiver<Message>,
    transport: Rc<Transport>,
    outbox: UnboundedSender<Message>,
    report: Rc<dyn Fn(Update)>,
    reassembler: Rc<RefCell<Reassembler>>,
) {
    let mut chunker = Chunker::default();
    loop {
        // Whichever comes first; the other wait is dropped before the socket is used again.
        let next = match select(queued.next(), socket.next()).await {
            Either::Left((out, _)) => Either::Left(out),
            Either::Right((arrived, _)) => Either::Right(arrived),
        };
        let frame = match next {
            Either::Left(Some(out)) => {
                if socket.send(out).await.is_err() {
                    break report(lost());
                }
                continue;
            }
            // The relay was dropped (or the key is gone): the socket closes with this task.
            Either::Left(None) => break,
            Either::Right(Some(Ok(Message::Text(text)))) => {
                let event = serde_json::from_str::<RelayEvent>(&text);
                report(event.map_err(|_| BleError::Failed("unreadable event".into())));
                continue;
            }
            Either::Right(Some(Ok(Message::Bytes(frame)))) => frame,
            Either::Right(_) => break report(lost()),
        };
        let chunks = chunker.split(&frame, gatt::chunk_size(23)).unwrap_or_default();
        match transport.as_ref() {
            Transport::Virtual(key) => {
                for note in chunks.iter().flat_map(|chunk| key.write(chunk)) {
                    forward(&reassembler, &outbox, &note);
                }
            }
            // In order, each acknowledged by the key before the next.
            Transport::Bluetooth(connection) => {
                for chunk in chunks {
                    if let Err(e) = connection.write(&chunk).await {
                        report(Err(e));
                        break;
                    }
                }
            }
        }
    }
}

fn lost() -> Update {
    Err(BleError::Failed("the connection to the server was lost".into()))
}

/// A chunk from the key; a whole frame goes to the server.
fn forward(reassembler: &RefCell<Reassembler>, outbox: &UnboundedSender<Message>, chunk: &[u8]) {
    let now = js_sys::Date::now() as u64;
    if let Ok(Some(frame)) = reassembler.borrow_mut().push(chunk, now) {
        let _ = outbox.unbounded_send(Message::Bytes(frame));
    }
}
