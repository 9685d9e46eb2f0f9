//! Finding the bytes a JSON string cannot hold as they are (`"`, `\` and controls below
//! 0x20) eight bytes at a time: both the reader and the writer spend most of their time
//! walking string contents that hold none of them.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether `byte` must be escaped in a JSON string (or ends one).
pub fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// The index of the first special byte in `bytes`, or `bytes.len()`.
pub fn first_special(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let flagged = below(word, 0x20)
            | zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')));
        if flagged != 0 {
            // A borrow can flag a byte above a real hit, never one below it: the lowest
            // flag is the first special byte.
            return at + (flagged.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .position(|&b| is_special(b))
        .unwrap_or(chunks.remainder().len())
}

/// The high bit of each byte of `word` that is zero (and maybe of bytes above one).
fn zero_byte(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The high bit of each byte of `word` below `limit` (at most 0x80; maybe of bytes above
/// one).
fn below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn finds_what_a_byte_loop_finds(bytes in prop::collection::vec(
            prop_oneof![4 => 0x20u8..=0xFF, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20],
            0..40,
        )) {
            let expected = bytes.iter().position(|&b| is_special(b)).unwrap_or(bytes.len());
            prop_assert_eq!(first_special(&bytes), expected);
        }
    }

    #[test]
    fn every_special_byte_at_every_position() {
        for special in (0u8..0x20).chain([b'"', b'\\']) {
            for at in 0..20 {
                let mut bytes = vec![b'a'; 20];
                bytes[at] = special;
                if at + 3 < bytes.len() {
                    // A byte a borrow could wrongly flag, after the real hit.
                    bytes[at + 3] = 0xFF;
                }
                assert_eq!(first_special(&bytes), at, "byte {special:#x} at {at}");
            }
        }
        assert_eq!(
            first_special(&[0x7F, 0x80, 0xFF, b'!', b'#', b'[', b']', 0x20]),
            8
        );
    }
}
