//! The link layer (PROTOCOL.md §4): frames split into chunks that fit a characteristic value,
//! and reassembled with every loss, duplicate and reordering detected.

use crate::gatt::MAX_VALUE;

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
        // ATT_MTU 23 at least; and a characteristic value is at most 512 bytes (§3).
        let room = chunk_size.clamp(20, MAX_VALUE) - HEADER;
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
        let late = self.partial.as_ref().is_some_and(|p| now_ms.saturating_sub(p.last_at) > CHUNK_TIMEOUT_MS);
        if late && index != 0 {
            return self.fail(LinkError::TimedOut);
        }
        if index == 0 {
            let lost = self.partial.take().map(|_| if late { LinkError::TimedOut } else { LinkError::Abandoned });
            return match self.start(frame_id, payload, last, now_ms) {
                Ok(None) => lost.map_or(Ok(None), Err),
                // A frame complete in this one chunk outweighs reporting the one it displaced.
                result => result,
            };
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

    /// Opens a frame with its chunk 0.
    fn start(&mut self, frame_id: u8, payload: &[u8], last: bool, now_ms: u64) -> Result<Option<Vec<u8>>, LinkError> {
        self.discarding = false;
        let [high, low, data @ ..] = payload else { return self.fail(LinkError::Malformed) };
        let expected = u16::from_be_bytes([*high, *low]) as usize;
        if expected > MAX_FRAME {
            return self.fail(LinkError::Malformed);
        }
        self.partial =
            Some(Partial { frame_id, next_index: 0, expected, data: Vec::with_capacity(expected), last_at: now_ms });
        self.take(frame_id, 0, data, last, now_ms)
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

    /// A chunk written out: header, then payload.
    fn chunk(frame_id: u8, index: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        [&[frame_id, index, flags][..], payload].concat()
    }

    /// Chunk 0 of a frame announced as `len` bytes, carrying `data`.
    fn opening(frame_id: u8, len: u16, flags: u8, data: &[u8]) -> Vec<u8> {
        chunk(frame_id, 0, flags, &[&len.to_be_bytes()[..], data].concat())
    }

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
    fn chunks_carry_id_index_flags_and_a_length_prefix() {
        let frame: Vec<u8> = (0..40).collect();
        let chunks = Chunker::default().split(&frame, 20).unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0], opening(0, 40, 0, &frame[..15]));
        assert_eq!(chunks[1], chunk(0, 1, 0, &frame[15..32]));
        assert_eq!(chunks[2], chunk(0, 2, LAST, &frame[32..]));
    }

    #[test]
    fn frames_are_numbered_in_order_and_wrap() {
        let mut chunker = Chunker::default();
        let ids: Vec<u8> = (0..257).map(|_| chunker.split(&[1], 20).unwrap()[0][0]).collect();
        let expected: Vec<u8> = (0..=255).chain([0]).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn chunks_fill_the_chunk_size_and_never_exceed_it() {
        let frame = vec![5u8; 3000];
        for size in [20, 21, 100, 244, 512] {
            let chunks = Chunker::default().split(&frame, size).unwrap();
            let (last, full) = chunks.split_last().unwrap();
            assert!(full.iter().all(|c| c.len() == size), "size {size}");
            assert!(!last.is_empty() && last.len() <= size, "size {size}");
        }
    }

    #[test]
    fn chunk_sizes_outside_the_att_range_are_brought_into_it() {
        let frame = vec![5u8; 3000];
        let longest = |size| Chunker::default().split(&frame, size).unwrap().iter().map(Vec::len).max().unwrap();
        // An unknown MTU is the default 23: 20-byte chunks.
        assert_eq!(longest(0), 20);
        assert_eq!(longest(19), 20);
        assert_eq!(longest(20), 20);
        // No characteristic value exceeds 512 bytes.
        assert_eq!(longest(512), 512);
        assert_eq!(longest(514), 512);
        assert_eq!(longest(4096), 512);
    }

    #[test]
    fn the_largest_frame_fits_the_chunk_index_at_the_smallest_mtu() {
        let chunks = Chunker::default().split(&[7; MAX_FRAME], 20).unwrap();
        assert_eq!(chunks.len(), (MAX_FRAME + 2).div_ceil(17));
        for (i, c) in chunks.iter().enumerate() {
            let flags = if i + 1 == chunks.len() { LAST } else { 0 };
            assert_eq!(c[..HEADER], [0, i as u8, flags]);
        }
    }

    #[test]
    fn empty_and_full_frames() {
        assert_eq!(roundtrip(&[], 20), Vec::<u8>::new());
        let big = vec![7u8; MAX_FRAME];
        assert_eq!(roundtrip(&big, 20), big);
        assert_eq!(roundtrip(&big, 512), big);
    }

    #[test]
    fn a_frame_over_the_maximum_is_refused() {
        assert!(Chunker::default().split(&[0; MAX_FRAME], 20).is_ok());
        assert_eq!(Chunker::default().split(&[0; MAX_FRAME + 1], 20), Err(LinkError::TooLarge));

        let data = [0u8; 15];
        assert_eq!(Reassembler::default().push(&opening(0, MAX_FRAME as u16, 0, &data), 0), Ok(None));
        let over = opening(0, MAX_FRAME as u16 + 1, 0, &data);
        assert_eq!(Reassembler::default().push(&over, 0), Err(LinkError::Malformed));
    }

    #[test]
    fn a_reserved_flag_bit_is_malformed() {
        for bit in 1..8 {
            let flags = LAST | 1 << bit;
            let mut r = Reassembler::default();
            assert_eq!(r.push(&opening(0, 1, flags, &[9]), 0), Err(LinkError::Malformed), "bit {bit}");
            assert_eq!(r.push(&opening(1, 1, LAST, &[9]), 0), Ok(Some(vec![9])), "bit {bit}");

            // In a later chunk, it drops the open frame.
            let mut r = Reassembler::default();
            assert_eq!(r.push(&opening(0, 2, 0, &[1]), 0), Ok(None));
            assert_eq!(r.push(&chunk(0, 1, flags, &[2]), 0), Err(LinkError::Malformed), "bit {bit}");
            assert_eq!(r.push(&chunk(0, 1, LAST, &[2]), 0), Ok(None), "the frame is gone");
            let mut r = Reassembler::default();
            assert_eq!(r.push(&opening(0, 2, 0, &[1]), 0), Ok(None));
            assert_eq!(r.push(&chunk(0, 1, LAST, &[2]), 0), Ok(Some(vec![1, 2])));
        }
    }

    #[test]
    fn a_chunk_under_four_bytes_is_malformed() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 2, 0, &[1]), 0), Ok(None));
        assert_eq!(r.push(&[0, 1, LAST], 0), Err(LinkError::Malformed));
        assert_eq!(r.push(&chunk(0, 1, LAST, &[2]), 0), Ok(None), "the frame is gone");
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 2, 0, &[1]), 0), Ok(None));
        assert_eq!(r.push(&chunk(0, 1, LAST, &[2]), 0), Ok(Some(vec![1, 2])));

        for short in [&[][..], &[0], &[0, 0], &[0, 0, LAST]] {
            assert_eq!(Reassembler::default().push(short, 0), Err(LinkError::Malformed), "{short:?}");
        }
        // Chunk 0 needs both bytes of the length: the smallest is an empty frame's.
        assert_eq!(Reassembler::default().push(&[0, 0, LAST, 0], 0), Err(LinkError::Malformed));
        assert_eq!(Reassembler::default().push(&[0, 0, LAST, 0, 0], 0), Ok(Some(vec![])));
    }

    #[test]
    fn more_payload_than_announced_is_a_length_mismatch() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 2, LAST, &[1, 2, 3]), 0), Err(LinkError::LengthMismatch));
        assert_eq!(r.push(&opening(1, 3, LAST, &[1, 2, 3]), 0), Ok(Some(vec![1, 2, 3])));

        // Overflowing in a later chunk, LAST or not.
        for flags in [0, LAST] {
            let mut r = Reassembler::default();
            assert_eq!(r.push(&opening(0, 3, 0, &[1, 2]), 0), Ok(None));
            assert_eq!(r.push(&chunk(0, 1, flags, &[3, 4]), 0), Err(LinkError::LengthMismatch));
            assert_eq!(r.push(&chunk(0, 2, LAST, &[5]), 0), Ok(None), "the frame is gone");
        }
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 3, 0, &[1, 2]), 0), Ok(None));
        assert_eq!(r.push(&chunk(0, 1, LAST, &[3]), 0), Ok(Some(vec![1, 2, 3])));
    }

    #[test]
    fn a_last_chunk_short_of_the_length_is_a_length_mismatch() {
        assert_eq!(Reassembler::default().push(&opening(0, 4, LAST, &[1, 2, 3]), 0), Err(LinkError::LengthMismatch));
        assert_eq!(Reassembler::default().push(&opening(0, 3, LAST, &[1, 2, 3]), 0), Ok(Some(vec![1, 2, 3])));

        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 5, 0, &[1, 2]), 0), Ok(None));
        assert_eq!(r.push(&chunk(0, 1, LAST, &[3, 4]), 0), Err(LinkError::LengthMismatch));
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 4, 0, &[1, 2]), 0), Ok(None));
        assert_eq!(r.push(&chunk(0, 1, LAST, &[3, 4]), 0), Ok(Some(vec![1, 2, 3, 4])));
    }

    #[test]
    fn a_new_frame_abandons_a_partial_one() {
        let mut chunker = Chunker::default();
        let first = chunker.split(&[1; 50], 20).unwrap();
        let second = chunker.split(&[2; 30], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&first[0], 0), Ok(None));
        assert_eq!(r.push(&first[1], 0), Ok(None));
        assert_eq!(r.push(&second[0], 0), Err(LinkError::Abandoned));
        assert_eq!(r.push(&second[1], 0), Ok(Some(vec![2; 30])));

        let mut r = Reassembler::default();
        assert_eq!(r.push(&second[0], 0), Ok(None));
        assert_eq!(r.push(&second[1], 0), Ok(Some(vec![2; 30])));
    }

    #[test]
    fn a_one_chunk_frame_after_a_partial_one_is_delivered() {
        let mut chunker = Chunker::default();
        let first = chunker.split(&[1; 50], 20).unwrap();
        let second = chunker.split(&[2; 10], 20).unwrap();
        assert_eq!(second.len(), 1);
        let mut r = Reassembler::default();
        assert_eq!(r.push(&first[0], 0), Ok(None));
        assert_eq!(r.push(&second[0], 0), Ok(Some(vec![2; 10])));
        assert_eq!(Reassembler::default().push(&second[0], 0), Ok(Some(vec![2; 10])));
    }

    #[test]
    fn the_chunk_accepted_last_is_a_duplicate() {
        let chunks = Chunker::default().split(&[1; 50], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], 0), Ok(None));
        assert_eq!(r.push(&chunks[2], 0), Ok(None));
        assert_eq!(r.push(&chunks[3], 0), Ok(Some(vec![1; 50])));
        assert_eq!(r.push(&chunks[3], 0), Ok(None), "a frame is delivered once");

        let mut chunker = Chunker::default();
        let one = chunker.split(&[3], 20).unwrap();
        let next = chunker.split(&[4], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&one[0], 0), Ok(Some(vec![3])));
        assert_eq!(r.push(&one[0], 0), Ok(None), "a frame is delivered once");
        assert_eq!(r.push(&next[0], 0), Ok(Some(vec![4])));
    }

    #[test]
    fn an_earlier_chunk_again_is_out_of_order() {
        let chunks = Chunker::default().split(&[1; 50], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], 0), Ok(None));
        assert_eq!(r.push(&chunks[2], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], 0), Err(LinkError::OutOfOrder));
        assert_eq!(r.push(&chunks[3], 0), Ok(None), "the frame is gone");
    }

    #[test]
    fn a_chunk_out_of_order_drops_the_frame_until_the_next_index_0() {
        let mut chunker = Chunker::default();
        let first = chunker.split(&[1; 50], 20).unwrap();
        let second = chunker.split(&[2; 30], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&first[0], 0), Ok(None));
        assert_eq!(r.push(&first[2], 0), Err(LinkError::OutOfOrder));
        assert_eq!(r.push(&first[1], 0), Ok(None), "ignored until a new frame");
        assert_eq!(r.push(&first[2], 0), Ok(None), "ignored until a new frame");
        assert_eq!(r.push(&first[3], 0), Ok(None), "ignored until a new frame");
        assert_eq!(r.push(&second[0], 0), Ok(None));
        assert_eq!(r.push(&second[1], 0), Ok(Some(vec![2; 30])));
    }

    #[test]
    fn a_chunk_of_another_frame_is_out_of_order() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 2, 0, &[1]), 0), Ok(None));
        assert_eq!(r.push(&chunk(1, 1, LAST, &[2]), 0), Err(LinkError::OutOfOrder));
        let mut r = Reassembler::default();
        assert_eq!(r.push(&opening(0, 2, 0, &[1]), 0), Ok(None));
        assert_eq!(r.push(&chunk(0, 1, LAST, &[2]), 0), Ok(Some(vec![1, 2])));

        // Nothing open: only an index 0 starts a frame.
        assert_eq!(Reassembler::default().push(&chunk(0, 1, LAST, &[2]), 0), Err(LinkError::OutOfOrder));
    }

    #[test]
    fn a_late_chunk_times_out() {
        let chunks = Chunker::default().split(&[1; 50], 20).unwrap();
        let mut r = Reassembler::default();
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], CHUNK_TIMEOUT_MS), Ok(None), "just in time");
        assert_eq!(r.push(&chunks[2], 2 * CHUNK_TIMEOUT_MS + 1), Err(LinkError::TimedOut));
        assert_eq!(r.push(&chunks[3], 2 * CHUNK_TIMEOUT_MS + 1), Ok(None), "the frame is gone");
    }

    #[test]
    fn the_timeout_runs_from_the_previous_chunk() {
        let chunks = Chunker::default().split(&[1; 50], 20).unwrap();
        let mut r = Reassembler::default();
        let step = CHUNK_TIMEOUT_MS * 3 / 4;
        assert_eq!(r.push(&chunks[0], 0), Ok(None));
        assert_eq!(r.push(&chunks[1], step), Ok(None));
        assert_eq!(r.push(&chunks[2], 2 * step), Ok(None));
        assert_eq!(r.push(&chunks[3], 3 * step), Ok(Some(vec![1; 50])));
    }

    #[test]
    fn a_late_first_chunk_times_out_the_open_frame_and_starts_its_own() {
        let mut chunker = Chunker::default();
        let first = chunker.split(&[1; 50], 20).unwrap();
        let second = chunker.split(&[2; 30], 20).unwrap();
        let third = chunker.split(&[3; 10], 20).unwrap();
        let late = CHUNK_TIMEOUT_MS + 1;
        let mut r = Reassembler::default();
        assert_eq!(r.push(&first[0], 0), Ok(None));
        assert_eq!(r.push(&second[0], late), Err(LinkError::TimedOut));
        assert_eq!(r.push(&second[1], late), Ok(Some(vec![2; 30])));

        let mut r = Reassembler::default();
        assert_eq!(r.push(&first[0], 0), Ok(None));
        assert_eq!(r.push(&third[0], late), Ok(Some(vec![3; 10])));
    }

    proptest! {
        #[test]
        fn any_frame_survives_any_chunk_size(frame in proptest::collection::vec(any::<u8>(), 0..1500), size in 20usize..=512) {
            prop_assert_eq!(roundtrip(&frame, size), frame);
        }

        #[test]
        fn garbage_never_yields_more_than_it_was_given(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30)) {
            let mut r = Reassembler::default();
            let given: usize = chunks.iter().map(Vec::len).sum();
            for (i, c) in chunks.iter().enumerate() {
                if let Ok(Some(frame)) = r.push(c, i as u64 * 10) {
                    prop_assert!(frame.len() <= given);
                }
            }
            // The reassembler still works after whatever it was fed.
            // (Numbered past the last chunk it accepted, which would be a duplicate.)
            let next_frame = r.last_accepted.map_or(0, |(id, _)| id.wrapping_add(1));
            let valid = Chunker { next_frame }.split(&[6; 40], 20).unwrap();
            let mut got = Ok(None);
            for c in &valid {
                got = r.push(c, chunks.len() as u64 * 10);
            }
            prop_assert_eq!(got, Ok(Some(vec![6; 40])));
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
            let mut r = Reassembler::default();
            let delivered: Vec<Vec<u8>> = chunks.iter().filter_map(|c| r.push(c, 0).unwrap()).collect();
            prop_assert_eq!(delivered, vec![frame]);
        }
    }
}
