//! RocketMQ's storage engine with RocketMQ's on-disk layout.
//!
//! ```text
//! <storePathRootDir>/
//!   commitlog/00000000000000000000 ...   every message, 1 GiB segments (commit_log)
//!   consumequeue/<topic>/<queueId>/...   20-byte units per queue offset (consume_queue)
//!   index/<yyyyMMddHHmmssSSS>            hash index by key and unique key (index)
//!   checkpoint, abort, lock              recovery state (checkpoint)
//! ```
//!
//! The API is synchronous and runs its work on its own threads; the broker calls it from
//! blocking-capable threads, never from the async runtime. The store has no networking
//! and no protocol: records go in as [`soyuz_model::record::MessageRecord`] and come out
//! as the raw bytes clients parse.

pub mod api;
pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod dispatch;
pub mod error;
mod flush;
/// Fuzz properties shared by the cargo-fuzz targets (`fuzz/`) and the seed replay test.
pub mod fuzzing;
pub mod index;
pub mod io;
pub mod memory;
pub mod queue_table;
pub mod recovery;
pub mod retention;
pub mod segment;
pub mod store;

pub use api::*;
pub use config::{FlushDiskType, MessageStoreConfig};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use store::DefaultMessageStore;
