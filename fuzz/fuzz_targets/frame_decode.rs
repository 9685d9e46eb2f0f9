//! Frames split into two chunks, decoded, re-encoded and decoded again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _decoded = soyuz_remoting::fuzzing::frame_decode_in_two_chunks(data);
});
