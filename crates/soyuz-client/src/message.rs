//! [`Message`], what producers send, and [`MessageExt`], what consumers receive.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;

use bytes::Bytes;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use soyuz_model::msg_id::encode_offset_msg_id;
use soyuz_model::properties::{decode_properties, keys};
use soyuz_model::record::{decode_record_shared, DecodedRecord, MessageRecord};
use soyuz_model::sys_flag::{self, CompressionType};

pub use soyuz_remoting::body::MessageQueue;

/// Property keys the client sets or reads beyond those in `soyuz_model::properties::keys`.
pub mod property {
    pub use soyuz_model::properties::keys::*;
    /// The smallest offset of the queue when the message was pulled.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// The next offset to be written in the queue when the message was pulled.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// Retry counter of a message re-sent to the retry topic by the client.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Retry limit carried by a message re-sent to the retry topic by the client.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// The first message id of a retried message.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// When the current consumption started (ms).
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    /// Transaction id of a half message.
    pub const TRANSACTION_ID: &str = "__transactionId__";
}

/// Messages with bodies larger than this are zlib-compressed (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER: usize = 4 * 1024;
/// Largest message a producer sends (`maxMessageSize`, 4 MiB).
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// A message to send (`org.apache.rocketmq.common.message.Message`).
///
/// Properties hold the tag, keys, delay level and user properties; like Java, a new
/// message carries `WAIT=true` (wait for the store before answering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// The user's integer flag, stored with the message.
    pub flag: i32,
    /// Body bytes.
    pub body: Bytes,
    /// All properties, system and user.
    pub properties: BTreeMap<String, String>,
}

impl Message {
    /// A message for `topic` with `body`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        let mut properties = BTreeMap::new();
        properties.insert(keys::WAIT_STORE_MSG_OK.to_owned(), "true".to_owned());
        Self {
            topic: topic.into(),
            flag: 0,
            body: body.into(),
            properties,
        }
    }

    /// Sets the tag (`TAGS`), returning the message.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.set_tags(tags);
        self
    }

    /// Sets the business keys (`KEYS`, space-separated when several), returning the message.
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.properties.insert(keys::KEYS.to_owned(), joined);
        self
    }

    /// Adds a user property, returning the message.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Sets the delay level (1..=18, `DELAY`), returning the message.
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.properties
            .insert(keys::DELAY_TIME_LEVEL.to_owned(), level.to_string());
        self
    }

    /// Sets the user flag, returning the message.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Sets the tag.
    pub fn set_tags(&mut self, tags: impl Into<String>) {
        self.properties.insert(keys::TAGS.to_owned(), tags.into());
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// The business keys.
    pub fn keys(&self) -> Vec<&str> {
        self.property(keys::KEYS)
            .map(|k| k.split(' ').filter(|k| !k.is_empty()).collect())
            .unwrap_or_default()
    }

    /// The delay level, 0 when none.
    pub fn delay_level(&self) -> i32 {
        self.property(keys::DELAY_TIME_LEVEL)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0)
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }
}

/// A message as stored by the broker and received by consumers
/// (`MessageExt` / `MessageClientExt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Topic. For a retried message of a clustering consumer, the original topic.
    pub topic: String,
    /// The producer's flag.
    pub flag: i32,
    /// Body, inflated if it was stored compressed.
    pub body: Bytes,
    /// Properties.
    pub properties: BTreeMap<String, String>,
    /// Broker name of the queue the message came from.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Offset in the queue.
    pub queue_offset: i64,
    /// Offset of the record in the broker's CommitLog.
    pub commit_log_offset: i64,
    /// Size of the stored record.
    pub store_size: i32,
    /// The record's sysflag.
    pub sys_flag: i32,
    /// When the producer created the message (ms).
    pub born_timestamp: i64,
    /// The producer's address.
    pub born_host: SocketAddr,
    /// When the broker stored it (ms).
    pub store_timestamp: i64,
    /// The broker's address.
    pub store_host: SocketAddr,
    /// How often this message was consumed and failed before.
    pub reconsume_times: i32,
    /// Transaction bookkeeping offset.
    pub prepared_transaction_offset: i64,
    /// CRC of the body as stored.
    pub body_crc: i32,
}

impl MessageExt {
    /// The message id: the producer's unique key (`UNIQ_KEY`) if set, else the offset id.
    pub fn msg_id(&self) -> String {
        self.property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .map(str::to_owned)
            .unwrap_or_else(|| self.offset_msg_id())
    }

    /// The broker's offset message id (store host and CommitLog offset).
    pub fn offset_msg_id(&self) -> String {
        encode_offset_msg_id(self.store_host, self.commit_log_offset)
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// The business keys.
    pub fn keys(&self) -> Vec<&str> {
        self.property(keys::KEYS)
            .map(|k| k.split(' ').filter(|k| !k.is_empty()).collect())
            .unwrap_or_default()
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The queue the message came from.
    pub fn message_queue(&self) -> MessageQueue {
        MessageQueue::new(self.topic.clone(), self.broker_name.clone(), self.queue_id)
    }

    /// A message from a decoded record.
    pub fn from_record(record: MessageRecord, broker_name: &str) -> Result<Self, String> {
        let store_size = record.encoded_len() as i32;
        let body_crc = record.body_crc();
        let body = if record.sys_flag & sys_flag::COMPRESSED != 0 {
            inflate(&record.body, record.sys_flag)?
        } else {
            record.body
        };
        Ok(Self {
            topic: record.topic,
            flag: record.flag,
            body,
            properties: decode_properties(&record.properties),
            broker_name: broker_name.to_owned(),
            queue_id: record.queue_id,
            queue_offset: record.queue_offset,
            commit_log_offset: record.physical_offset,
            store_size,
            sys_flag: record.sys_flag,
            born_timestamp: record.born_timestamp,
            born_host: record.born_host,
            store_timestamp: record.store_timestamp,
            store_host: record.store_host,
            reconsume_times: record.reconsume_times,
            prepared_transaction_offset: record.prepared_transaction_offset,
            body_crc,
        })
    }
}

/// Decodes a pull body: stored records back to back (`MessageDecoder.decodes`).
pub fn decode_messages(body: &Bytes, broker_name: &str) -> Result<Vec<MessageExt>, String> {
    let mut messages = Vec::new();
    let mut position = 0;
    while position < body.len() {
        let rest = body.slice(position..);
        match decode_record_shared(&rest, false).map_err(|e| e.to_string())? {
            DecodedRecord::Message(record, size) => {
                messages.push(MessageExt::from_record(record, broker_name)?);
                position += size;
            }
            DecodedRecord::Blank(_) => break,
        }
    }
    Ok(messages)
}

/// Inflates a compressed body. Only zlib (also the type of old clients that set no type)
/// is supported; LZ4, ZSTD and unknown types are an error.
fn inflate(body: &[u8], flag: i32) -> Result<Bytes, String> {
    match sys_flag::compression_type(flag) {
        Some(CompressionType::Zlib) => {
            let mut out = Vec::with_capacity(body.len() * 2);
            ZlibDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| format!("cannot inflate a zlib body: {e}"))?;
            Ok(Bytes::from(out))
        }
        Some(other) => Err(format!("{other:?} compressed bodies are not supported")),
        None => Err(format!("unknown compression type in sysflag {flag:#x}")),
    }
}

/// Deflates a body with zlib at Java's default level 5.
pub(crate) fn deflate(body: &[u8]) -> Bytes {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(body.len() / 2), Compression::new(5));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

#[cfg(test)]
impl MessageExt {
    /// A message of topic `T`, queue 0 of broker `b`, at `queue_offset`, with a 10-byte
    /// body and no properties (unit tests).
    pub(crate) fn sample(queue_offset: i64) -> Self {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
        MessageExt {
            topic: "T".into(),
            flag: 0,
            body: Bytes::from(vec![0u8; 10]),
            properties: BTreeMap::new(),
            broker_name: "b".into(),
            queue_id: 0,
            queue_offset,
            commit_log_offset: 0,
            store_size: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: addr,
            store_timestamp: 0,
            store_host: addr,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body_crc: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_model::properties::encode_properties;

    fn record(queue_offset: i64, body: Bytes, sys_flag: i32, props: &str) -> MessageRecord {
        MessageRecord {
            topic: "T".into(),
            queue_id: 2,
            flag: 7,
            queue_offset,
            physical_offset: 1000 + queue_offset,
            sys_flag,
            born_timestamp: 1,
            born_host: "127.0.0.1:5000".parse().expect("addr"),
            store_timestamp: 2,
            store_host: "127.0.0.1:10911".parse().expect("addr"),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            properties: props.into(),
        }
    }

    #[test]
    fn message_builders_set_java_properties() {
        let m = Message::new("T", "b")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_property("color", "red")
            .with_flag(3);
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), ["k1", "k2"]);
        assert_eq!(m.property("KEYS"), Some("k1 k2"));
        assert_eq!(m.property("WAIT"), Some("true"));
        assert_eq!(m.property("color"), Some("red"));
        assert_eq!(m.flag, 3);
        assert_eq!(m.clone().with_delay_level(3).delay_level(), 3);
    }

    #[test]
    fn decodes_records_back_to_back_and_inflates_compressed_bodies() {
        let mut props = BTreeMap::new();
        props.insert("TAGS".to_owned(), "A".to_owned());
        props.insert("UNIQ_KEY".to_owned(), "ABC".to_owned());
        let big = vec![b'x'; 10_000];
        let mut bytes =
            record(0, Bytes::from_static(b"one"), 0, &encode_properties(&props)).encode();
        bytes.extend(
            record(
                1,
                deflate(&big),
                sys_flag::COMPRESSED | sys_flag::COMPRESSION_ZLIB_TYPE,
                "",
            )
            .encode(),
        );
        let messages = decode_messages(&Bytes::from(bytes), "broker-a").expect("decodes");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].body, Bytes::from_static(b"one"));
        assert_eq!(messages[0].tags(), Some("A"));
        assert_eq!(messages[0].msg_id(), "ABC");
        assert_eq!(messages[0].broker_name, "broker-a");
        assert_eq!(messages[0].flag, 7);
        assert_eq!(messages[1].body.len(), 10_000);
        assert_eq!(messages[1].queue_offset, 1);
        assert_eq!(messages[1].commit_log_offset, 1001);
        assert_eq!(messages[1].msg_id(), messages[1].offset_msg_id());
        assert_eq!(
            messages[1].message_queue(),
            MessageQueue::new("T", "broker-a", 2)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_messages(&Bytes::from_static(&[0, 0, 0, 200, 1, 2]), "b").is_err());
        assert!(decode_messages(&Bytes::new(), "b")
            .expect("empty")
            .is_empty());
    }
}
