//! [`PullResult`]: the answer to one pull.

use crate::message::MessageExt;

/// How a pull went (`PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were found (PULL_MESSAGE SUCCESS).
    Found,
    /// Nothing new at this offset (PULL_NOT_FOUND).
    NoNewMsg,
    /// Messages were there but none matched the filter (PULL_RETRY_IMMEDIATELY).
    NoMatchedMsg,
    /// The offset is outside the queue; continue from `next_begin_offset`
    /// (PULL_OFFSET_MOVED).
    OffsetIllegal,
}

/// The answer to one pull (`PullResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullResult {
    /// How it went.
    pub status: PullStatus,
    /// Where the next pull of this queue should start.
    pub next_begin_offset: i64,
    /// The queue's smallest offset.
    pub min_offset: i64,
    /// The queue's next offset to be written.
    pub max_offset: i64,
    /// The messages, filtered by tag.
    pub messages: Vec<MessageExt>,
}
