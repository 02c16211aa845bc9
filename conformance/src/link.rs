//! The server's side of one connection to the key under test: frames chunked for the link,
//! the Noise session, requests and their responses.

use std::time::{Duration, Instant};

use latchkey_protocol::crypto::{KeyPair, Seed};
use latchkey_protocol::frame::Frame;
use latchkey_protocol::host::{HostError, HostEvent, HostSession};
use latchkey_protocol::link::{Chunker, Reassembler};
use latchkey_protocol::message::{Command, Hello, KeyError, Reply, Request};

use crate::key_process::KeyUnderTest;

/// ATT_MTU 23: the smallest link every key must take.
pub const SMALL_CHUNK: usize = 20;
/// ATT_MTU 247.
pub const LARGE_CHUNK: usize = 244;

pub struct Link<'k> {
    pub key: &'k mut KeyUnderTest,
    chunk_size: usize,
    chunker: Chunker,
    reassembler: Reassembler,
    started: Instant,
    host: Option<HostSession>,
}

/// How a handshake ended.
pub enum Handshake {
    Open(Hello),
    Refused(KeyError),
}

pub fn seed() -> Seed {
    let mut s = [0u8; 32];
    let _ = getrandom::fill(&mut s);
    s
}

impl<'k> Link<'k> {
    pub fn new(key: &'k mut KeyUnderTest, chunk_size: usize) -> Link<'k> {
        Link {
            key,
            chunk_size,
            chunker: Chunker::default(),
            reassembler: Reassembler::default(),
            started: Instant::now(),
            host: None,
        }
    }

    /// Sends `frame`; the key's answering frame, or `None` when it stays silent for `wait`.
    pub fn exchange(&mut self, frame: &[u8], wait: Duration) -> Result<Option<Vec<u8>>, String> {
        for chunk in self.chunker.split(frame, self.chunk_size).map_err(|e| format!("{e:?}"))? {
            self.key.write(&chunk)?;
        }
        loop {
            let Some(chunk) = self.key.notification(wait)? else { return Ok(None) };
            if chunk.len() > self.chunk_size {
                return Err(format!("a notification of {} B exceeds the link's {} B", chunk.len(), self.chunk_size));
            }
            let now = self.started.elapsed().as_millis() as u64;
            if let Some(frame) = self.reassembler.push(&chunk, now).map_err(|e| format!("bad chunk: {e:?}"))? {
                return Ok(Some(frame));
            }
        }
    }

    fn answer(&mut self, frame: &[u8]) -> Result<Vec<u8>, String> {
        self.exchange(frame, KeyUnderTest::answer_timeout())?.ok_or_else(|| "the key did not answer".into())
    }

    /// A handshake as `server`.
    pub fn handshake(&mut self, server: &KeyPair) -> Result<Handshake, String> {
        let made = &self.key.made;
        let (mut host, init) =
            HostSession::start(server, &made.public_key, &made.serial.clone(), seed()).map_err(|e| format!("{e:?}"))?;
        let reply = self.answer(&init)?;
        match host.on_frame(&reply) {
            Ok(HostEvent::Established(hello)) => {
                self.host = Some(host);
                Ok(Handshake::Open(hello))
            }
            Err(HostError::Refused(e)) => Ok(Handshake::Refused(e)),
            Ok(_) => Err("the key answered the handshake with something else".into()),
            Err(e) => Err(format!("the handshake reply does not verify: {e:?}")),
        }
    }

    /// A handshake that must succeed.
    pub fn open(&mut self, server: &KeyPair) -> Result<Hello, String> {
        match self.handshake(server)? {
            Handshake::Open(hello) => Ok(hello),
            Handshake::Refused(e) => Err(format!("the key refused the handshake: {e:?}")),
        }
    }

    /// The request's transport frame (to send, tamper with or replay).
    pub fn request_frame(&mut self, commands: Vec<Command>) -> Result<Vec<u8>, String> {
        let host = self.host.as_mut().ok_or("no session")?;
        host.request(&Request { commands }).map_err(|e| format!("{e:?}"))
    }

    /// The results of `commands`, or the key's refusal of the frame itself.
    pub fn call(&mut self, commands: Vec<Command>) -> Result<Result<Vec<Result<Reply, KeyError>>, KeyError>, String> {
        let frame = self.request_frame(commands)?;
        let reply = self.answer(&frame)?;
        self.read(&reply)
    }

    pub fn read(&mut self, reply: &[u8]) -> Result<Result<Vec<Result<Reply, KeyError>>, KeyError>, String> {
        let host = self.host.as_mut().ok_or("no session")?;
        match host.on_frame(reply) {
            Ok(HostEvent::Response(r)) => Ok(Ok(r.results)),
            Err(HostError::Refused(e)) => Ok(Err(e)),
            Ok(_) => Err("the key answered out of turn".into()),
            Err(e) => Err(format!("the key's answer does not verify: {e:?}")),
        }
    }

    /// One command whose frame must be accepted.
    pub fn one(&mut self, command: Command) -> Result<Result<Reply, KeyError>, String> {
        match self.call(vec![command])? {
            Ok(mut results) if results.len() == 1 => Ok(results.remove(0)),
            Ok(results) => Err(format!("{} results for one command", results.len())),
            Err(e) => Err(format!("the key refused the frame: {e:?}")),
        }
    }

    /// A raw frame of the given kind (a transport frame sent before any handshake, say).
    pub fn raw(&mut self, frame: Frame) -> Result<Option<Vec<u8>>, String> {
        self.exchange(&frame.encode(), Duration::from_secs(2))
    }
}
