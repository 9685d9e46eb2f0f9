//! RocketMQ's message model, shared by the wire codecs and the store.
//!
//! This crate is bytes-in / values-out: it has no I/O, no async runtime and no sockets.
//! It holds the pieces of RocketMQ's data model whose exact form clients depend on:
//! the message-properties string codec, the two kinds of message id, Java's
//! `String.hashCode` (used for tag hash codes), topic and group name rules, and the
//! [`Clock`] through which every other crate reads time.

pub mod clock;
pub mod java_hash;
pub mod msg_id;
pub mod names;
pub mod properties;
pub mod record;
pub mod sys_flag;
pub mod uniq_id;

pub use clock::{Clock, ManualClock, SystemClock};
pub use java_hash::java_string_hash;
pub mod properties_config;
