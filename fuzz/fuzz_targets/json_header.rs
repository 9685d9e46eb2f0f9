//! The hand-written JSON header reader against the serde reader it replaced.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _accepted = soyuz_remoting::fuzzing::json_header_matches_serde(data);
});
