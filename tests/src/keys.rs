//! Playing the page of a key session without a browser: a WebSocket to the relay, frames
//! handed to the reference key, events collected. Can drop the link at any frame to test
//! what a key going out of range does at every step.

use futures::{SinkExt, StreamExt};
use keysim::storage::MemoryFlash;
use keysim::{Manufactured, SimKey};
use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use latchkey_api::Password;
use latchkey_server::store::NewEmployee;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::{TestApp, TestUser};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A new reference key with a unique serial.
pub fn new_key(serial: &str) -> (SimKey<MemoryFlash>, Manufactured) {
    let mut seed = [0u8; 32];
    seed[..serial.len().min(32)].copy_from_slice(&serial.as_bytes()[..serial.len().min(32)]);
    SimKey::manufacture(serial, seed, MemoryFlash::default(), [8; 32]).expect("manufacture")
}

/// Registers a key, assigns it to `user` and queues the user's domain account to it, as an
/// administrator would. Returns the activation code.
pub async fn provision(app: &TestApp, user: &TestUser, made: &Manufactured) -> String {
    let store = &app.state.store;
    store.register_key(&made.serial, &made.public_key, &made.activation_code, 0).await.expect("register");
    let found = app.state.directory().expect("directory").find_user(&user.sam).await.expect("lookup").expect("user");
    let employee =
        NewEmployee { object_guid: &found.object_guid, username: &user.sam, display_name: &user.display_name };
    let code = store.assign_key(&made.serial, &employee, 0).await.expect("assign");
    store.add_domain_account(&user.sam, "EXAMPLE", "Domain account", 0).await.expect("account");
    code
}

/// Where the link drops, counted in frames from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// The frame never reaches the key.
    Before(usize),
    /// The key acts on the frame; its answer never reaches the server.
    After(usize),
}

pub type Hook = Box<dyn FnOnce() + Send>;

pub struct RelayPage {
    socket: Socket,
    /// Frames the server has sent so far.
    pub frames: usize,
    pub drop_at: Option<Drop>,
    pub dropped: bool,
    /// Run once when the server reports this step (e.g. cut the DC right before the write).
    pub on_step: Option<(ProgressStep, Hook)>,
    /// Run once after the key answered this frame, before the answer goes to the server.
    pub on_answer: Option<(usize, Hook)>,
    /// The page flips a bit of the key's answer to this frame before passing it on.
    pub tamper_at: Option<usize>,
    /// The page passes frames to the key but never answers the server.
    pub mute: bool,
    /// Every event the server sent the page, as sent.
    pub transcript: Vec<String>,
    /// Each step the server reported, with the frames sent before it.
    pub step_frames: Vec<(ProgressStep, usize)>,
    /// Progress steps heard since the last request.
    pub steps: Vec<latchkey_api::relay::ProgressStep>,
    /// The Bluetooth link as the browser has it: frames cut into 20-byte chunks (ATT_MTU 23)
    /// on the way to the key, the key's chunks put back together on the way back.
    chunker: latchkey_protocol::link::Chunker,
    reassembler: latchkey_protocol::link::Reassembler,
}

impl RelayPage {
    /// Opens the relay, with the session cookie when given.
    pub async fn open(app: &TestApp, cookie: Option<&str>) -> RelayPage {
        Self::open_at(app.addr, cookie).await
    }

    /// Opens the relay of the server at `addr`.
    pub async fn open_at(addr: std::net::SocketAddr, cookie: Option<&str>) -> RelayPage {
        let mut request = format!("ws://{addr}/api/key/relay").into_client_request().expect("request");
        if let Some(c) = cookie {
            request.headers_mut().insert("cookie", c.parse().expect("cookie"));
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("relay opens");
        RelayPage {
            socket,
            frames: 0,
            drop_at: None,
            dropped: false,
            on_step: None,
            on_answer: None,
            step_frames: Vec::new(),
            transcript: Vec::new(),
            tamper_at: None,
            mute: false,
            steps: Vec::new(),
            chunker: Default::default(),
            reassembler: Default::default(),
        }
    }

    /// `frame` over the link, chunk by chunk, and the key's answering frame.
    fn over_the_link(&mut self, key: &mut SimKey<MemoryFlash>, frame: &[u8]) -> Vec<u8> {
        let chunks = self.chunker.split(frame, latchkey_protocol::gatt::chunk_size(23));
        let chunks = chunks
            .unwrap_or_else(|e| panic!("the server sent a frame the link cannot carry ({} B): {e:?}", frame.len()));
        let mut answer = None;
        for chunk in chunks {
            for notification in key.on_write(&chunk, 0) {
                answer = self.reassembler.push(&notification, 0).expect("the key's chunks").or(answer);
            }
        }
        answer.expect("the key answers every frame")
    }

    /// Sends the key's beacon; returns the first event (`Ready`, `NeedsActivation`, `Failed`).
    pub async fn connect(&mut self, key: &mut SimKey<MemoryFlash>) -> RelayEvent {
        key.disconnect();
        let beacon = hex::encode(key.beacon());
        self.send(key, RelayRequest::Beacon { beacon }).await
    }

    /// Sends a request; relays frames until an event that is not progress.
    pub async fn send(&mut self, key: &mut SimKey<MemoryFlash>, request: RelayRequest) -> RelayEvent {
        self.steps.clear();
        let text = serde_json::to_string(&request).expect("json");
        if self.socket.send(Message::Text(text.into())).await.is_err() {
            return lost();
        }
        self.pump(key).await
    }

    async fn pump(&mut self, key: &mut SimKey<MemoryFlash>) -> RelayEvent {
        loop {
            let message = match self.socket.next().await {
                Some(Ok(m)) => m,
                _ => return lost(),
            };
            match message {
                Message::Binary(frame) => {
                    self.frames += 1;
                    if self.drop_at == Some(Drop::Before(self.frames)) {
                        return self.drop_link(key).await;
                    }
                    let mut reply = self.over_the_link(key, &frame);
                    if self.mute {
                        continue;
                    }
                    if self.tamper_at == Some(self.frames) {
                        if let Some(last) = reply.last_mut() {
                            *last ^= 0x01;
                        }
                    }
                    if self.drop_at == Some(Drop::After(self.frames)) {
                        return self.drop_link(key).await;
                    }
                    if self.on_answer.as_ref().is_some_and(|(frame, _)| *frame == self.frames) {
                        if let Some((_, hook)) = self.on_answer.take() {
                            hook();
                        }
                    }
                    if self.socket.send(Message::Binary(reply.into())).await.is_err() {
                        return lost();
                    }
                }
                Message::Text(text) => match serde_json::from_str(&{
                    self.transcript.push(text.to_string());
                    text
                })
                .expect("event")
                {
                    RelayEvent::Progress { step } => {
                        if self.on_step.as_ref().is_some_and(|(at, _)| *at == step) {
                            if let Some((_, hook)) = self.on_step.take() {
                                hook();
                            }
                        }
                        self.step_frames.push((step, self.frames));
                        self.steps.push(step)
                    }
                    event => return event,
                },
                Message::Close(_) => return lost(),
                _ => {}
            }
        }
    }

    /// The key went out of range: the page closes the relay.
    async fn drop_link(&mut self, key: &mut SimKey<MemoryFlash>) -> RelayEvent {
        key.disconnect();
        self.dropped = true;
        let _ = self.socket.close(None).await;
        lost()
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

fn lost() -> RelayEvent {
    RelayEvent::Failed { code: "link_lost".into(), message: "the link dropped".into() }
}

/// The password the key holds for `account`, as it would type it.
pub fn key_password(key: &SimKey<MemoryFlash>, account: u16) -> Option<String> {
    key.vault()
        .accounts
        .iter()
        .find(|a| a.account.id == account)
        .and_then(|a| a.current.as_ref())
        .map(|s| s.expose().to_string())
}

pub fn password(text: &str) -> Password {
    Password::new(text)
}

/// Signs `user` in over the API; returns the session cookie.
pub async fn session_cookie(app: &TestApp, user: &TestUser) -> String {
    session_cookie_at(&app.url, user).await
}

/// Signs `user` in at the server at `url`; returns the session cookie.
pub async fn session_cookie_at(url: &str, user: &TestUser) -> String {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/session"))
        .json(&serde_json::json!({ "username": user.sam, "password": user.password }))
        .send()
        .await
        .expect("sign-in request");
    assert!(response.status().is_success(), "sign-in failed: {}", response.status());
    let cookie = response.headers()["set-cookie"].to_str().expect("cookie");
    cookie.split(';').next().unwrap_or_default().to_string()
}
