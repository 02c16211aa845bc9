//! The server's side of a key session: initiates the Noise IK handshake to a registered key,
//! then exchanges encrypted requests and responses. Frames in, frames out; no I/O.

use crate::crypto::{self, KeyPair, Seed};
use crate::frame::Frame;
use crate::message::{self, Hello, KeyError, Request, Response};

const MAX_NOISE: usize = 65_535;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The key sent something this side cannot accept; the session is over.
    Protocol(&'static str),
    /// Authentication failed: tampered, replayed, reordered or forged; the session is over.
    Crypto,
    /// The key refused; the session is over.
    Refused(KeyError),
    Closed,
}

#[derive(Debug)]
pub enum HostEvent {
    Established(Hello),
    Response(Response),
}

enum State {
    Handshaking(Box<snow::HandshakeState>),
    Open(Box<snow::TransportState>),
    Closed,
}

pub struct HostSession {
    state: State,
}

impl HostSession {
    /// Starts a session with the key `serial` whose static public key is `key_public`.
    /// Returns the session and the first frame to send.
    pub fn start(
        server: &KeyPair,
        key_public: &[u8; 32],
        serial: &str,
        seed: Seed,
    ) -> Result<(HostSession, Vec<u8>), HostError> {
        let prologue = crypto::prologue(serial);
        let mut hs = crypto::builder(seed)
            .and_then(|b| b.local_private_key(server.secret.as_ref()))
            .and_then(|b| b.remote_public_key(key_public))
            .and_then(|b| b.prologue(&prologue))
            .and_then(|b| b.build_initiator())
            .map_err(|_| HostError::Protocol("cannot start the handshake"))?;
        let mut buf = vec![0u8; MAX_NOISE];
        let n = hs.write_message(&[], &mut buf).map_err(|_| HostError::Crypto)?;
        buf.truncate(n);
        Ok((HostSession { state: State::Handshaking(Box::new(hs)) }, Frame::HandshakeInit(buf).encode()))
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Handles a frame from the key.
    pub fn on_frame(&mut self, bytes: &[u8]) -> Result<HostEvent, HostError> {
        let frame = Frame::decode(bytes).map_err(|_| self.close(HostError::Protocol("undecodable frame")))?;
        let state = std::mem::replace(&mut self.state, State::Closed);
        match (state, frame) {
            (_, Frame::Refused(e)) => Err(HostError::Refused(e)),
            (State::Handshaking(mut hs), Frame::HandshakeReply(msg)) => {
                let mut payload = vec![0u8; MAX_NOISE];
                let n = hs.read_message(&msg, &mut payload).map_err(|_| HostError::Crypto)?;
                let hello: Hello = message::decode(&payload[..n]).map_err(|_| HostError::Protocol("bad hello"))?;
                let transport = hs.into_transport_mode().map_err(|_| HostError::Crypto)?;
                self.state = State::Open(Box::new(transport));
                Ok(HostEvent::Established(hello))
            }
            (State::Open(mut t), Frame::Transport(msg)) => {
                let mut plain = zeroize::Zeroizing::new(vec![0u8; MAX_NOISE]);
                let n = t.read_message(&msg, &mut plain).map_err(|_| HostError::Crypto)?;
                let response: Response =
                    message::decode(&plain[..n]).map_err(|_| HostError::Protocol("bad response"))?;
                self.state = State::Open(t);
                Ok(HostEvent::Response(response))
            }
            (State::Closed, _) => Err(HostError::Closed),
            _ => Err(HostError::Protocol("unexpected frame")),
        }
    }

    /// The frame carrying `request`.
    pub fn request(&mut self, request: &Request) -> Result<Vec<u8>, HostError> {
        let State::Open(t) = &mut self.state else { return Err(HostError::Closed) };
        let plain = zeroize::Zeroizing::new(message::encode(request));
        let mut buf = vec![0u8; plain.len() + 16];
        let n = t.write_message(&plain, &mut buf).map_err(|_| HostError::Crypto)?;
        buf.truncate(n);
        Ok(Frame::Transport(buf).encode())
    }

    fn close(&mut self, e: HostError) -> HostError {
        self.state = State::Closed;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;
    use crate::message::KeyError;

    #[test]
    fn a_refusal_ends_the_session_at_any_stage_and_nothing_is_read_after_it() {
        let server = KeyPair::from_seed([1; 32]);
        let key = KeyPair::from_seed([2; 32]);
        let (mut host, _) = HostSession::start(&server, &key.public, "LK-1", [3; 32]).unwrap();
        let refused = Frame::Refused(KeyError::WrongServer).encode();
        assert!(matches!(host.on_frame(&refused), Err(HostError::Refused(KeyError::WrongServer))));
        assert!(!host.is_open());
        // Closed now: even a well-formed frame is refused as closed, not read.
        assert!(matches!(host.on_frame(&Frame::Transport(vec![0; 32]).encode()), Err(HostError::Closed)));
        assert!(matches!(host.on_frame(&refused), Err(HostError::Refused(_))), "a refusal is still named");
    }

    #[test]
    fn a_transport_frame_during_the_handshake_is_unexpected() {
        let server = KeyPair::from_seed([1; 32]);
        let key = KeyPair::from_seed([2; 32]);
        let (mut host, _) = HostSession::start(&server, &key.public, "LK-1", [3; 32]).unwrap();
        let early = host.on_frame(&Frame::Transport(vec![0; 32]).encode());
        assert!(matches!(early, Err(HostError::Protocol("unexpected frame"))), "{early:?}");
    }
}
