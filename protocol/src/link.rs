//! The link layer (PROTOCOL.md §2): frames split into chunks that fit a characteristic value,
//! and reassembled with every loss, duplicate and reordering detected.

/// Largest frame.
pub const MAX_FRAME: usize = 4096;
/// A partial frame is dropped when its next chunk is later than this.
pub const CHUNK_TIMEOUT_MS: u64 = 2000;
const HEADER: usize = 3;
const LAST: u8 = 0x01;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// A new frame began before the previous one ended.
    Abandoned,
    OutOfOrder,
    LengthMismatch,
    Malformed,
    TimedOut,
    TooLarge,
}

/// Splits frames into chunks, numbering frames in order.
#[derive(Debug, Default)]
pub struct Chunker {
    next_frame: u8,
}

impl Chunker {
    /// The chunks of `frame` for chunks of at most `chunk_size` bytes (≥ 20).
    pub fn split(&mut self, frame: &[u8], chunk_size: usize) -> Result<Vec<Vec<u8>>, LinkError> {
        if frame.len() > MAX_FRAME {
            return Err(LinkError::TooLarge);
        }
        let room = chunk_size.max(20) - HEADER;
        let id = self.next_frame;
        self.next_frame = self.next_frame.wrapping_add(1);
        let mut body = (frame.len() as u16).to_be_bytes().to_vec();
        body.extend_from_slice(frame);
        let pieces: Vec<&[u8]> = body.chunks(room).collect();
        let count = pieces.len();
        Ok(pieces
            .into_iter()
            .enumerate()
            .map(|(index, piece)| {
                let flags = if index + 1 == count { LAST } else { 0 };
                let mut chunk = vec![id, index as u8, flags];
                chunk.extend_from_slice(piece);
                chunk
            })
            .collect())
    }
}

#[derive(Debug)]
struct Partial {
    frame_id: u8,
    next_index: u8,
    expected: usize,
    data: Vec<u8>,
    last_at: u64,
}

/// Rebuilds frames from chunks.
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: Option<Partial>,
    /// The last chunk accepted, as (frame, index): its repetition is a harmless duplicate.
    last_accepted: Option<(u8, u8)>,
    /// After an error, chunks are ignored until a new frame starts.
    discarding: bool,
}

impl Reassembler {
    /// Takes one chunk received at `now_ms`. Returns a frame when one is complete, `Ok(None)`
    /// while one is in progress (or for an ignored chunk), and an error when a frame is lost.
    pub fn push(&mut self, chunk: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, LinkError> {
        if chunk.len() < HEADER + 1 || chunk[2] & !LAST != 0 {
            return self.fail(LinkError::Malformed);
        }
        let (frame_id, index, last) = (chunk[0], chunk[1], chunk[2] & LAST != 0);
        let payload = &chunk[HEADER..];

        if self.last_accepted == Some((frame_id, index)) {
            return Ok(None);
        }
        if let Some(p) = &self.partial {
            if now_ms.saturating_sub(p.last_at) > CHUNK_TIMEOUT_MS {
                self.partial = None;
                if index != 0 {
                    return self.fail(LinkError::TimedOut);
                }
            }
        }
        if index == 0 {
            let abandoned = self.partial.take().is_some();
            self.discarding = false;
            if payload.len() < 2 {
                return self.fail(LinkError::Malformed);
            }
            let expected = u16::from_be_bytes([payload[0], payload[1]]) as usize;
            if expected > MAX_FRAME {
                return self.fail(LinkError::Malformed);
            }
            self.partial = Some(Partial {
                frame_id,
                next_index: 0,
                expected,
                data: Vec::with_capacity(expected),
                last_at: now_ms,
            });
            let result = self.take(frame_id, index, &payload[2..], last, now_ms);
            return if abandoned && result.is_ok() { Err(LinkError::Abandoned) } else { result };
        }
        if self.discarding {
            return Ok(None);
        }
        match &self.partial {
            Some(p) if p.frame_id == frame_id && p.next_index == index => {
                self.take(frame_id, index, payload, last, now_ms)
            }
            _ => self.fail(LinkError::OutOfOrder),
        }
    }

    fn take(
        &mut self,
        frame_id: u8,
        index: u8,
        payload: &[u8],
        last: bool,
        now_ms: u64,
    ) -> Result<Option<Vec<u8>>, LinkError> {
        let Some(p) = self.partial.as_mut() else { return self.fail(LinkError::OutOfOrder) };
        if p.data.len() + payload.len() > p.expected {
            return self.fail(LinkError::LengthMismatch);
        }
        p.data.extend_from_slice(payload);
        p.next_index = index.wrapping_add(1);
        p.last_at = now_ms;
        self.last_accepted = Some((frame_id, index));
        if !last {
            return Ok(None);
        }
        let complete = self.partial.take().map(|p| (p.data.len() == p.expected, p.data));
        match complete {
            Some((true, data)) => Ok(Some(data)),
            _ => self.fail(LinkError::LengthMismatch),
        }
    }

    fn fail(&mut self, e: LinkError) -> Result<Option<Vec<u8>>, LinkError> {
        self.partial = None;
        self.discarding = true;
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(frame: &[u8], size: usize) -> Vec<u8> {
        let chunks = Chunker::default().split(frame, size).unwrap();
        let mut r = Reassembler::default();
        let mut out = None;
        for c in &chunks {
            assert!(c.len() <= size);
            if let Some(f) = r.push(c, 0).unwrap() {
                out = Some(f);
            }
        }
        out.unwrap()
    }

    #[test]
    fn empty_and_full_frames() {
        assert_eq!(roundtrip(&[], 20), Vec::<u8>::new());
        let big = vec![7u8; MAX_FRAME];
        assert_eq!(roundtrip(&big, 20), big);
        assert_eq!(Chunker::default().split(&vec![0; MAX_FRAME + 1], 20), Err(LinkError::TooLarge));
    }

    #[test]
    fn duplicate_chunk_is_ignored() {
        let chunks = Chunker::default().split(&[1; 50], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], 0), Ok(None));
        assert_eq!(r.push(&chunks[2], 0), Ok(None));
        assert_eq!(r.push(&chunks[3], 0), Ok(Some(vec![1; 50])));
    }

    #[test]
    fn lost_chunk_loses_the_frame_and_the_next_frame_still_arrives() {
        let mut chunker = Chunker::default();
        let first = chunker.split(&[1; 50], 20).unwrap();
        let second = chunker.split(&[2; 30], 20).unwrap();
        let mut r = Reassembler::default();
        r.push(&first[0], 0).unwrap();
        assert_eq!(r.push(&first[2], 0), Err(LinkError::OutOfOrder));
        assert_eq!(r.push(&first[3], 0), Ok(None), "ignored until a new frame");
        let mut got = None;
        for c in &second {
            got = r.push(c, 0).unwrap_or(None).or(got);
        }
        assert_eq!(got, Some(vec![2; 30]));
    }

    #[test]
    fn slow_chunk_times_out() {
        let chunks = Chunker::default().split(&[1; 50], 20).unwrap();
        let mut r = Reassembler::default();
        r.push(&chunks[0], 0).unwrap();
        assert_eq!(r.push(&chunks[1], CHUNK_TIMEOUT_MS + 1), Err(LinkError::TimedOut));
    }

    #[test]
    fn truncated_frame_is_a_length_mismatch() {
        let mut chunks = Chunker::default().split(&[1; 10], 20).unwrap();
        chunks[0].pop();
        assert_eq!(Reassembler::default().push(&chunks[0], 0), Err(LinkError::LengthMismatch));
    }

    proptest! {
        #[test]
        fn any_frame_survives_any_chunk_size(frame in proptest::collection::vec(any::<u8>(), 0..1500), size in 20usize..=512) {
            prop_assert_eq!(roundtrip(&frame, size), frame);
        }

        #[test]
        fn garbage_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30)) {
            let mut r = Reassembler::default();
            for (i, c) in chunks.iter().enumerate() {
                let _ = r.push(c, i as u64 * 10);
            }
        }

        #[test]
        fn dropping_any_chunk_never_yields_a_wrong_frame(frame in proptest::collection::vec(any::<u8>(), 40..400), drop in any::<prop::sample::Index>()) {
            let chunks = Chunker::default().split(&frame, 20).unwrap();
            let skip = drop.index(chunks.len());
            let mut r = Reassembler::default();
            for (i, c) in chunks.iter().enumerate() {
                if i == skip { continue; }
                if let Ok(Some(f)) = r.push(c, 0) {
                    prop_assert!(false, "a frame came out without chunk {}: {} bytes", skip, f.len());
                }
            }
        }
    }
}
