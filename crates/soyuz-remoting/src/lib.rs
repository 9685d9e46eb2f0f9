//! RocketMQ's Remoting protocol as pure codecs: bytes in, values out, no I/O.
//!
//! Every NameServer, broker, proxy-remoting and 4.x client conversation is a stream of
//! `RemotingCommand` frames:
//!
//! ```text
//! +-----------+------------------------+-------------------+-------------+
//! | length    | type(1) | headerLen(3) | header            | body        |
//! | i32 BE    | i32 BE                 | headerLen bytes   | the rest    |
//! +-----------+------------------------+-------------------+-------------+
//!   length = 4 + headerLen + bodyLen      type 0 = JSON, 1 = ROCKETMQ binary
//! ```
//!
//! * [`frame`] splits a byte buffer into commands; an incomplete frame consumes nothing.
//! * [`command`] is the decoded value, [`header_json`] and [`header_binary`] the two header
//!   encodings.
//! * [`codes`] holds the request, response and language code tables.
//! * [`headers`] converts typed request and response headers to and from `extFields`.
//! * [`body`] holds the JSON bodies (route data, cluster info, registration, heartbeats,
//!   queue locks, subscription groups, offsets and admin stats) and a reader for
//!   fastjson's non-standard output.

pub mod body;
pub mod codes;
pub mod command;
mod ext_fields;
pub mod frame;
/// Fuzz properties shared by the cargo-fuzz targets (`fuzz/`) and the seed replay test.
pub mod fuzzing;
pub mod header_binary;
pub mod header_json;
pub mod headers;

pub use codes::{request_code, response_code, LanguageCode};
pub use command::{ExtFields, RemotingCommand, SerializeType};
pub use frame::{decode_frame, DecodeError, MAX_FRAME_LEN};
pub use headers::{CommandHeader, HeaderError};
