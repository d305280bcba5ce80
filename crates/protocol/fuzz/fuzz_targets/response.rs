//! A hostile broker's response to any request the client sends: the first two bytes pick
//! the API, the next two its version, the rest is the body. Every decoder must return Ok
//! or an error, never panic, and (with the patched kafka-protocol) never allocate more
//! than the input justifies: `-rss_limit_mb` / `-malloc_limit_mb` catch that.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/samples/responses.rs"]
mod responses;

fuzz_target!(|data: &[u8]| {
    if let Some((api, version, body)) = responses::split_fuzz_input(data) {
        let _ = responses::decode(api, version, body);
    }
});
