//! The key relay: the test plays the page (forwarding frames over the WebSocket) and the key
//! (the reference key), the server speaks the protocol end to end with the key.

use futures::{SinkExt, StreamExt};
use keysim::storage::MemoryFlash;
use keysim::SimKey;
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, UserOptions};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signs a fresh user in and returns the session cookie.
async fn session_cookie(dc: &TestDc, app: &TestApp) -> String {
    let user = dc.create_user(UserOptions::default()).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/session", app.url))
        .json(&json!({ "username": user.sam, "password": user.password }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

async fn open(app: &TestApp, cookie: Option<&str>, origin: Option<&str>) -> Result<Socket, String> {
    let mut request = format!("ws://{}/api/key/relay", app.addr).into_client_request().unwrap();
    if let Some(c) = cookie {
        request.headers_mut().insert("cookie", c.parse().unwrap());
    }
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.map(|(s, _)| s).map_err(|e| e.to_string())
}

/// Relays frames between the server and `key` until the server's closing event.
async fn relay(socket: &mut Socket, key: &mut SimKey<MemoryFlash>) -> RelayEvent {
    let beacon = hex::encode(key.beacon());
    let hello = serde_json::to_string(&RelayRequest::Beacon { beacon }).unwrap();
    socket.send(Message::Text(hello.into())).await.unwrap();
    loop {
        match socket.next().await.expect("the server closed without an event").unwrap() {
            Message::Binary(frame) => {
                let reply = key.on_frame(&frame).expect("the key answers every frame");
                socket.send(Message::Binary(reply.into())).await.unwrap();
            }
            Message::Text(event) => return serde_json::from_str(&event).unwrap(),
            other => panic!("unexpected message {other:?}"),
        }
    }
}

fn new_key(serial: &str) -> (SimKey<MemoryFlash>, keysim::Manufactured) {
    SimKey::manufacture(serial, [7; 32], MemoryFlash::default(), [8; 32]).unwrap()
}

#[tokio::test]
async fn the_server_reads_a_registered_key_through_the_page() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (mut key, made) = new_key("LK-RELAY-1");
    app.state.store.register_key(&made.serial, &made.public_key, 0).await.unwrap();
    let cookie = session_cookie(&dc, &app).await;
    let mut socket = open(&app, Some(&cookie), Some(&app.url)).await.unwrap();
    let event = relay(&mut socket, &mut key).await;
    assert_eq!(
        event,
        RelayEvent::KeyInfo {
            serial: made.serial.clone(),
            status: "ready".into(),
            firmware: key.vault().firmware.clone(),
            free_slots: 16
        }
    );
}

#[tokio::test]
async fn unregistered_or_impostor_keys_are_refused() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let cookie = session_cookie(&dc, &app).await;

    let (mut stranger, _) = new_key("LK-STRANGER");
    let mut socket = open(&app, Some(&cookie), None).await.unwrap();
    let RelayEvent::Failed { code, .. } = relay(&mut socket, &mut stranger).await else { panic!("accepted") };
    assert_eq!(code, "unregistered_key");

    // Registered under this serial with another public key: an impostor.
    let (mut impostor, _) = SimKey::manufacture("LK-TWIN", [9; 32], MemoryFlash::default(), [8; 32]).unwrap();
    let (_, genuine) = SimKey::manufacture("LK-TWIN", [10; 32], MemoryFlash::default(), [8; 32]).unwrap();
    app.state.store.register_key(&genuine.serial, &genuine.public_key, 0).await.unwrap();
    let mut socket = open(&app, Some(&cookie), None).await.unwrap();
    let RelayEvent::Failed { code, .. } = relay(&mut socket, &mut impostor).await else { panic!("accepted") };
    assert_eq!(code, "key_mismatch");

    // The server audits once the session has closed.
    let mut result = None;
    for _ in 0..40 {
        result = app.state.store.audit_of("LK-TWIN").await.unwrap().last().map(|e| e.result.clone());
        if result.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(result.as_deref(), Some("key_mismatch"));
}

#[tokio::test]
async fn the_relay_needs_a_session_and_this_origin() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let err = open(&app, None, None).await.unwrap_err();
    assert!(err.contains("401"), "{err}");
    let cookie = session_cookie(&dc, &app).await;
    let err = open(&app, Some(&cookie), Some("https://evil.example")).await.unwrap_err();
    assert!(err.contains("403"), "{err}");
}
