//! CommitLog bytes after a valid prefix, plus a checkpoint, through crash recovery.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _recovered = soyuz_store::fuzzing::recover_from_segment_bytes(data);
});
