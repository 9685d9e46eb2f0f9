//! Java's `String.hashCode()`, which RocketMQ uses as the tag hash code stored in every
//! ConsumeQueue unit and sent by clients in a subscription's `codeSet`.

/// `h = 31 * h + c` over the UTF-16 code units of `s`, with wrapping `i32` arithmetic,
/// exactly as `java.lang.String.hashCode()` computes it.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_values_computed_by_java() {
        // Values printed by `System.out.println("...".hashCode())` on a JVM.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("TBW102"), -1_826_525_782);
        // Non-BMP characters hash as two surrogate code units.
        assert_eq!(java_string_hash("😀"), 1_772_899);
    }
}
