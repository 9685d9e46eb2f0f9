//! Replays the fuzz seeds (`fuzz/seeds/<target>/*.hex`) through the same properties the
//! cargo-fuzz targets check, so that every seed, including each crash the fuzzer ever
//! found, is a regression test in a plain `cargo test`.

use std::path::{Path, PathBuf};

use soyuz_remoting::fuzzing;

/// Fewer seeds than this means the seed directory went missing or was emptied.
const MIN_SEEDS: usize = 5;

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
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

/// Runs `property` on every seed of `target`; returns the sum of what it returned.
fn replay(target: &str, property: fn(&[u8]) -> usize) -> usize {
    let dir = seed_dir(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hex"))
        .collect();
    paths.sort();
    let mut total = 0;
    for path in &paths {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let data = decode_hex(path, &text);
        match std::panic::catch_unwind(|| property(&data)) {
            Ok(result) => total += result,
            Err(_) => panic!("seed {} fails", path.display()),
        }
    }
    assert!(
        paths.len() >= MIN_SEEDS,
        "only {} seeds in {}",
        paths.len(),
        dir.display()
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
