//! Replays the fuzz seeds (`fuzz/seeds/<target>/*.hex`) through the same properties the
//! cargo-fuzz targets check, so that every seed, including each crash the fuzzer ever
//! found, is a regression test in a plain `cargo test`.

use soyuz_remoting::fuzzing;

/// Fewer seeds than this means the seed directory went missing or was emptied.
const MIN_SEEDS: usize = 5;

/// Runs `property` on every seed of `target`; returns the sum of what it returned.
fn replay(target: &str, property: fn(&[u8]) -> usize) -> usize {
    let seeds = soyuz_testkit::fuzz_seeds(target);
    let mut total = 0;
    for seed in &seeds {
        match std::panic::catch_unwind(|| property(&seed.data)) {
            Ok(result) => total += result,
            Err(_) => panic!("seed {} fails", seed.path.display()),
        }
    }
    assert!(
        seeds.len() >= MIN_SEEDS,
        "only {} seeds for {target}",
        seeds.len()
    );
    total
}

#[test]
fn frame_decode_seeds() {
    let commands = replay("frame_decode", fuzzing::frame_decode_in_two_chunks);
    // The hand-written seeds hold 8 whole frames; fewer means the seeds no longer reach
    // the round-trip check.
    assert!(
        commands >= 8,
        "the frame seeds decode only {commands} commands"
    );
}

#[test]
fn json_header_seeds() {
    let accepted = replay("json_header", fuzzing::json_header_matches_serde);
    // Half the seeds are valid headers; fewer accepted means the seeds stopped reaching
    // the comparison of two decoded commands.
    assert!(accepted >= 7, "only {accepted} JSON header seeds accepted");
}

#[test]
fn body_decode_seeds() {
    fn run(data: &[u8]) -> usize {
        fuzzing::body_decoders(data);
        0
    }
    replay("body_decode", run);
}

#[test]
fn empty_and_tiny_inputs() {
    for data in [&b""[..], b"\x00", b"\xff", b"\x00\x00\x00\x00\x04"] {
        assert_eq!(fuzzing::frame_decode_in_two_chunks(data), 0);
        fuzzing::body_decoders(data);
    }
}
