//! The CommitLog: every message of every topic appended to one log of segments, in
//! RocketMQ's record layout, each segment ended by a BLANK record when the next record
//! does not fit.
//!
//! Writing is split from reading: the store's put lock owns the [`CommitLogWriter`]
//! (the next append position and a scratch buffer), while readers, the dispatcher and the
//! flusher share the [`CommitLog`] and see two published positions:
//! `written` (every byte below is in the file) and `flushed` (every byte below is durable).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use soyuz_model::record::{write_properties_crc, MessageRecord, BLANK_MAGIC_CODE};

use crate::error::StoreError;
use crate::io::StoreFs;
use crate::segment::SegmentedFile;

/// Bytes a segment must keep free for the end-of-segment BLANK record
/// (`END_FILE_MIN_BLANK_LENGTH`: total size and magic).
pub const END_FILE_MIN_BLANK_LENGTH: u64 = 8;

/// The append side, owned by whoever holds the store's put lock.
pub struct CommitLogWriter {
    position: u64,
    scratch: Vec<u8>,
}

impl CommitLogWriter {
    /// The offset the next record will get.
    pub fn position(&self) -> u64 {
        self.position
    }
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Physical offset of the first record.
    pub first_offset: u64,
    /// Offset just past the last record: durable once `flushed` reaches it.
    pub end_offset: u64,
    /// Bytes of records written (BLANK padding excluded).
    pub wrote_bytes: u64,
}

/// The shared, readable CommitLog.
pub struct CommitLog {
    segments: SegmentedFile,
    written: AtomicU64,
    flushed: AtomicU64,
    poison: Mutex<Option<String>>,
}

impl CommitLog {
    /// Opens the CommitLog in `dir` without reading it; recovery then decides where the
    /// data ends ([`CommitLog::set_end`]).
    pub fn open(
        fs: Arc<dyn StoreFs>,
        dir: &std::path::Path,
        segment_size: u64,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            segments: SegmentedFile::open(fs, dir, segment_size)?,
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            poison: Mutex::new(None),
        })
    }

    /// The segments.
    pub fn segments(&self) -> &SegmentedFile {
        &self.segments
    }

    /// Declares `end` the end of valid data (after recovery): everything below is
    /// written and, having survived a restart, durable.
    pub fn set_end(&self, end: u64) {
        self.written.store(end, Ordering::Release);
        self.flushed.store(end, Ordering::Release);
    }

    /// A writer starting at the current end.
    pub fn writer(&self) -> CommitLogWriter {
        CommitLogWriter {
            position: self.written.load(Ordering::Acquire),
            scratch: Vec::with_capacity(64 * 1024),
        }
    }

    /// Every byte below this offset is in the files.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Every byte below this offset is durable.
    pub fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// The smallest offset still stored (the first segment's base), or the end when
    /// nothing is stored.
    pub fn min_offset(&self) -> u64 {
        self.segments.min_base().unwrap_or_else(|| self.written())
    }

    /// `Err` once a write or sync has failed: from then on nothing is acknowledged.
    pub fn check_healthy(&self) -> Result<(), StoreError> {
        match &*self.poison.lock() {
            Some(reason) => Err(StoreError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Stops all further writes and acknowledgements.
    pub fn poison(&self, reason: String) {
        let mut poison = self.poison.lock();
        if poison.is_none() {
            tracing::error!(%reason, "CommitLog poisoned: no further writes will be acknowledged");
            *poison = Some(reason);
        }
    }

    /// Appends `records` in order, setting each one's physical offset and store
    /// timestamp. Records that fit in the current segment go out in one write; a record
    /// that does not fit closes the segment with a BLANK record and starts the next.
    pub fn append(
        &self,
        writer: &mut CommitLogWriter,
        records: &mut [MessageRecord],
        store_timestamp: i64,
    ) -> Result<Appended, StoreError> {
        self.check_healthy()?;
        let segment_size = self.segments.segment_size();
        let mut appended = Appended {
            first_offset: writer.position,
            end_offset: writer.position,
            wrote_bytes: 0,
        };
        writer.scratch.clear();
        let mut batch_start = writer.position;
        for (i, record) in records.iter_mut().enumerate() {
            let len = record.encoded_len() as u64;
            if len + END_FILE_MIN_BLANK_LENGTH > segment_size {
                return Err(StoreError::MessageIllegal(format!(
                    "record of {len} bytes cannot fit in a {segment_size}-byte segment"
                )));
            }
            let position = batch_start + writer.scratch.len() as u64;
            let room = segment_size - position % segment_size;
            if len + END_FILE_MIN_BLANK_LENGTH > room {
                // Close this segment: flush what is batched, then the BLANK record.
                let mut blank = Vec::with_capacity(8);
                blank.extend_from_slice(&(room as i32).to_be_bytes());
                blank.extend_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
                writer.scratch.extend_from_slice(&blank);
                self.write_out(batch_start, &writer.scratch)?;
                writer.scratch.clear();
                fail::fail_point!("commit_log::roll_after_blank", |_| {
                    self.poison("failpoint commit_log::roll_after_blank".into());
                    Err(StoreError::Poisoned("failpoint".into()))
                });
                batch_start = position + room;
            }
            record.physical_offset = (batch_start + writer.scratch.len() as u64) as i64;
            record.store_timestamp = store_timestamp;
            if i == 0 {
                appended.first_offset = record.physical_offset as u64;
            }
            let start = writer.scratch.len();
            record.encode_into(&mut writer.scratch);
            // Offsets and store time are in the bytes now: seal them with the CRC property
            // if the record carries its placeholder.
            write_properties_crc(&mut writer.scratch[start..]);
            appended.wrote_bytes += len;
        }
        self.write_out(batch_start, &writer.scratch)?;
        writer.position = batch_start + writer.scratch.len() as u64;
        appended.end_offset = writer.position;
        self.written.store(writer.position, Ordering::Release);
        Ok(appended)
    }

    fn write_out(&self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.segments.write_at(offset, bytes).inspect_err(|e| {
            // Part of the bytes may be in the file: nothing after this may be trusted
            // until recovery has looked at it.
            self.poison(format!("write failed: {e}"));
        })
    }

    /// Syncs everything written so far; returns the new flushed offset. A failed sync
    /// poisons the log (the kernel may have dropped the dirty pages).
    pub fn flush(&self) -> Result<u64, StoreError> {
        self.check_healthy()?;
        let to = self.written();
        let from = self.flushed();
        if to > from {
            if let Err(e) = self.segments.sync_range(from, to) {
                self.poison(format!("fsync failed: {e}"));
                return Err(e);
            }
            self.flushed.fetch_max(to, Ordering::AcqRel);
        }
        Ok(to)
    }

    /// The record at `offset` (raw stored bytes), if it is below the written end.
    pub fn read_record(&self, offset: u64) -> Result<Option<Bytes>, StoreError> {
        if offset >= self.written() {
            return Ok(None);
        }
        let Some(size_bytes) = self.segments.read_at(offset, 4)? else {
            return Ok(None);
        };
        let size = i32::from_be_bytes([size_bytes[0], size_bytes[1], size_bytes[2], size_bytes[3]]);
        if size <= 8 {
            return Ok(None);
        }
        self.read_exact(offset, size as usize)
    }

    /// `size` bytes at `offset`, if that range is written and inside one segment.
    pub fn read_exact(&self, offset: u64, size: usize) -> Result<Option<Bytes>, StoreError> {
        if offset + size as u64 > self.written() {
            return Ok(None);
        }
        match self.segments.read_at(offset, size)? {
            Some(bytes) if bytes.len() == size => Ok(Some(Bytes::from(bytes))),
            _ => Ok(None),
        }
    }

    /// Reads several records given as `(offset, size)` in ascending offset order,
    /// coalescing neighbours into one read when little lies between them.
    pub fn read_many(&self, units: &[(u64, usize)]) -> Result<Vec<Bytes>, StoreError> {
        const MAX_GAP: u64 = 4096;
        const MAX_SPAN: u64 = 1024 * 1024;
        let mut out = Vec::with_capacity(units.len());
        let mut i = 0;
        while i < units.len() {
            let (start, _) = units[i];
            let mut end = start + units[i].1 as u64;
            let mut j = i + 1;
            let segment_end = self.segments.base_of(start) + self.segments.segment_size();
            while j < units.len() {
                let (next, size) = units[j];
                let next_end = next + size as u64;
                if next < end
                    || next - end > MAX_GAP
                    || next_end - start > MAX_SPAN
                    || next_end > segment_end
                {
                    break;
                }
                end = next_end;
                j += 1;
            }
            match self.read_exact(start, (end - start) as usize)? {
                Some(span) => {
                    for &(offset, size) in &units[i..j] {
                        let at = (offset - start) as usize;
                        out.push(span.slice(at..at + size));
                    }
                }
                None => break,
            }
            i = j;
        }
        Ok(out)
    }
}
