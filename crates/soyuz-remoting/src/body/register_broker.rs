//! REGISTER_BROKER's body: the broker's topic table, as JSON or in the compressed form a
//! Java broker sends when `compressedRegister=true`.
//!
//! Compressed form: a zlib stream of
//! ```text
//! [i32 len][DataVersion JSON]
//! [i32 topicCount] then per topic [i32 len]["name read write perm filterType [attrsJSON]"]
//! [i32 len][filterServerList JSON]
//! [i32 count] then per entry [i32 len][TopicQueueMappingInfo JSON]   (brokers >= 5.0)
//! ```

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::{decode_json, BodyError, DataVersion, TopicConfig, TopicConfigSerializeWrapper};

/// Largest inflated registration we accept: far above any real topic table, and a cap on
/// what a hostile zlib stream can make us allocate.
const MAX_INFLATED_LEN: u64 = 64 * 1024 * 1024;

/// A broker's registration (`RegisterBrokerBody`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    /// The broker's topics and their version.
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    /// Legacy filter servers (always empty from current brokers).
    pub filter_server_list: Vec<String>,
}

/// Reads a registration body, checking `body_crc32` first when it is non-zero.
pub fn decode_register_broker_body(
    body: &[u8],
    compressed: bool,
    body_crc32: i32,
) -> Result<RegisterBrokerBody, BodyError> {
    if body_crc32 != 0 {
        let actual = (crc32fast::hash(body) & 0x7FFF_FFFF) as i32;
        if actual != body_crc32 {
            return Err(BodyError::CrcMismatch {
                declared: body_crc32,
                actual,
            });
        }
    }
    if body.is_empty() {
        return Ok(RegisterBrokerBody::default());
    }
    if compressed {
        decode_compressed(body)
    } else {
        decode_json(body)
    }
}

fn decode_compressed(body: &[u8]) -> Result<RegisterBrokerBody, BodyError> {
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_INFLATED_LEN + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| BodyError::Compressed(e.to_string()))?;
    if inflated.len() as u64 > MAX_INFLATED_LEN {
        return Err(BodyError::Compressed(format!(
            "inflates past {MAX_INFLATED_LEN} bytes"
        )));
    }
    let mut cursor = Cursor {
        bytes: &inflated,
        pos: 0,
    };
    let data_version: DataVersion = decode_json(cursor.chunk()?)?;
    let topic_count = cursor.int()?;
    let mut topic_config_table = BTreeMap::new();
    for _ in 0..topic_count {
        let text = std::str::from_utf8(cursor.chunk()?)
            .map_err(|_| BodyError::Compressed("topic config is not UTF-8".into()))?;
        let config = decode_topic_config_line(text)?;
        topic_config_table.insert(config.topic_name.clone(), config);
    }
    let filter_server_list: Vec<String> = decode_json(cursor.chunk()?)?;
    // Brokers older than 5.0 end here; newer ones append their static-topic mappings,
    // which we keep as raw JSON keyed by topic.
    let mut mappings = serde_json::Map::new();
    if cursor.remaining() >= 4 {
        let count = cursor.int()?;
        for _ in 0..count {
            let info: serde_json::Value = decode_json(cursor.chunk()?)?;
            let topic = info
                .get("topic")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            mappings.insert(topic, info);
        }
    }
    Ok(RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            topic_config_table,
            data_version,
            topic_queue_mapping_info_map: (!mappings.is_empty())
                .then_some(serde_json::Value::Object(mappings)),
            mapping_data_version: None,
        },
        filter_server_list,
    })
}

/// Parses `TopicConfig.encode()`: `name read write perm filterType [attributesJSON]`.
fn decode_topic_config_line(text: &str) -> Result<TopicConfig, BodyError> {
    let bad = || BodyError::Compressed(format!("bad topic config line [{text}]"));
    let mut parts = text.splitn(6, ' ');
    let mut next = || parts.next().ok_or_else(bad);
    let topic_name = next()?.to_owned();
    let read_queue_nums = next()?.parse().map_err(|_| bad())?;
    let write_queue_nums = next()?.parse().map_err(|_| bad())?;
    let perm = next()?.parse().map_err(|_| bad())?;
    let topic_filter_type = next()?.to_owned();
    let attributes = match parts.next() {
        Some(json) => decode_json(json.as_bytes())?,
        None => BTreeMap::new(),
    };
    Ok(TopicConfig {
        topic_name,
        read_queue_nums,
        write_queue_nums,
        perm,
        topic_filter_type,
        attributes,
        ..TopicConfig::default()
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn int(&mut self) -> Result<usize, BodyError> {
        let raw = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| BodyError::Compressed(format!("truncated at byte {}", self.pos)))?;
        self.pos += 4;
        let value = i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        usize::try_from(value)
            .map_err(|_| BodyError::Compressed(format!("negative length {value}")))
    }

    fn chunk(&mut self) -> Result<&'a [u8], BodyError> {
        let len = self.int()?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                BodyError::Compressed(format!(
                    "length {len} at byte {} overruns the body",
                    self.pos
                ))
            })?;
        let chunk = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn put_chunk(raw: &mut Vec<u8>, bytes: &[u8]) {
        raw.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        raw.extend_from_slice(bytes);
    }

    /// A registration laid out as Java's `RegisterBrokerBody.encode(true)` writes it.
    fn compressed_registration() -> Vec<u8> {
        let mut raw = Vec::new();
        put_chunk(
            &mut raw,
            br#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#,
        );
        raw.extend_from_slice(&2i32.to_be_bytes());
        put_chunk(&mut raw, b"TopicTest 4 4 6 SINGLE_TAG");
        put_chunk(
            &mut raw,
            br#"Orders 8 8 6 SINGLE_TAG {"+message.type":"FIFO"}"#,
        );
        put_chunk(&mut raw, b"[]");
        raw.extend_from_slice(&0i32.to_be_bytes());
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&raw).expect("in memory");
        encoder.finish().expect("in memory")
    }

    #[test]
    fn reads_the_compressed_form() {
        let body = compressed_registration();
        let decoded = decode_register_broker_body(&body, true, 0).expect("decodes");
        let wrapper = decoded.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 3);
        assert_eq!(wrapper.topic_config_table.len(), 2);
        let orders = &wrapper.topic_config_table["Orders"];
        assert_eq!(orders.read_queue_nums, 8);
        assert_eq!(orders.attributes["+message.type"], "FIFO");
    }

    #[test]
    fn reads_the_json_form_and_checks_crc() {
        let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":5},"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}}"#;
        let crc = (crc32fast::hash(body) & 0x7FFF_FFFF) as i32;
        let decoded = decode_register_broker_body(body, false, crc).expect("decodes");
        assert_eq!(
            decoded.topic_config_serialize_wrapper.topic_config_table["T"].write_queue_nums,
            4
        );
        assert!(matches!(
            decode_register_broker_body(body, false, crc ^ 1),
            Err(BodyError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn refuses_truncated_compressed_bodies() {
        let body = compressed_registration();
        assert!(decode_register_broker_body(&body[..body.len() / 2], true, 0).is_err());
        assert!(decode_register_broker_body(b"not zlib", true, 0).is_err());
    }
}
