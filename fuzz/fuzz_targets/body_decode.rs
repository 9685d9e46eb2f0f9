//! The JSON, fastjson and REGISTER_BROKER body decoders on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    soyuz_remoting::fuzzing::body_decoders(data);
});
