//! The message-properties string: `name \x01 value \x02` repeated, UTF-8.
//!
//! The Java encoder (`MessageDecoder.messageProperties2String`) ends every pair with the
//! `\x02` separator and skips null values. The decoder splits on `\x02`, ignores segments
//! without `\x01` or shorter than three characters, and splits each at its first `\x01`.
//! The encoded form is stored with an `i16` length, so it may not exceed 32767 bytes.

use std::collections::BTreeMap;

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends each name/value pair.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Largest encoded properties string the record layouts can carry (`i16` length).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Well-known property names (`MessageConst`).
pub mod keys {
    /// Business keys, space-separated; indexed for QUERY_MESSAGE.
    pub const KEYS: &str = "KEYS";
    /// The message tag.
    pub const TAGS: &str = "TAGS";
    /// `false` tells the broker not to wait for flush or replication.
    pub const WAIT_STORE_MSG_OK: &str = "WAIT";
    /// 4.x delay level.
    pub const DELAY_TIME_LEVEL: &str = "DELAY";
    /// The client-generated unique message id.
    pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    /// Cluster name, added by the broker on store.
    pub const CLUSTER: &str = "CLUSTER";
    /// Producer group of a transactional message.
    pub const PRODUCER_GROUP: &str = "PGROUP";
    /// `true` for a prepared (half) transactional message.
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    /// Original topic while a message is parked in a system topic.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue id while a message is parked in a system topic.
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    /// Original topic of a retried message.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Region id added by the broker to send responses.
    pub const MSG_REGION: &str = "MSG_REGION";
    /// Whether tracing is on, added by the broker to send responses.
    pub const TRACE_ON: &str = "TRACE_ON";
}

/// Encodes properties the way the Java client does: every pair followed by `\x02`.
/// Pairs come out in the map's order; Java's `HashMap` order differs, and no reader
/// depends on the order.
pub fn encode_properties(properties: &BTreeMap<String, String>) -> String {
    let capacity = properties.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(capacity);
    for (name, value) in properties {
        out.push_str(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// Decodes a properties string with the Java decoder's leniency: malformed segments are
/// skipped, a later duplicate name wins.
pub fn decode_properties(encoded: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for segment in encoded.split(PROPERTY_SEPARATOR) {
        // Java checks `length() >= 3` in UTF-16 units; counting chars agrees for every
        // string whose units and chars differ only outside the 1..=2 range that matters.
        if segment.chars().count() < 3 {
            continue;
        }
        if let Some((name, value)) = segment.split_once(NAME_VALUE_SEPARATOR) {
            map.insert(name.to_owned(), value.to_owned());
        }
    }
    map
}

/// One property's value, read straight from the encoded string without building a map
/// (the hot paths need one or two keys per message). Same leniency and "later duplicate
/// wins" rule as [`decode_properties`].
pub fn find_property<'a>(encoded: &'a str, name: &str) -> Option<&'a str> {
    let [found] = find_properties(encoded, [name]);
    found
}

/// Several properties' values in one pass over the encoded string, in the order of
/// `names`; each as [`find_property`] would find it.
pub fn find_properties<'a, const N: usize>(
    encoded: &'a str,
    names: [&str; N],
) -> [Option<&'a str>; N] {
    let mut found = [None; N];
    // Byte-wise: both separators are ASCII, so splitting bytes never cuts a character.
    let bytes = encoded.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(PROPERTY_SEPARATOR as u8, &bytes[start..])
            .map_or(bytes.len(), |i| start + i);
        let segment = &bytes[start..end];
        if let Some(split) = memchr::memchr(NAME_VALUE_SEPARATOR as u8, segment) {
            let key = &segment[..split];
            for (slot, name) in found.iter_mut().zip(names) {
                // Java skips a pair shorter than three characters in all.
                if key == name.as_bytes() && encoded[start..end].chars().count() >= 3 {
                    *slot = Some(&encoded[start + split + 1..end]);
                }
            }
        }
        start = end + 1;
    }
    found
}

/// [`find_property`] over raw bytes (records hold properties as bytes); `None` if the
/// bytes are not UTF-8.
pub fn find_property_in_bytes<'a>(encoded: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(encoded)
        .ok()
        .and_then(|text| find_property(text, name))
}

/// [`find_properties`] over raw bytes; all `None` if the bytes are not UTF-8.
pub fn find_properties_in_bytes<'a, const N: usize>(
    encoded: &'a [u8],
    names: [&str; N],
) -> [Option<&'a str>; N] {
    std::str::from_utf8(encoded).map_or([None; N], |text| find_properties(text, names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_one_property_like_the_map_decoder() {
        let encoded = "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagB\u{2}";
        assert_eq!(find_property(encoded, "KEYS"), Some("k1 k2"));
        assert_eq!(find_property(encoded, "TAGS"), Some("TagB"));
        assert_eq!(find_property(encoded, "NONE"), None);
        assert_eq!(
            find_property("a\u{1}\u{2}", "a"),
            None,
            "shorter than 3 chars"
        );
    }

    #[test]
    fn decodes_the_java_encoding_with_trailing_separator() {
        let props = decode_properties("TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
        assert_eq!(props.get("TAGS").map(String::as_str), Some("TagA"));
        assert_eq!(props.get("KEYS").map(String::as_str), Some("k1 k2"));
        assert_eq!(props.len(), 2);
    }

    #[test]
    fn skips_malformed_segments_like_java() {
        let props = decode_properties("ab\u{2}x\u{1}\u{2}noseparator\u{2}a\u{1}b\u{2}\u{2}");
        assert_eq!(props.len(), 1);
        assert_eq!(props.get("a").map(String::as_str), Some("b"));
    }

    proptest! {
        #[test]
        fn find_agrees_with_decode(pairs in proptest::collection::vec(("[A-Z]{1,3}", "[a-z ]{0,4}"), 0..6), probe in "[A-Z]{1,3}") {
            let mut encoded = String::new();
            for (k, v) in &pairs {
                encoded.push_str(k);
                encoded.push(NAME_VALUE_SEPARATOR);
                encoded.push_str(v);
                encoded.push(PROPERTY_SEPARATOR);
            }
            let map = decode_properties(&encoded);
            prop_assert_eq!(find_property(&encoded, &probe), map.get(&probe).map(String::as_str));
            let [first, second] = find_properties(&encoded, [probe.as_str(), "B"]);
            prop_assert_eq!(first, map.get(&probe).map(String::as_str));
            prop_assert_eq!(second, map.get("B").map(String::as_str));
        }

        #[test]
        fn encode_then_decode_round_trips(
            props in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{1,10}", "[ -~]{1,20}", 0..8)
        ) {
            let encoded = encode_properties(&props);
            prop_assert_eq!(decode_properties(&encoded), props);
        }
    }
}
