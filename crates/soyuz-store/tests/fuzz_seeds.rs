//! Replays the recovery fuzz seeds (`fuzz/seeds/recovery/*.hex`) through the same property
//! the cargo-fuzz target checks, so that every seed, including each crash the fuzzer ever
//! found, is a regression test in a plain `cargo test`.

use std::path::{Path, PathBuf};

use soyuz_store::fuzzing;

/// Fewer seeds than this means the seed directory went missing or was emptied.
const MIN_SEEDS: usize = 5;

/// Where the hand-written seeds put their records: right after the harness's three valid
/// prefix records. The seeds were encoded for this offset (blank marker sizes, physical
/// offsets); if the prefix changes, they must be regenerated.
const SEED_PREFIX_END: usize = 525;

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/recovery")
}

fn decode_hex(path: &Path, text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(
        digits.len().is_multiple_of(2),
        "{}: odd number of hex digits",
        path.display()
    );
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("hex digits are ASCII");
            u8::from_str_radix(pair, 16)
                .unwrap_or_else(|_| panic!("{}: {pair:?} is not hex", path.display()))
        })
        .collect()
}

/// Runs the recovery property on every seed `select` picks; returns how many seeds ran
/// and how many records they recovered past the valid prefix.
fn replay(select: fn(&Path) -> bool) -> (usize, usize) {
    let dir = seed_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hex"))
        .filter(|path| select(path))
        .collect();
    paths.sort();
    let mut recovered = 0;
    for path in &paths {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let data = decode_hex(path, &text);
        match std::panic::catch_unwind(|| fuzzing::recover_from_segment_bytes(&data)) {
            Ok(count) => recovered += count,
            Err(_) => panic!("seed {} fails", path.display()),
        }
    }
    (paths.len(), recovered)
}

#[test]
fn the_seeds_match_the_harness_prefix() {
    let prefix: usize = fuzzing::valid_prefix(3).iter().map(Vec::len).sum();
    assert_eq!(prefix, SEED_PREFIX_END, "regenerate the recovery seeds");
}

#[test]
fn recovery_seeds() {
    let (seeds, recovered) = replay(|_| true);
    assert!(
        seeds >= MIN_SEEDS,
        "only {seeds} seeds in {}",
        seed_dir().display()
    );
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
