//! SEND_BATCH_MESSAGE bodies (`MessageBatch.generateFromList` + `encode`): one record
//! per message, each with its own `UNIQ_KEY`.

use bytes::Bytes;
use soyuz_model::names::RETRY_GROUP_TOPIC_PREFIX;
use soyuz_model::properties::{encode_properties, keys};
use soyuz_model::record::{encode_batch, BatchItem};

use crate::error::{ClientError, Result};
use crate::message::Message;

/// A batch ready to send: its topic, encoded body and the messages' unique keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// The topic all messages share.
    pub topic: String,
    /// The SEND_BATCH_MESSAGE body.
    pub body: Bytes,
    /// Each message's `UNIQ_KEY`, in order.
    pub uniq_keys: Vec<String>,
    /// Whether the batch waits for the store (`WAIT` of the first message).
    pub wait_store_msg_ok: bool,
}

/// Checks and encodes a batch like Java: all messages of one topic, none delayed, none
/// to a retry topic; each message gets a `UNIQ_KEY` from `next_id` unless it has one.
pub fn encode(
    messages: &mut [Message],
    mut next_id: impl FnMut() -> String,
) -> Result<EncodedBatch> {
    let Some(first) = messages.first() else {
        return Err(ClientError::InvalidArgument("the batch is empty".into()));
    };
    let topic = first.topic.clone();
    let wait_store_msg_ok = first.property(keys::WAIT_STORE_MSG_OK) != Some("false");
    if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        return Err(ClientError::InvalidArgument(
            "retry group topics are not supported for batching".into(),
        ));
    }
    let mut items = Vec::with_capacity(messages.len());
    let mut uniq_keys = Vec::with_capacity(messages.len());
    for message in messages.iter_mut() {
        if message.topic != topic {
            return Err(ClientError::InvalidArgument(
                "the topic of the messages in one batch should be the same".into(),
            ));
        }
        if message.delay_level() > 0 {
            return Err(ClientError::InvalidArgument(
                "delayed messages are not supported for batching".into(),
            ));
        }
        if message.body.is_empty() {
            return Err(ClientError::InvalidArgument(
                "the message body length is zero".into(),
            ));
        }
        let key = message
            .properties
            .entry(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX.to_owned())
            .or_insert_with(&mut next_id)
            .clone();
        uniq_keys.push(key);
        items.push(BatchItem {
            flag: message.flag,
            body: message.body.clone(),
            properties: encode_properties(&message.properties),
        });
    }
    Ok(EncodedBatch {
        topic,
        body: Bytes::from(encode_batch(&items)),
        uniq_keys,
        wait_store_msg_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_model::properties::decode_properties;
    use soyuz_model::record::decode_batch;

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("ID{n}")
        }
    }

    #[test]
    fn each_message_becomes_a_record_with_its_own_uniq_key() {
        let mut messages = vec![
            Message::new("T", "a").with_tags("x").with_flag(1),
            Message::new("T", "bb").with_keys(["k"]),
            Message::new("T", "ccc").with_property("UNIQ_KEY", "MINE"),
        ];
        let batch = encode(&mut messages, ids()).expect("encodes");
        assert_eq!(batch.topic, "T");
        assert_eq!(batch.uniq_keys, ["ID1", "ID2", "MINE"]);
        assert!(batch.wait_store_msg_ok);
        let items = decode_batch(&batch.body).expect("decodes");
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].flag, 1);
        assert_eq!(items[1].body, Bytes::from_static(b"bb"));
        let props = decode_properties(&items[0].properties);
        assert_eq!(props.get("TAGS").map(String::as_str), Some("x"));
        assert_eq!(props.get("UNIQ_KEY").map(String::as_str), Some("ID1"));
        assert_eq!(
            decode_properties(&items[1].properties)
                .get("KEYS")
                .map(String::as_str),
            Some("k")
        );
        assert_eq!(
            messages[0].property("UNIQ_KEY"),
            Some("ID1"),
            "the key is kept on the message"
        );
    }

    #[test]
    fn refuses_mixed_topics_delays_retry_topics_and_empty_batches() {
        let refused = |mut messages: Vec<Message>| encode(&mut messages, ids()).is_err();
        assert!(refused(vec![]));
        assert!(refused(vec![
            Message::new("A", "x"),
            Message::new("B", "x")
        ]));
        assert!(refused(vec![Message::new("A", "x").with_delay_level(2)]));
        assert!(refused(vec![Message::new("%RETRY%g", "x")]));
        assert!(refused(vec![Message::new("A", "")]));
    }
}
