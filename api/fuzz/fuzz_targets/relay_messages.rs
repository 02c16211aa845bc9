//! Any bytes as the relay's JSON messages (what a page sends the server, what the server sends
//! the page): reading never panics, and what reads writes back to JSON that reads the same.
#![no_main]

use latchkey_api::relay::{RelayEvent, RelayRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<RelayRequest>(data) {
        let again = serde_json::to_string(&request).expect("a request writes");
        let reread: RelayRequest = serde_json::from_str(&again).expect("what was written reads");
        assert_eq!(serde_json::to_string(&reread).ok(), Some(again));
    }
    if let Ok(event) = serde_json::from_slice::<RelayEvent>(data) {
        let again = serde_json::to_string(&event).expect("an event writes");
        let reread: RelayEvent = serde_json::from_str(&again).expect("what was written reads");
        assert_eq!(serde_json::to_string(&reread).ok(), Some(again));
    }
});
