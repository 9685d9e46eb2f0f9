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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        fn encode_then_decode_round_trips(
            props in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{1,10}", "[ -~]{1,20}", 0..8)
        ) {
            let encoded = encode_properties(&props);
            prop_assert_eq!(decode_properties(&encoded), props);
        }
    }
}
