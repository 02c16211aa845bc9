//! A key's page that can stop at a chosen point of a flow and hold it there, the link open:
//! before the key sees a frame, after the key acted on it but before its answer goes back, or
//! when the server reports a step. While it holds, the test injects its fault (kills the
//! server, cuts the DC or the database); then it resumes, or closes the link.

use futures::{SinkExt, StreamExt};
use keysim::SimKey;
use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Where the page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The first frame after the server reported this step, before the key sees it.
    FrameAfter(ProgressStep),
    /// The key acted on that frame; its answer is held.
    AnswerAfter(ProgressStep),
    /// Frame `n` of this request (counted from 1), before the key sees it.
    Frame(usize),
    /// The key acted on frame `n`; its answer is held.
    Answer(usize),
    /// When the server reports this step. The server goes on meanwhile (a step is only reported):
    /// to stop it there, stop what it waits on next (the DC, the database) instead.
    Step(ProgressStep),
}

/// What a request came to.
#[derive(Debug)]
pub enum Pumped {
    Event(RelayEvent),
    Held,
}

pub struct HeldPage {
    socket: Socket,
    pub hold: Option<Hold>,
    /// Frames of the current request.
    frames: usize,
    last_step: Option<ProgressStep>,
    step_of_frame: Option<ProgressStep>,
    /// The key's answer waiting to go when the page resumes.
    answer: Option<Vec<u8>>,
    /// A frame the key has not seen yet, given to it when the page resumes.
    unseen: Option<Vec<u8>>,
    chunker: latchkey_protocol::link::Chunker,
    reassembler: latchkey_protocol::link::Reassembler,
}

impl HeldPage {
    pub async fn open(addr: std::net::SocketAddr, cookie: Option<&str>) -> HeldPage {
        let mut request = format!("ws://{addr}/api/key/relay").into_client_request().expect("request");
        if let Some(c) = cookie {
            request.headers_mut().insert("cookie", c.parse().expect("cookie"));
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("relay opens");
        HeldPage {
            socket,
            hold: None,
            frames: 0,
            last_step: None,
            step_of_frame: None,
            answer: None,
            unseen: None,
            chunker: Default::default(),
            reassembler: Default::default(),
        }
    }

    /// Sends the key's beacon.
    pub async fn connect(&mut self, key: &mut SimKey) -> Pumped {
        key.disconnect();
        let beacon = hex::encode(key.beacon());
        self.send(key, RelayRequest::Beacon { beacon }).await
    }

    pub async fn send(&mut self, key: &mut SimKey, request: RelayRequest) -> Pumped {
        self.frames = 0;
        self.last_step = None;
        let text = serde_json::to_string(&request).expect("json");
        if self.socket.send(Message::Text(text.into())).await.is_err() {
            return Pumped::Event(lost());
        }
        self.pump(key).await
    }

    /// Goes on from where the page held.
    pub async fn resume(&mut self, key: &mut SimKey) -> Pumped {
        if let Some(frame) = self.unseen.take() {
            self.answer = Some(self.over_the_link(key, &frame));
        }
        if let Some(answer) = self.answer.take() {
            if self.socket.send(Message::Binary(answer.into())).await.is_err() {
                return Pumped::Event(lost());
            }
        }
        self.pump(key).await
    }

    /// The tab closes (or the key goes out of range): the relay ends.
    pub async fn close(mut self, key: &mut SimKey) {
        key.disconnect();
        let _ = self.socket.close(None).await;
    }

    async fn pump(&mut self, key: &mut SimKey) -> Pumped {
        loop {
            let message = match self.socket.next().await {
                Some(Ok(m)) => m,
                _ => return Pumped::Event(lost()),
            };
            match message {
                Message::Binary(frame) => {
                    self.frames += 1;
                    self.step_of_frame = self.last_step.take();
                    let step_of_frame = self.step_of_frame;
                    let after = |step| step_of_frame == Some(step);
                    let before_key = match self.hold {
                        Some(Hold::FrameAfter(step)) => after(step),
                        Some(Hold::Frame(n)) => n == self.frames,
                        _ => false,
                    };
                    if before_key {
                        self.hold = None;
                        self.unseen = Some(frame.to_vec());
                        return Pumped::Held;
                    }
                    let reply = self.over_the_link(key, &frame);
                    let answer_held = match self.hold {
                        Some(Hold::AnswerAfter(step)) => after(step),
                        Some(Hold::Answer(n)) => n == self.frames,
                        _ => false,
                    };
                    if answer_held {
                        self.hold = None;
                        self.answer = Some(reply);
                        return Pumped::Held;
                    }
                    if self.socket.send(Message::Binary(reply.into())).await.is_err() {
                        return Pumped::Event(lost());
                    }
                }
                Message::Text(text) => match serde_json::from_str(&text).expect("event") {
                    RelayEvent::Progress { step } => {
                        self.last_step = Some(step);
                        if self.hold == Some(Hold::Step(step)) {
                            self.hold = None;
                            return Pumped::Held;
                        }
                    }
                    event => return Pumped::Event(event),
                },
                Message::Close(_) => return Pumped::Event(lost()),
                _ => {}
            }
        }
    }

    fn over_the_link(&mut self, key: &mut SimKey, frame: &[u8]) -> Vec<u8> {
        let chunks = self.chunker.split(frame, latchkey_protocol::gatt::chunk_size(23)).expect("the link carries it");
        let mut answer = None;
        for chunk in chunks {
            for notification in key.on_write(&chunk, 0) {
                answer = self.reassembler.push(&notification, 0).expect("the key's chunks").or(answer);
            }
        }
        answer.expect("the key answers every frame")
    }
}

fn lost() -> RelayEvent {
    RelayEvent::Failed { code: "link_lost".into(), message: "the link dropped".into() }
}
