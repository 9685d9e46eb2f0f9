//! A ConsumeQueue: one topic-queue's index into the CommitLog, 20-byte units
//! `[i64 commitLogOffset][i32 size][i64 tagsCode]`; unit `n` is the message with queue
//! offset `n`. Files live at `consumequeue/<topic>/<queueId>/<first byte offset>`.
//!
//! Only the dispatcher writes, always at the end, so units are contiguous from the first
//! file's start and a unit of size 0 marks where they stop.

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::StoreError;
use crate::io::StoreFs;
use crate::segment::SegmentedFile;

/// Size of one unit.
pub const CQ_UNIT_SIZE: u64 = 20;

/// One unit, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    /// Where the message starts in the CommitLog.
    pub commit_log_offset: u64,
    /// The record's size.
    pub size: i32,
    /// Tag hash (or, in SCHEDULE_TOPIC_XXXX, the delivery time).
    pub tags_code: i64,
}

impl CqUnit {
    /// The unit's bytes.
    pub fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[0..8].copy_from_slice(&(self.commit_log_offset as i64).to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    /// Reads a unit; `None` for an empty (never written) one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let offset = i64::from_be_bytes(bytes.get(0..8)?.try_into().ok()?);
        let size = i32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
        let tags_code = i64::from_be_bytes(bytes.get(12..20)?.try_into().ok()?);
        (size > 0 && offset >= 0).then_some(Self {
            commit_log_offset: offset as u64,
            size,
            tags_code,
        })
    }

    /// Offset just past the record.
    pub fn end(&self) -> u64 {
        self.commit_log_offset + self.size as u64
    }
}

/// One topic-queue's ConsumeQueue.
pub struct ConsumeQueue {
    /// The topic.
    pub topic: String,
    /// The queue id.
    pub queue_id: i32,
    segments: SegmentedFile,
    /// Units below this index are gone (their CommitLog data was deleted).
    min_offset: AtomicI64,
    /// Number of units written (the next queue offset to dispatch).
    max_offset: AtomicI64,
    /// Units flushed.
    flushed_units: AtomicU64,
}

impl ConsumeQueue {
    /// Opens (or prepares to create) the queue under `root`, finding where its units end.
    pub fn open(
        fs: Arc<dyn StoreFs>,
        root: &Path,
        topic: &str,
        queue_id: i32,
        file_size: u64,
    ) -> Result<Self, StoreError> {
        let dir = root.join(topic).join(queue_id.to_string());
        let segments = SegmentedFile::open(fs, &dir, file_size)?;
        let queue = Self {
            topic: topic.to_owned(),
            queue_id,
            segments,
            min_offset: AtomicI64::new(0),
            max_offset: AtomicI64::new(0),
            flushed_units: AtomicU64::new(0),
        };
        let first_unit = queue.segments.min_base().unwrap_or(0) / CQ_UNIT_SIZE;
        let end = queue.find_end(first_unit)?;
        queue.min_offset.store(first_unit as i64, Ordering::Release);
        queue.max_offset.store(end as i64, Ordering::Release);
        queue.flushed_units.store(end, Ordering::Release);
        Ok(queue)
    }

    /// Binary search for the first empty unit at or after `first`.
    fn find_end(&self, first: u64) -> Result<u64, StoreError> {
        let Some(last) = self.segments.last() else {
            return Ok(first);
        };
        let (mut lo, mut hi) = (
            first,
            (last.base + self.segments.segment_size()) / CQ_UNIT_SIZE,
        );
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.unit(mid)?.is_some() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The unit with queue offset `index`, if written.
    pub fn unit(&self, index: u64) -> Result<Option<CqUnit>, StoreError> {
        Ok(self
            .segments
            .read_at(index * CQ_UNIT_SIZE, CQ_UNIT_SIZE as usize)?
            .and_then(|bytes| CqUnit::decode(&bytes)))
    }

    /// The smallest queue offset still readable.
    pub fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    /// The next queue offset to be written (= the number of units ever written).
    pub fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// Writes units for queue offsets `first..first + units.len()`. The dispatcher calls
    /// this with `first == max_offset()`; re-dispatching units already present (recovery)
    /// rewrites them in place.
    pub fn put(&self, first: i64, units: &[CqUnit]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(units.len() * CQ_UNIT_SIZE as usize);
        let mut offset = u64::try_from(first)
            .ok()
            .and_then(|first| first.checked_mul(CQ_UNIT_SIZE))
            .filter(|offset| {
                offset
                    .checked_add(units.len() as u64 * CQ_UNIT_SIZE)
                    .is_some()
            })
            .ok_or_else(|| StoreError::Corrupt {
                file: self.segments.dir().to_owned(),
                detail: format!("queue offset {first} cannot be stored"),
            })?;
        let file_size = self.segments.segment_size();
        for unit in units {
            if !buf.is_empty() && offset.is_multiple_of(file_size) {
                let start = offset - buf.len() as u64;
                self.segments.write_at(start, &buf)?;
                buf.clear();
            }
            buf.extend_from_slice(&unit.encode());
            offset += CQ_UNIT_SIZE;
        }
        if !buf.is_empty() {
            self.segments.write_at(offset - buf.len() as u64, &buf)?;
        }
        let end = first + units.len() as i64;
        self.max_offset.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    /// Up to `max` units from queue offset `from`, stopping at the end of a file.
    pub fn units_from(&self, from: i64, max: usize) -> Result<Vec<CqUnit>, StoreError> {
        let end = self.max_offset();
        if from < self.min_offset() || from >= end || max == 0 {
            return Ok(Vec::new());
        }
        let count = (max as i64).min(end - from) as usize;
        let Some(bytes) = self
            .segments
            .read_at(from as u64 * CQ_UNIT_SIZE, count * CQ_UNIT_SIZE as usize)?
        else {
            return Ok(Vec::new());
        };
        Ok(bytes
            .chunks_exact(CQ_UNIT_SIZE as usize)
            .map_while(CqUnit::decode)
            .collect())
    }

    /// Drops units whose record does not end at or before `commit_log_end` (recovery
    /// truncated the CommitLog), so the queue never points past the CommitLog.
    pub fn truncate_to_commit_log(&self, commit_log_end: u64) -> Result<(), StoreError> {
        let max = self.max_offset();
        let min = self.min_offset();
        // Units are in CommitLog order, so the valid ones form a prefix.
        let (mut lo, mut hi) = (min.max(0) as u64, max.max(0) as u64);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.unit(mid)? {
                Some(unit) if unit.end() <= commit_log_end => lo = mid + 1,
                _ => hi = mid,
            }
        }
        if lo < max as u64 {
            self.segments.truncate_from(lo * CQ_UNIT_SIZE)?;
            self.max_offset.store(lo as i64, Ordering::Release);
            self.flushed_units.fetch_min(lo, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Moves the minimum past units whose CommitLog data is gone (below
    /// `commit_log_min`), deleting files that hold only such units.
    pub fn correct_min_offset(&self, commit_log_min: u64) -> Result<(), StoreError> {
        let file_units = self.segments.segment_size() / CQ_UNIT_SIZE;
        let max = self.max_offset().max(0) as u64;
        // Delete whole files whose last unit is below the CommitLog's minimum, but never
        // the last file: it is what tells the next start where the queue ends (Java's
        // deleteExpiredFileByOffset keeps it too).
        loop {
            let files = self.segments.segments();
            let (Some(first), true) = (files.first(), files.len() > 1) else {
                break;
            };
            let last_index = first.base / CQ_UNIT_SIZE + file_units - 1;
            if last_index >= max {
                break;
            }
            match self.unit(last_index)? {
                Some(unit) if unit.commit_log_offset < commit_log_min => {
                    self.segments.delete_first_if(|_| false)?;
                }
                _ => break,
            }
        }
        let (mut lo, mut hi) = (
            self.segments.min_base().unwrap_or(max * CQ_UNIT_SIZE) / CQ_UNIT_SIZE,
            max,
        );
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.unit(mid)? {
                Some(unit) if unit.commit_log_offset < commit_log_min => lo = mid + 1,
                _ => hi = mid,
            }
        }
        self.min_offset.fetch_max(lo as i64, Ordering::AcqRel);
        Ok(())
    }

    /// Syncs unflushed units; returns whether anything was synced.
    pub fn flush(&self) -> Result<bool, StoreError> {
        let end = self.max_offset().max(0) as u64;
        let from = self.flushed_units.load(Ordering::Acquire);
        if end <= from {
            return Ok(false);
        }
        self.segments
            .sync_range(from * CQ_UNIT_SIZE, end * CQ_UNIT_SIZE)?;
        self.flushed_units.fetch_max(end, Ordering::AcqRel);
        Ok(true)
    }

    /// Deletes all of the queue's files.
    pub fn destroy(&self) -> Result<(), StoreError> {
        self.segments.delete_all()?;
        self.max_offset.store(0, Ordering::Release);
        self.min_offset.store(0, Ordering::Release);
        Ok(())
    }
}
