//! Any sequence of chunks: the reassembler never panics, and never yields more than it was
//! given or a frame over the limit.
#![no_main]

use latchkey_protocol::link::{Reassembler, MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::default();
    // The input is a series of chunks, each prefixed by its length byte and a time step.
    let mut rest = data;
    let mut now = 0u64;
    while let [len, step, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        now += u64::from(*step) * 16;
        if let Ok(Some(frame)) = r.push(&tail[..n], now) {
            assert!(frame.len() <= MAX_FRAME && frame.len() <= data.len());
        }
        rest = &tail[n..];
    }
});
