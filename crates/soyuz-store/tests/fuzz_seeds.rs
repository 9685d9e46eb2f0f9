//! Replays the recovery fuzz seeds (`fuzz/seeds/recovery/*.hex`) through the same property
//! the cargo-fuzz target checks, so that every seed, including each crash the fuzzer ever
//! found, is a regression test in a plain `cargo test`.

use std::path::Path;

use soyuz_store::fuzzing;

/// Fewer seeds than this means the seed directory went missing or was emptied.
const MIN_SEEDS: usize = 5;

/// Where the hand-written seeds put their records: right after the harness's three valid
/// prefix records. The seeds were encoded for this offset (blank marker sizes, physical
/// offsets); if the prefix changes, they must be regenerated.
const SEED_PREFIX_END: usize = 525;

/// Runs the recovery property on every seed `select` picks; returns how many seeds ran
/// and how many records they recovered past the valid prefix.
fn replay(select: fn(&Path) -> bool) -> (usize, usize) {
    let seeds: Vec<_> = soyuz_testkit::fuzz_seeds("recovery")
        .into_iter()
        .filter(|seed| select(&seed.path))
        .collect();
    let mut recovered = 0;
    for seed in &seeds {
        match std::panic::catch_unwind(|| fuzzing::recover_from_segment_bytes(&seed.data)) {
            Ok(count) => recovered += count,
            Err(_) => panic!("seed {} fails", seed.path.display()),
        }
    }
    (seeds.len(), recovered)
}

#[test]
fn the_seeds_match_the_harness_prefix() {
    let prefix: usize = fuzzing::valid_prefix(3).iter().map(Vec::len).sum();
    assert_eq!(prefix, SEED_PREFIX_END, "regenerate the recovery seeds");
}

#[test]
fn recovery_seeds() {
    let (seeds, recovered) = replay(|_| true);
    assert!(seeds >= MIN_SEEDS, "only {seeds} recovery seeds");
    // The hand-written seeds hold 5 records that recovery keeps; fewer means the seeds
    // no longer reach the checks on recovered records.
    assert!(
        recovered >= 5,
        "the recovery seeds recover only {recovered} records"
    );
}

#[test]
fn empty_and_tiny_inputs() {
    for data in [
        &b""[..],
        b"\x00",
        b"\x01",
        b"\x03",
        b"\x08",
        b"\x30",
        b"\xff",
    ] {
        fuzzing::recover_from_segment_bytes(data);
    }
}
