//! The store contract, shared by the file store and the memory store, and checked by one
//! conformance suite (`tests/conformance.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use soyuz_model::record::MessageRecord;

use crate::error::StoreError;

/// How a put ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// Stored (and, under SYNC_FLUSH, durable).
    PutOk,
    /// Stored, but SYNC_FLUSH did not confirm durability within `syncFlushTimeout`.
    FlushDiskTimeout,
}

/// Where a put landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// Outcome.
    pub status: PutStatus,
    /// CommitLog offset of the first message.
    pub physical_offset: u64,
    /// Queue offset of the first message.
    pub queue_offset: i64,
    /// Messages stored.
    pub count: usize,
    /// Bytes of records written.
    pub wrote_bytes: u64,
    /// The store time given to the messages.
    pub store_timestamp: i64,
    /// CommitLog offset of each message, in order (a batch may cross a segment end, so
    /// they are not always contiguous).
    pub physical_offsets: Vec<u64>,
    /// Queue offset of each message, in order.
    pub queue_offsets: Vec<i64>,
    /// Stored size in bytes of each message, in order.
    pub sizes: Vec<u32>,
}

/// Which tag hash codes a pull accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TagFilter {
    /// Every message (`*`).
    #[default]
    All,
    /// Messages whose ConsumeQueue tag code is in the set.
    Codes(HashSet<i64>),
}

impl TagFilter {
    /// Whether a unit with `tags_code` passes.
    pub fn accepts(&self, tags_code: i64) -> bool {
        match self {
            TagFilter::All => true,
            TagFilter::Codes(codes) => codes.contains(&tags_code),
        }
    }
}

/// A read of one queue.
#[derive(Debug, Clone)]
pub struct GetRequest {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// First queue offset wanted.
    pub offset: i64,
    /// Most messages returned.
    pub max_count: usize,
    /// Most bytes returned (at least one message is returned if any matches).
    pub max_bytes: usize,
    /// Tag filter.
    pub filter: TagFilter,
}

/// `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    /// Messages returned.
    Found,
    /// Messages exist there, but none matched the filter.
    NoMatchedMessage,
    /// The messages there were deleted by retention.
    MessageWasRemoving,
    /// The queue has units there but they could not be read.
    OffsetFoundNull,
    /// The offset is past the end by more than one.
    OffsetOverflowBadly,
    /// The offset is exactly the end: nothing new yet.
    OffsetOverflowOne,
    /// The offset is below the minimum.
    OffsetTooSmall,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue exists but has never had a message.
    NoMessageInQueue,
}

/// What a read returned.
#[derive(Debug, Clone)]
pub struct GetResult {
    /// Outcome.
    pub status: GetStatus,
    /// Where the next read should start.
    pub next_begin_offset: i64,
    /// The queue's minimum offset.
    pub min_offset: i64,
    /// The queue's maximum (next) offset.
    pub max_offset: i64,
    /// Raw stored records, exactly as clients parse them.
    pub messages: Vec<Bytes>,
    /// Queue offset of each returned message.
    pub queue_offsets: Vec<i64>,
}

impl GetResult {
    /// A result with no messages.
    pub fn empty(
        status: GetStatus,
        next_begin_offset: i64,
        min_offset: i64,
        max_offset: i64,
    ) -> Self {
        Self {
            status,
            next_begin_offset,
            min_offset,
            max_offset,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
        }
    }

    /// The answer for a read of an existing queue holding `[min, max)` at `offset`, when
    /// that offset is outside the readable range (`DefaultMessageStore.getMessage`);
    /// `None` when the offset is readable and units must be read.
    pub fn out_of_range(offset: i64, min: i64, max: i64) -> Option<Self> {
        let (status, next) = if max == 0 {
            (GetStatus::NoMessageInQueue, 0)
        } else if offset < min {
            (GetStatus::OffsetTooSmall, min)
        } else if offset == max {
            (GetStatus::OffsetOverflowOne, offset)
        } else if offset > max {
            // Java moves a client that ran past the end back to the start of a queue that
            // never lost messages, and to the end otherwise.
            (
                GetStatus::OffsetOverflowBadly,
                if min == 0 { min } else { max },
            )
        } else {
            return None;
        };
        Some(Self::empty(status, next, min, max))
    }
}

/// Units a pull reads from a ConsumeQueue when a tag filter may skip many
/// (`maxFilterMessageCount`-like window): at least `max_count`, up to 800.
pub fn filter_scan_window(max_count: usize) -> usize {
    let wanted = max_count.max(1);
    wanted.max(800.min(wanted * 20))
}

/// `BoundaryType` for searching an offset by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Boundary {
    /// The first message stored at or after the time.
    #[default]
    Lower,
    /// The last message stored at or before the time.
    Upper,
}

/// Messages found by key.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// Raw stored records.
    pub messages: Vec<Bytes>,
    /// When the index was last written.
    pub index_last_update_timestamp: i64,
    /// The last CommitLog offset the index covers.
    pub index_last_update_phyoffset: i64,
}

/// Called with `(topic, queue id, new max offset)` whenever a queue grows.
pub type ArrivalListener = Arc<dyn Fn(&str, i32, i64) + Send + Sync>;

/// What every store implementation offers.
pub trait MessageStore: Send + Sync {
    /// Stores `messages` (one, or a batch stored consecutively) with the given topic,
    /// queue id, body and properties; the store assigns queue offsets, physical offsets
    /// and the store time.
    fn put(&self, messages: Vec<MessageRecord>) -> Result<PutResult, StoreError>;

    /// Reads from one queue.
    fn get(&self, request: &GetRequest) -> Result<GetResult, StoreError>;

    /// The smallest readable queue offset (0 for an unknown queue).
    fn min_offset(&self, topic: &str, queue_id: i32) -> i64;

    /// The next queue offset to be written (0 for an unknown queue).
    fn max_offset(&self, topic: &str, queue_id: i32) -> i64;

    /// The queue offset matching a store time.
    fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: Boundary,
    ) -> Result<i64, StoreError>;

    /// Store time of the oldest message still in the queue.
    fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>, StoreError>;

    /// The record stored at a CommitLog offset (VIEW_MESSAGE_BY_ID).
    fn message_at(&self, commit_log_offset: u64) -> Result<Option<Bytes>, StoreError>;

    /// Messages of `topic` indexed under `key` (a KEYS token or the unique key), stored
    /// between `begin` and `end` (epoch ms), newest first.
    fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryResult, StoreError>;

    /// The CommitLog's smallest stored offset.
    fn commit_log_min_offset(&self) -> u64;

    /// The CommitLog's end.
    fn commit_log_max_offset(&self) -> u64;

    /// Registers the callback told about new messages (long polling hooks in here).
    fn set_arrival_listener(&self, listener: ArrivalListener);

    /// Flushes and stops; the store refuses work afterwards.
    fn shutdown(&self) -> Result<(), StoreError>;
}
