//! JSON bodies (fastjson-serialized Java objects): field names are the Java field names,
//! nulls are left out, enums go by name.
//!
//! Bodies holding a map keyed by `MessageQueue` (`ResetOffsetBody`, `TopicStatsTable`,
//! `ConsumeStats`) cannot be standard JSON; they have an `encode` method writing
//! fastjson's form instead of `Serialize` (see [`mq_map`]).
//!
//! We always write standard JSON (fastjson reads it, and it is what the NameServer sends
//! peers of version 401 and later). We read both standard JSON and fastjson's
//! non-standard map keys, via [`decode_json`].

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

mod client;
mod client_bodies;
pub mod fastjson;
mod lenient;
pub mod mq_map;
mod offsets;
mod register_broker;
mod route;
mod subscription_group;
mod topic_config;

pub use client::{
    consume_from_where, consume_type, message_model, ConsumerData, HeartbeatData, MessageQueue,
    ProducerData, SubscriptionData, EXPRESSION_TYPE_SQL92, EXPRESSION_TYPE_TAG,
};
pub use client_bodies::{
    CheckClientConfigBody, ConsumerListByGroupResponseBody, LockBatchRequestBody,
    LockBatchResponseBody, ResetOffsetBody, UnlockBatchRequestBody,
};
pub use mq_map::{encode_mq_key, encode_mq_keyed_map};
pub use offsets::{
    ConsumeStats, ConsumerOffsetSerializeWrapper, OffsetWrapper, TopicOffset, TopicStatsTable,
};

pub use register_broker::{decode_register_broker_body, RegisterBrokerBody};
pub use route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
pub use subscription_group::{
    default_group_retry_policy, SubscriptionGroupConfig, SubscriptionGroupWrapper,
};
pub use topic_config::{
    perm, DataVersion, KvTable, TopicConfig, TopicConfigSerializeWrapper, TopicList,
};

/// A body that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Not JSON, not even fastjson's dialect.
    #[error(transparent)]
    Syntax(#[from] fastjson::FastjsonError),
    /// Valid JSON of the wrong shape.
    #[error("body does not match {expected}: {reason}")]
    Shape {
        /// The type we tried to read.
        expected: &'static str,
        /// serde's explanation.
        reason: String,
    },
    /// A compressed body that is malformed or inflates past the limit.
    #[error("compressed body: {0}")]
    Compressed(String),
    /// The body's CRC does not match the header's.
    #[error("body CRC32 {actual} does not match the declared {declared}")]
    CrcMismatch {
        /// Declared in the header.
        declared: i32,
        /// Computed over the body.
        actual: i32,
    },
}

/// Reads a JSON body written by Java (fastjson) or by anyone writing standard JSON.
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(first) if first.is_syntax() => {
            let standard = fastjson::to_standard_json(body)?;
            serde_json::from_slice(&standard).map_err(|e| shape_error::<T>(&e))
        }
        Err(e) => Err(shape_error::<T>(&e)),
    }
}

fn shape_error<T>(e: &serde_json::Error) -> BodyError {
    BodyError::Shape {
        expected: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("body"),
        reason: e.to_string(),
    }
}

/// Writes a body as standard JSON.
pub fn encode_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain structs and string-keyed maps to a Vec cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
