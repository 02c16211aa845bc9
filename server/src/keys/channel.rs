//! The relay socket as the server uses it: events to the page, requests from it, and
//! encrypted calls to the key through it.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use latchkey_api::key_refusal::{KeyRefusal, RelayProblem};
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_api::ErrorKind;
use latchkey_protocol::host::{HostEvent, HostSession};
use latchkey_protocol::message::{AccountListing, Command, KeyError, Reply, Request};

/// How long the key (through the page) may take to answer one frame.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the key may wait for its button to be pressed.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(35);
/// How long a session may sit idle between operations.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a session or an operation was refused: a refusal of the API's one vocabulary, whose
/// stable code goes to the page and the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(pub KeyRefusal);

impl Failure {
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    pub fn message(&self) -> String {
        self.0.message()
    }

    pub fn from_kind(kind: &ErrorKind) -> Self {
        Failure(KeyRefusal::Api(kind.clone()))
    }

    pub fn internal() -> Self {
        Failure(KeyRefusal::Internal)
    }

    pub fn relay(problem: RelayProblem) -> Self {
        Failure(KeyRefusal::RelayProtocol(problem))
    }

    /// The key refused a command.
    pub fn key(e: KeyError) -> Self {
        Failure(KeyRefusal::KeyError { said: key_error_message(e) })
    }
}

impl From<KeyRefusal> for Failure {
    fn from(refusal: KeyRefusal) -> Self {
        Failure(refusal)
    }
}

impl From<crate::error::AppError> for Failure {
    fn from(e: crate::error::AppError) -> Self {
        Failure::from_kind(&e.0)
    }
}

impl From<crate::directory::DirectoryError> for Failure {
    fn from(e: crate::directory::DirectoryError) -> Self {
        Failure::from(crate::error::AppError::from(e))
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "store error in a key session");
        Failure::internal()
    }
}

pub struct Channel {
    socket: WebSocket,
    host: Option<HostSession>,
    /// The key's account listing from the last batch that ended with one (`call_and_list`).
    listing: Option<Vec<AccountListing>>,
}

impl Channel {
    pub fn new(socket: WebSocket) -> Self {
        Channel { socket, host: None, listing: None }
    }

    pub fn set_host(&mut self, host: HostSession) {
        self.host = Some(host);
    }

    pub async fn send(&mut self, event: &RelayEvent) -> Result<(), Failure> {
        let text = serde_json::to_string(event).map_err(|_| Failure::internal())?;
        self.socket.send(Message::Text(text.into())).await.map_err(|_| closed())
    }

    pub async fn close(mut self) {
        let _ = self.socket.send(Message::Close(None)).await;
    }

    /// The page's next request; `None` when the page ended the session.
    pub async fn request(&mut self) -> Result<Option<RelayRequest>, Failure> {
        match self.next(IDLE_TIMEOUT).await {
            Ok(Message::Text(text)) => {
                serde_json::from_str(&text).map(Some).map_err(|_| Failure::relay(RelayProblem::UnreadableRequest))
            }
            Ok(_) => Err(Failure::relay(RelayProblem::ExpectedRequest)),
            Err(Failure(KeyRefusal::RelayClosed)) => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// Sends one frame to the key through the page and waits for the key's frame.
    pub async fn exchange(&mut self, frame: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, Failure> {
        self.socket.send(Message::Binary(frame.into())).await.map_err(|_| closed())?;
        match self.next(timeout).await? {
            Message::Binary(b) => Ok(b.to_vec()),
            _ => Err(Failure::relay(RelayProblem::ExpectedFrame)),
        }
    }

    /// One encrypted request to the key: one result per executed command.
    pub async fn call(&mut self, commands: Vec<Command>) -> Result<Vec<Result<Reply, KeyError>>, Failure> {
        let timeout = if commands.iter().any(Command::needs_presence) { PRESENCE_TIMEOUT } else { FRAME_TIMEOUT };
        let host = self.host.as_mut().ok_or_else(|| protocol("no session with the key"))?;
        let frame = host.request(&Request { commands }).map_err(|e| protocol(&format!("{e:?}")))?;
        let reply = self.exchange(frame, timeout).await?;
        let host = self.host.as_mut().ok_or_else(|| protocol("no session with the key"))?;
        match host.on_frame(&reply) {
            Ok(HostEvent::Response(r)) => Ok(r.results),
            Ok(HostEvent::Established(_)) => Err(protocol("the key answered out of turn")),
            Err(latchkey_protocol::host::HostError::Refused(e)) => {
                Err(Failure(KeyRefusal::KeyRefused { detail: e.to_string() }))
            }
            Err(e) => Err(protocol(&format!("{e:?}"))),
        }
    }

    /// Feeds the key's handshake reply to the host session.
    pub fn on_handshake(&mut self, reply: &[u8]) -> Option<Result<HostEvent, latchkey_protocol::host::HostError>> {
        self.host.as_mut().map(|h| h.on_frame(reply))
    }

    /// One command and, in the same round trip, the listing it leaves behind (`take_listing`):
    /// a write and the key's new state cost one exchange, not two.
    pub async fn call_and_list(&mut self, command: Command) -> Result<Result<Reply, KeyError>, Failure> {
        self.call_batch_and_list(vec![command])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| protocol("the key gave no answer"))
    }

    /// `commands`, then `ListAccounts`, in one round trip; the listing is kept when the key got
    /// that far (it stops at the first error).
    pub async fn call_batch_and_list(
        &mut self,
        mut commands: Vec<Command>,
    ) -> Result<Vec<Result<Reply, KeyError>>, Failure> {
        let count = commands.len();
        commands.push(Command::ListAccounts);
        let mut results = self.call(commands).await?;
        self.listing = match results.pop() {
            Some(Ok(Reply::Accounts(accounts))) if results.len() == count => Some(accounts),
            Some(other) if results.len() < count => {
                results.push(other);
                None
            }
            _ => None,
        };
        Ok(results)
    }

    /// The listing the last `call_and_list` brought back, once.
    pub fn take_listing(&mut self) -> Option<Vec<AccountListing>> {
        self.listing.take()
    }

    /// One command whose failure is an error.
    pub async fn call_one(&mut self, command: Command) -> Result<Result<Reply, KeyError>, Failure> {
        self.call(vec![command]).await?.into_iter().next().ok_or_else(|| protocol("the key gave no answer"))
    }

    async fn next(&mut self, timeout: Duration) -> Result<Message, Failure> {
        loop {
            return match tokio::time::timeout(timeout, self.socket.recv()).await {
                Err(_) => Err(Failure(KeyRefusal::KeyTimeout)),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => Err(closed()),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(m))) => Ok(m),
            };
        }
    }
}

fn closed() -> Failure {
    Failure(KeyRefusal::RelayClosed)
}

fn protocol(detail: &str) -> Failure {
    Failure(KeyRefusal::KeyProtocol { detail: detail.to_string() })
}

/// What a key's refusal means to the user.
pub fn key_error_message(e: KeyError) -> String {
    match e {
        KeyError::PresenceDenied => "The button on the key was not pressed in time. Try again.".into(),
        KeyError::NoFreeSlot => "The key is full: ask your administrator to remove an account.".into(),
        KeyError::NoPassword => "The key holds no password for this account yet: store it first.".into(),
        KeyError::StorageFailure => "The key could not save; nothing changed on it. Try again.".into(),
        KeyError::Locked => "The key is locked.".into(),
        KeyError::Suspended => "The key is suspended.".into(),
        KeyError::TooLarge => "The password is too long for the key (at most 256 characters).".into(),
        other => format!("The key refused: {other}."),
    }
}
