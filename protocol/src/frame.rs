//! Frames (PROTOCOL.md §5): a type byte and a body.

use crate::message::{self, KeyError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    HandshakeInit(Vec<u8>),
    HandshakeReply(Vec<u8>),
    Transport(Vec<u8>),
    Refused(KeyError),
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        let (kind, body) = match self {
            Frame::HandshakeInit(b) => (0x01, b.clone()),
            Frame::HandshakeReply(b) => (0x02, b.clone()),
            Frame::Transport(b) => (0x03, b.clone()),
            Frame::Refused(e) => (0x04, message::encode(e)),
        };
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(kind);
        out.extend(body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Frame, KeyError> {
        let (&kind, body) = bytes.split_first().ok_or(KeyError::Malformed)?;
        match kind {
            0x01 => Ok(Frame::HandshakeInit(body.to_vec())),
            0x02 => Ok(Frame::HandshakeReply(body.to_vec())),
            0x03 => Ok(Frame::Transport(body.to_vec())),
            0x04 => Ok(Frame::Refused(message::decode(body)?)),
            _ => Err(KeyError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for f in [
            Frame::HandshakeInit(vec![1, 2]),
            Frame::HandshakeReply(vec![]),
            Frame::Transport(vec![9; 100]),
            Frame::Refused(KeyError::WrongServer),
        ] {
            assert_eq!(Frame::decode(&f.encode()), Ok(f));
        }
        assert_eq!(Frame::decode(&[]), Err(KeyError::Malformed));
        assert_eq!(Frame::decode(&[0x09]), Err(KeyError::Malformed));
    }
}
