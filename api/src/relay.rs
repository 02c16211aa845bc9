//! The key relay (`GET /api/key/relay`, a WebSocket): the page forwards the key's frames
//! (binary messages, opaque to it) both ways; these text messages frame the session.

use serde::{Deserialize, Serialize};

/// Page → server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayRequest {
    /// The key's beacon (its info characteristic), hex: which key this session is with.
    Beacon { beacon: String },
}

/// Server → page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayEvent {
    /// What the key reported inside the encrypted channel.
    KeyInfo { serial: String, status: String, firmware: String, free_slots: u16 },
    /// The session ended with an error; `code` is stable.
    Failed { code: String, message: String },
}
