//! `GET /api/key/relay`: a WebSocket over which the page relays a key's frames. The server
//! speaks the host side of the key protocol end to end with the key; the page sees only
//! ciphertext. For now a session identifies the key, checks its registration and status,
//! completes the handshake and reads the key's `Info` inside the channel.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_api::ErrorKind;
use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::host::{HostEvent, HostSession};
use latchkey_protocol::message::{self, Beacon, Command, Reply, Request};

use super::audit;
use crate::error::AppError;
use crate::session::{ClientAddr, Session};
use crate::state::AppState;

/// How long the key (through the page) may take to answer one frame.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn relay(
    State(state): State<AppState>,
    Session(row): Session,
    addr: ClientAddr,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    refuse_other_origins(&headers)?;
    let identity = state.key_identity.clone().ok_or(AppError(ErrorKind::KeysUnavailable))?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        let (target, result) = match session(socket, &state, &identity).await {
            Ok(serial) => (serial, "success".to_string()),
            Err((serial, code)) => (serial.unwrap_or_else(|| "unknown key".into()), code),
        };
        audit::record_result(&state, &row.username, "key_connect", &target, &result, &addr).await;
    }))
}

/// A page of another site could open this WebSocket with the user's cookie: browsers send
/// `Origin`, which must name this host.
fn refuse_other_origins(headers: &HeaderMap) -> Result<(), AppError> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => Ok(()),
        Some(origin) if host.is_some_and(|h| origin.split("://").nth(1) == Some(h)) => Ok(()),
        Some(_) => Err(AppError(ErrorKind::CsrfRejected)),
    }
}

/// Runs one key session; returns the key's serial, or (the serial if known, the failure code).
async fn session(
    mut socket: WebSocket,
    state: &AppState,
    identity: &KeyPair,
) -> Result<String, (Option<String>, String)> {
    let mut serial = None;
    let outcome = talk(&mut socket, state, identity, &mut serial).await;
    let event = match &outcome {
        Ok(info) => info.clone(),
        Err((code, message)) => RelayEvent::Failed { code: code.to_string(), message: message.clone() },
    };
    if let Ok(text) = serde_json::to_string(&event) {
        let _ = socket.send(Message::Text(text.into())).await;
    }
    let _ = socket.send(Message::Close(None)).await;
    match outcome {
        Ok(RelayEvent::KeyInfo { serial, .. }) => Ok(serial),
        Ok(RelayEvent::Failed { code, .. }) => Err((serial, code)),
        Err((code, _)) => Err((serial, code.to_string())),
    }
}

type Failure = (&'static str, String);

async fn talk(
    socket: &mut WebSocket,
    state: &AppState,
    identity: &KeyPair,
    serial: &mut Option<String>,
) -> Result<RelayEvent, Failure> {
    let beacon = receive_beacon(socket).await?;
    *serial = Some(beacon.serial.clone());
    let key = state
        .store
        .key_by_serial(&beacon.serial)
        .await
        .map_err(|_| ("internal", "The key registry could not be read.".to_string()))?
        .ok_or(("unregistered_key", format!("Key {} is not registered with this portal.", beacon.serial)))?;
    if key.public_key != beacon.public_key {
        return Err(("key_mismatch", format!("Key {} does not match its registration.", beacon.serial)));
    }
    if !matches!(key.status.as_str(), "ready" | "reserved" | "active") {
        return Err(("key_status", format!("Key {} is {}: it cannot be used.", key.serial, key.status)));
    }

    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let (mut host, first) = HostSession::start(identity, &key.public_key, &key.serial, seed)
        .map_err(|e| ("key_protocol", format!("The session could not start: {e:?}")))?;
    let reply = exchange(socket, first).await?;
    match host.on_frame(&reply) {
        Ok(HostEvent::Established(_)) => {}
        Ok(_) => return Err(("key_protocol", "The key answered out of turn.".into())),
        Err(e) => return Err(("key_refused", format!("The key refused the session: {e:?}"))),
    }
    let request =
        host.request(&Request { commands: vec![Command::Info] }).map_err(|e| ("key_protocol", format!("{e:?}")))?;
    let reply = exchange(socket, request).await?;
    let response = match host.on_frame(&reply) {
        Ok(HostEvent::Response(r)) => r,
        _ => return Err(("key_protocol", "The key's answer could not be read.".into())),
    };
    match response.results.into_iter().next() {
        Some(Ok(Reply::Info(info))) => Ok(RelayEvent::KeyInfo {
            serial: info.serial,
            status: format!("{:?}", info.status).to_lowercase(),
            firmware: info.firmware,
            free_slots: info.free_slots,
        }),
        Some(Err(e)) => Err(("key_error", format!("The key answered: {e}"))),
        _ => Err(("key_protocol", "The key gave no answer.".into())),
    }
}

async fn receive_beacon(socket: &mut WebSocket) -> Result<Beacon, Failure> {
    let text = match next(socket).await? {
        Message::Text(t) => t,
        _ => return Err(("relay_protocol", "The session must start with the key's beacon.".into())),
    };
    let RelayRequest::Beacon { beacon } =
        serde_json::from_str(&text).map_err(|_| ("relay_protocol", "Unreadable relay message.".to_string()))?;
    let bytes = hex::decode(beacon.trim()).map_err(|_| ("relay_protocol", "The beacon is not hex.".to_string()))?;
    message::decode(&bytes).map_err(|_| ("relay_protocol", "The key's beacon is unreadable.".to_string()))
}

/// Sends one frame to the key through the page; waits for the key's frame.
async fn exchange(socket: &mut WebSocket, frame: Vec<u8>) -> Result<Vec<u8>, Failure> {
    socket
        .send(Message::Binary(frame.into()))
        .await
        .map_err(|_| ("relay_closed", "The page closed the relay.".to_string()))?;
    match next(socket).await? {
        Message::Binary(b) => Ok(b.to_vec()),
        _ => Err(("relay_protocol", "Expected a frame from the key.".into())),
    }
}

async fn next(socket: &mut WebSocket) -> Result<Message, Failure> {
    match tokio::time::timeout(FRAME_TIMEOUT, socket.recv()).await {
        Err(_) => Err(("key_timeout", "The key did not answer in time. Bring it closer and try again.".into())),
        Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => {
            Err(("relay_closed", "The page closed the relay.".into()))
        }
        Ok(Some(Ok(m))) => Ok(m),
    }
}
