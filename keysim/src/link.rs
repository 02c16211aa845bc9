//! A server talking to a [`SimKey`] over the BLE link, chunk by chunk, counting bytes and round
//! trips. Used by the tests and the cost benchmark; the server's own relay does the same over
//! WebBluetooth.

use latchkey_protocol::crypto::{KeyPair, Seed};
use latchkey_protocol::host::{HostError, HostEvent, HostSession};
use latchkey_protocol::link::{Chunker, Reassembler};
use latchkey_protocol::message::{Command, Hello, Request, Response};

use crate::storage::Flash;
use crate::SimKey;

pub struct Link<F: Flash> {
    pub key: SimKey<F>,
    host: Option<HostSession>,
    chunker: Chunker,
    reassembler: Reassembler,
    chunk_size: usize,
    /// Bytes written to the key and notified by it (chunk headers included).
    pub bytes_to_key: usize,
    pub bytes_from_key: usize,
    pub round_trips: usize,
}

impl<F: Flash> Link<F> {
    pub fn new(key: SimKey<F>, chunk_size: usize) -> Self {
        Link {
            key,
            host: None,
            chunker: Chunker::default(),
            reassembler: Reassembler::default(),
            chunk_size,
            bytes_to_key: 0,
            bytes_from_key: 0,
            round_trips: 0,
        }
    }

    /// The handshake, as `server`.
    pub fn connect(&mut self, server: &KeyPair, seed: Seed) -> Result<Hello, HostError> {
        let beacon: latchkey_protocol::message::Beacon =
            latchkey_protocol::message::decode(&self.key.beacon()).map_err(|_| HostError::Protocol("beacon"))?;
        let (mut host, first) = HostSession::start(server, &beacon.public_key, &beacon.serial, seed)?;
        let reply = self.round_trip(&first).ok_or(HostError::Protocol("no reply"))?;
        let event = host.on_frame(&reply);
        self.host = Some(host);
        match event? {
            HostEvent::Established(hello) => Ok(hello),
            HostEvent::Response(_) => Err(HostError::Protocol("response before handshake")),
        }
    }

    /// One request, one round trip.
    pub fn call(&mut self, commands: Vec<Command>) -> Result<Response, HostError> {
        let frame = self.host.as_mut().ok_or(HostError::Closed)?.request(&Request { commands })?;
        self.send_frame(&frame)
    }

    /// Sends a frame the caller made (tests tamper with them) and reads the answer.
    pub fn send_frame(&mut self, frame: &[u8]) -> Result<Response, HostError> {
        let reply = self.round_trip(frame);
        self.answer(reply)
    }

    /// A frame's chunks as the next round trip would number them, without sending them.
    pub fn chunks(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        self.chunker.split(frame, self.chunk_size).unwrap_or_default()
    }

    /// Sends chunks the caller made (tests tamper with them) and reads the answer.
    pub fn send_chunks(&mut self, chunks: &[Vec<u8>]) -> Result<Response, HostError> {
        self.round_trips += 1;
        let reply = self.exchange(chunks);
        self.answer(reply)
    }

    fn answer(&mut self, reply: Option<Vec<u8>>) -> Result<Response, HostError> {
        let reply = reply.ok_or(HostError::Protocol("no reply"))?;
        match self.host.as_mut().ok_or(HostError::Closed)?.on_frame(&reply)? {
            HostEvent::Response(r) => Ok(r),
            HostEvent::Established(_) => Err(HostError::Protocol("unexpected handshake")),
        }
    }

    /// The next request's frame, without sending it.
    pub fn prepare(&mut self, commands: Vec<Command>) -> Result<Vec<u8>, HostError> {
        self.host.as_mut().ok_or(HostError::Closed)?.request(&Request { commands })
    }

    /// Sends a frame's chunks; returns the key's reply frame, if any.
    pub fn round_trip(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        self.round_trips += 1;
        let chunks = self.chunker.split(frame, self.chunk_size).ok()?;
        self.exchange(&chunks)
    }

    /// Writes chunks to the key; returns the last reply frame it notified, if any.
    fn exchange(&mut self, chunks: &[Vec<u8>]) -> Option<Vec<u8>> {
        let mut reply = None;
        for chunk in chunks {
            self.bytes_to_key += chunk.len();
            for note in self.key.on_write(chunk, 0) {
                self.bytes_from_key += note.len();
                if let Ok(Some(f)) = self.reassembler.push(&note, 0) {
                    reply = Some(f);
                }
            }
        }
        reply
    }

    /// The link dropped (both sides forget the session).
    pub fn disconnect(&mut self) {
        self.key.disconnect();
        self.host = None;
        self.reassembler = Reassembler::default();
    }
}
