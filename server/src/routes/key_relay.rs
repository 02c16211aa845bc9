//! `GET /api/key/relay`: a WebSocket over which the page relays a key's frames. The server
//! speaks the host side of the key protocol end to end with the key (see `crate::keys`); the
//! page sees only ciphertext and the session's events. Without a session cookie only a
//! sign-in with the key is offered.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_api::key_refusal::KeyRefusal;
use latchkey_api::relay::RelayEvent;
use latchkey_api::ErrorKind;

use crate::error::AppError;
use crate::keys::{self, Channel};
use crate::service::audit;
use crate::session::{ClientAddr, Session};
use crate::state::AppState;

const MAX_MESSAGE: usize = 16 * 1024;

#[utoipa::path(get, path = "/key/relay", tag = "keys", responses((status = 101, description = "The relay WebSocket: the page forwards the key's frames (PROTOCOL.md)"), crate::routes::openapi::Refusals))]
pub async fn relay(
    State(state): State<AppState>,
    session: Option<Session>,
    addr: ClientAddr,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    if !super::origin::same_origin(&headers, state.config.public_url.as_deref()) {
        return Err(AppError(ErrorKind::CsrfRejected));
    }
    // A plain GET (no WebSocket handshake) is told so in the API's own vocabulary.
    let upgrade = upgrade.map_err(|r| AppError(ErrorKind::BadRequest { reason: r.body_text() }))?;
    let identity = state.key_identity.clone().ok_or(AppError(ErrorKind::KeysUnavailable))?;
    let user = session.map(|Session(row)| row);
    if user.is_none() {
        // Anonymous sockets (sign-in with the key) are counted per address like sign-ins.
        state.limits.attempt_from(addr.0).await?;
    }
    // Frames are at most 4 KiB, requests a few hundred bytes.
    let upgrade = upgrade.max_message_size(MAX_MESSAGE).max_frame_size(MAX_MESSAGE);
    Ok(upgrade.on_upgrade(move |socket| async move {
        let mut ch = Channel::new(socket);
        let mut serial = None;
        let mut lease = None;
        let outcome = async {
            let connected = keys::connect(&mut ch, &state, &identity, user.as_ref(), &mut serial, &mut lease).await?;
            audit::record_result(
                &state,
                &actor(&user, &serial),
                audit::action::KEY_CONNECT,
                &connected.key.serial,
                "success",
                &addr,
            )
            .await;
            keys::serve(&mut ch, &state, connected, user.as_ref(), &addr).await
        }
        .await;
        drop(lease);
        if let Err(failure) = outcome {
            let target = serial.clone().unwrap_or_else(|| "unknown key".into());
            if failure.0 != KeyRefusal::RelayClosed {
                let event = RelayEvent::Failed { code: failure.code().to_string(), message: failure.message() };
                let _ = ch.send(&event).await;
            }
            let code = failure.code();
            audit::record_result(&state, &actor(&user, &serial), audit::action::KEY_SESSION, &target, code, &addr)
                .await;
        }
        ch.close().await;
    }))
}

fn actor(user: &Option<crate::store::SessionRow>, serial: &Option<String>) -> String {
    match (user, serial) {
        (Some(u), _) => u.username.clone(),
        (None, Some(s)) => audit::key_actor(s),
        (None, None) => "anonymous".into(),
    }
}
