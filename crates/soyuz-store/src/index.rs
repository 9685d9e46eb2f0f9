//! The IndexFile: lookup of messages by key (`KEYS` tokens and the unique key) over a
//! time range, with RocketMQ's on-disk layout (`IndexFile`, `IndexHeader`, `IndexService`).
//!
//! One file, all integers big-endian:
//!
//! ```text
//! header   40 bytes  beginTimestamp i64 @0, endTimestamp i64 @8, beginPhyOffset i64 @16,
//!                    endPhyOffset i64 @24, hashSlotCount i32 @32, indexCount i32 @36
//! slots    maxHashSlotNum × i32   the newest entry number of each slot's chain (0 = none)
//! entries  maxIndexNum × 20 bytes [i32 keyHash][i64 phyOffset][i32 timeDiff][i32 prevIndex]
//! ```
//!
//! `keyHash` is `abs(String.hashCode())` of `topic#key`, the slot is `keyHash % slots`,
//! `timeDiff` is in seconds from the header's `beginTimestamp`, and `prevIndex` chains the
//! entries of one slot from newest to oldest. Entry 0 is never used (`indexCount` starts at
//! 1), so a file holds `maxIndexNum - 1` keys. Files live in `index/`, named by their
//! creation time `yyyyMMddHHmmssSSS`, and are created at full size (sparse).
//!
//! Writes are positioned writes, not a memory map. A file's header lives in memory behind a
//! lock; the writer holds it while it writes one key (an entry, its slot and the header),
//! and a query holds it only while it reads the slot it starts from. Entries below the
//! header's count are never rewritten, so the rest of a query's walk needs no lock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use soyuz_model::{java_string_hash, Clock, SystemClock};

use crate::config::ConfigError;
use crate::error::{IoContext, StoreError};
use crate::io::{StoreFile, StoreFs};

/// Size of the file header (`IndexHeader.INDEX_HEADER_SIZE`).
pub const INDEX_HEADER_SIZE: u64 = 40;
/// Size of one hash slot.
pub const HASH_SLOT_SIZE: u64 = 4;
/// Size of one index entry.
pub const INDEX_ENTRY_SIZE: u64 = 20;
/// Most offsets one query returns (`maxMsgsNumBatch`).
pub const MAX_MSGS_NUM_BATCH: usize = 64;
/// Length of an index file's name, `yyyyMMddHHmmssSSS`.
pub const INDEX_FILE_NAME_LEN: usize = 17;

/// A slot or `prevIndex` value meaning "no entry".
const INVALID_INDEX: i32 = 0;

/// `abs(key.hashCode())`, or 0 when the hash is `Integer.MIN_VALUE` (whose `Math.abs`
/// stays negative) — Java's `IndexFile.indexKeyHashMethod`.
pub fn index_key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

/// The indexed key for `key` of `topic`: `topic#key` (Java `IndexService.buildKey`).
pub fn build_key(topic: &str, key: &str) -> String {
    let mut out = String::with_capacity(topic.len() + 1 + key.len());
    out.push_str(topic);
    out.push('#');
    out.push_str(key);
    out
}

/// Adds the index keys of one message to `batch`: `topic#unique_key` first, then
/// `topic#key` for each of `keys`, skipping empty ones.
pub fn push_message_keys(
    batch: &mut Vec<KeyToIndex>,
    topic: &str,
    keys: &[&str],
    unique_key: Option<&str>,
    phy_offset: u64,
    store_timestamp: i64,
) {
    let all = unique_key.into_iter().chain(keys.iter().copied());
    for key in all.filter(|k| !k.is_empty()) {
        batch.push(KeyToIndex {
            key: build_key(topic, key),
            phy_offset,
            store_timestamp,
        });
    }
}

/// One key for [`IndexFile::put_keys`] / [`IndexService::build_index_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyToIndex {
    /// The index key, `topic#key` (see [`build_key`]).
    pub key: String,
    /// The message's CommitLog offset.
    pub phy_offset: u64,
    /// The message's store time (ms).
    pub store_timestamp: i64,
}

/// The 40-byte header of an [`IndexFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexHeader {
    /// Store time of the file's first key (or the previous file's last, until then).
    pub begin_timestamp: i64,
    /// Store time of the file's last key.
    pub end_timestamp: i64,
    /// CommitLog offset of the file's first key (or the previous file's last, until then).
    pub begin_phy_offset: i64,
    /// CommitLog offset of the file's last key.
    pub end_phy_offset: i64,
    /// Slots in use.
    pub hash_slot_count: i32,
    /// The next entry number; 1 in an empty file.
    pub index_count: i32,
}

impl Default for IndexHeader {
    fn default() -> Self {
        Self {
            begin_timestamp: 0,
            end_timestamp: 0,
            begin_phy_offset: 0,
            end_phy_offset: 0,
            hash_slot_count: 0,
            index_count: 1,
        }
    }
}

impl IndexHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        out[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        out[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        out[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        out[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        out[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        out
    }

    /// Reads a header; a count of 0 or less (a file never written to) reads as 1, like
    /// Java's `IndexHeader.load`.
    pub fn decode(bytes: &[u8; 40]) -> Self {
        let i64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            i64::from_be_bytes(b)
        };
        let i32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[at..at + 4]);
            i32::from_be_bytes(b)
        };
        Self {
            begin_timestamp: i64_at(0),
            end_timestamp: i64_at(8),
            begin_phy_offset: i64_at(16),
            end_phy_offset: i64_at(24),
            hash_slot_count: i32_at(32),
            index_count: i32_at(36).max(1),
        }
    }

    /// Whether `[begin, end]` overlaps the file's time range (Java `isTimeMatched`).
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        (begin < self.begin_timestamp && end > self.end_timestamp)
            || (begin >= self.begin_timestamp && begin <= self.end_timestamp)
            || (end >= self.begin_timestamp && end <= self.end_timestamp)
    }
}

/// One decoded index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key_hash: i32,
    phy_offset: i64,
    time_diff: i32,
    prev_index: i32,
}

impl Entry {
    fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[0..4].copy_from_slice(&self.key_hash.to_be_bytes());
        out[4..12].copy_from_slice(&self.phy_offset.to_be_bytes());
        out[12..16].copy_from_slice(&self.time_diff.to_be_bytes());
        out[16..20].copy_from_slice(&self.prev_index.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8; 20]) -> Self {
        let mut i4 = [0u8; 4];
        let mut i8 = [0u8; 8];
        i4.copy_from_slice(&bytes[0..4]);
        let key_hash = i32::from_be_bytes(i4);
        i8.copy_from_slice(&bytes[4..12]);
        let phy_offset = i64::from_be_bytes(i8);
        i4.copy_from_slice(&bytes[12..16]);
        let time_diff = i32::from_be_bytes(i4);
        i4.copy_from_slice(&bytes[16..20]);
        let prev_index = i32::from_be_bytes(i4);
        Self {
            key_hash,
            phy_offset,
            time_diff,
            prev_index,
        }
    }
}

/// The size of an index file with `hash_slot_num` slots and `index_num` entries.
pub fn index_file_size(hash_slot_num: u32, index_num: u32) -> u64 {
    INDEX_HEADER_SIZE
        + u64::from(hash_slot_num) * HASH_SLOT_SIZE
        + u64::from(index_num) * INDEX_ENTRY_SIZE
}

/// One index file.
pub struct IndexFile {
    path: PathBuf,
    file: Arc<dyn StoreFile>,
    hash_slot_num: u32,
    index_num: u32,
    /// The header; its write lock is held while a key is written, its read lock while a
    /// query reads its starting slot.
    header: RwLock<IndexHeader>,
    /// Written since the last sync.
    dirty: AtomicBool,
}

impl IndexFile {
    /// Creates the file at its full size. Like Java's constructor, a positive
    /// `end_phy_offset` / `end_timestamp` (the previous file's end) becomes both the begin
    /// and the end of the new, empty file, so the service's "already indexed" check and
    /// time matching carry over a roll.
    pub fn create(
        fs: &dyn StoreFs,
        path: &Path,
        hash_slot_num: u32,
        index_num: u32,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> Result<Self, StoreError> {
        check_config(hash_slot_num, index_num)?;
        let file = fs.open(path, true).io_context("create index file", path)?;
        file.set_len(index_file_size(hash_slot_num, index_num))
            .io_context("size index file", path)?;
        let mut header = IndexHeader::default();
        if end_phy_offset > 0 {
            header.begin_phy_offset = end_phy_offset;
            header.end_phy_offset = end_phy_offset;
        }
        if end_timestamp > 0 {
            header.begin_timestamp = end_timestamp;
            header.end_timestamp = end_timestamp;
        }
        if end_phy_offset > 0 || end_timestamp > 0 {
            // Java's setters write these four fields now; the counts stay 0 on disk until
            // the first key.
            file.write_all_at(&header.encode()[..32], 0)
                .io_context("write index header", path)?;
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            hash_slot_num,
            index_num,
            header: RwLock::new(header),
            dirty: AtomicBool::new(true),
        })
    }

    /// Opens an existing file, refusing one whose size does not match the configuration
    /// (its slots and entries would be read at the wrong places) or whose count is past
    /// its capacity.
    pub fn open(
        fs: &dyn StoreFs,
        path: &Path,
        hash_slot_num: u32,
        index_num: u32,
    ) -> Result<Self, StoreError> {
        check_config(hash_slot_num, index_num)?;
        let file = fs.open(path, false).io_context("open index file", path)?;
        let expected = index_file_size(hash_slot_num, index_num);
        let len = file.len().io_context("stat index file", path)?;
        if len != expected {
            return Err(StoreError::Corrupt {
                file: path.to_owned(),
                detail: format!(
                    "length {len} differs from {expected} = 40 + {hash_slot_num} slots × 4 + \
                     {index_num} entries × 20 (maxHashSlotNum / maxIndexNum changed?)"
                ),
            });
        }
        let mut bytes = [0u8; 40];
        file.read_exact_at(&mut bytes, 0)
            .io_context("read index header", path)?;
        let header = IndexHeader::decode(&bytes);
        if i64::from(header.index_count) > i64::from(index_num) {
            return Err(StoreError::Corrupt {
                file: path.to_owned(),
                detail: format!(
                    "index count {} is past the capacity {index_num}",
                    header.index_count
                ),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            hash_slot_num,
            index_num,
            header: RwLock::new(header),
            dirty: AtomicBool::new(false),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's name (its creation time, `yyyyMMddHHmmssSSS`).
    pub fn file_name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }

    /// The file's size.
    pub fn file_size(&self) -> u64 {
        index_file_size(self.hash_slot_num, self.index_num)
    }

    /// A copy of the header.
    pub fn header(&self) -> IndexHeader {
        *self.header.read()
    }

    /// Store time of the first key.
    pub fn begin_timestamp(&self) -> i64 {
        self.header.read().begin_timestamp
    }

    /// Store time of the last key.
    pub fn end_timestamp(&self) -> i64 {
        self.header.read().end_timestamp
    }

    /// CommitLog offset of the last key.
    pub fn end_phy_offset(&self) -> i64 {
        self.header.read().end_phy_offset
    }

    /// Whether no key fits any more (`indexCount >= maxIndexNum`).
    pub fn is_write_full(&self) -> bool {
        i64::from(self.header.read().index_count) >= i64::from(self.index_num)
    }

    /// Whether `[begin, end]` overlaps the file's time range.
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        self.header.read().is_time_matched(begin, end)
    }

    fn slot_pos(&self, key_hash: i32) -> u64 {
        // key_hash is never negative.
        let slot = u64::from(key_hash.unsigned_abs()) % u64::from(self.hash_slot_num);
        INDEX_HEADER_SIZE + slot * HASH_SLOT_SIZE
    }

    fn entry_pos(&self, index: i32) -> u64 {
        INDEX_HEADER_SIZE
            + u64::from(self.hash_slot_num) * HASH_SLOT_SIZE
            + u64::from(index.unsigned_abs()) * INDEX_ENTRY_SIZE
    }

    fn read_slot(&self, pos: u64) -> Result<i32, StoreError> {
        let mut b = [0u8; 4];
        self.file
            .read_exact_at(&mut b, pos)
            .io_context("read index slot", &self.path)?;
        Ok(i32::from_be_bytes(b))
    }

    fn read_entry(&self, index: i32) -> Result<Entry, StoreError> {
        let mut b = [0u8; 20];
        self.file
            .read_exact_at(&mut b, self.entry_pos(index))
            .io_context("read index entry", &self.path)?;
        Ok(Entry::decode(&b))
    }

    /// Adds `key` for the message at `phy_offset` stored at `store_timestamp` (ms).
    /// `Ok(false)` when the file is full (Java `putKey`).
    pub fn put_key(
        &self,
        key: &str,
        phy_offset: u64,
        store_timestamp: i64,
    ) -> Result<bool, StoreError> {
        let put = self.put_keys(&[KeyToIndex {
            key: key.to_owned(),
            phy_offset,
            store_timestamp,
        }])?;
        Ok(put == 1)
    }

    /// Adds `keys` in order, as that many [`put_key`](Self::put_key) calls would, with one
    /// write for all their entries, one per hash slot they touch and one for the header,
    /// instead of four I/O calls per key. Returns how many were added: fewer than all
    /// when the file filled up.
    pub fn put_keys(&self, keys: &[KeyToIndex]) -> Result<usize, StoreError> {
        let mut header = self.header.write();
        let first_index = header.index_count;
        let mut next = *header;
        let mut entries = Vec::with_capacity(keys.len() * INDEX_ENTRY_SIZE as usize);
        // Slots written in this batch, by file position; later keys read them here.
        let mut slots: HashMap<u64, i32> = HashMap::with_capacity(keys.len());
        let mut put = 0;
        for key in keys {
            if i64::from(next.index_count) >= i64::from(self.index_num) {
                tracing::warn!(
                    path = %self.path.display(),
                    index_count = next.index_count,
                    index_num = self.index_num,
                    "index file is full"
                );
                break;
            }
            let key_hash = index_key_hash(&key.key);
            let slot_pos = self.slot_pos(key_hash);
            let mut slot_value = match slots.get(&slot_pos) {
                Some(&value) => value,
                None => self.read_slot(slot_pos)?,
            };
            if slot_value <= INVALID_INDEX || slot_value > next.index_count {
                slot_value = INVALID_INDEX;
            }
            // Java computes the difference before it moves beginTimestamp to the first
            // key, so in a file that inherited the previous file's end the first entry's
            // diff is relative to that inherited time. Kept as is: the bytes must match.
            let time_diff = if next.begin_timestamp <= 0 {
                0
            } else {
                let seconds = key.store_timestamp.saturating_sub(next.begin_timestamp) / 1000;
                i32::try_from(seconds.max(0)).unwrap_or(i32::MAX)
            };
            let phy = key.phy_offset as i64;
            let entry = Entry {
                key_hash,
                phy_offset: phy,
                time_diff,
                prev_index: slot_value,
            };
            entries.extend_from_slice(&entry.encode());
            slots.insert(slot_pos, next.index_count);
            if next.index_count <= 1 {
                next.begin_phy_offset = phy;
                next.begin_timestamp = key.store_timestamp;
            }
            if slot_value == INVALID_INDEX {
                next.hash_slot_count += 1;
            }
            next.index_count += 1;
            next.end_phy_offset = phy;
            next.end_timestamp = key.store_timestamp;
            put += 1;
        }
        if put == 0 {
            return Ok(0);
        }
        // Entries first, then the slots that point at them, then the header that counts
        // them: a crash in between leaves slots or entries the header does not cover,
        // which readers and the next write treat as absent.
        self.file
            .write_all_at(&entries, self.entry_pos(first_index))
            .io_context("write index entry", &self.path)?;
        // In file order; each slot holds the newest entry of its hash.
        let mut slots: Vec<(u64, i32)> = slots.into_iter().collect();
        slots.sort_unstable();
        for (pos, value) in slots {
            self.file
                .write_all_at(&value.to_be_bytes(), pos)
                .io_context("write index slot", &self.path)?;
        }
        self.dirty.store(true, Ordering::Release);
        // The entries and their slots are on disk: the in-memory header moves on even if
        // the header write below fails (the next batch rewrites the whole header).
        *header = next;
        self.file
            .write_all_at(&header.encode(), 0)
            .io_context("write index header", &self.path)?;
        Ok(put)
    }

    /// CommitLog offsets of entries whose hash is `key`'s and whose time is within
    /// `[begin, end]`, newest first, at most `max_num` (Java `selectPhyOffset`).
    ///
    /// Only the hash is compared, as in Java: keys with the same `String.hashCode` share
    /// results, so callers check the messages they read.
    pub fn select_phy_offsets(
        &self,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        let key_hash = index_key_hash(key);
        let slot_pos = self.slot_pos(key_hash);
        let (slot_value, header) = {
            let header = self.header.read();
            (self.read_slot(slot_pos)?, *header)
        };
        if slot_value <= INVALID_INDEX || slot_value > header.index_count || header.index_count <= 1
        {
            return Ok(out);
        }
        let mut next = slot_value;
        loop {
            if out.len() >= max_num {
                break;
            }
            let entry = self.read_entry(next)?;
            if entry.time_diff < 0 {
                break;
            }
            let time_read = header
                .begin_timestamp
                .saturating_add(i64::from(entry.time_diff) * 1000);
            let time_matched = time_read >= begin && time_read <= end;
            if entry.key_hash == key_hash && time_matched {
                out.push(entry.phy_offset as u64);
            }
            let prev = entry.prev_index;
            // Java stops on `prev == next`; a chain written by `put_key` strictly descends,
            // so `prev > next` can only come from a damaged file, where Java would spin.
            if prev <= INVALID_INDEX
                || prev > header.index_count
                || prev >= next
                || time_read < begin
            {
                break;
            }
            next = prev;
        }
        Ok(out)
    }

    /// Whether an entry for `key` at exactly `phy_offset` exists. Walks the key's chain
    /// only while entries are at or after `phy_offset` (offsets descend along a chain).
    fn contains(&self, key: &str, phy_offset: i64) -> Result<bool, StoreError> {
        let key_hash = index_key_hash(key);
        let slot_pos = self.slot_pos(key_hash);
        let (slot_value, header) = {
            let header = self.header.read();
            (self.read_slot(slot_pos)?, *header)
        };
        if slot_value <= INVALID_INDEX || slot_value >= header.index_count {
            return Ok(false);
        }
        let mut next = slot_value;
        loop {
            let entry = self.read_entry(next)?;
            if entry.phy_offset < phy_offset {
                return Ok(false);
            }
            if entry.key_hash == key_hash && entry.phy_offset == phy_offset {
                return Ok(true);
            }
            let prev = entry.prev_index;
            if prev <= INVALID_INDEX || prev >= next {
                return Ok(false);
            }
            next = prev;
        }
    }

    /// Syncs the file if it was written since the last sync.
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.file.sync_data() {
                self.dirty.store(true, Ordering::Release);
                return Err(e).io_context("fsync index file", &self.path);
            }
        }
        Ok(())
    }
}

fn check_config(hash_slot_num: u32, index_num: u32) -> Result<(), StoreError> {
    let max = i32::MAX.unsigned_abs();
    if hash_slot_num == 0 || hash_slot_num > max {
        return Err(StoreError::Config(ConfigError {
            key: "maxHashSlotNum",
            value: hash_slot_num.to_string(),
            reason: "must be between 1 and 2147483647",
        }));
    }
    if index_num < 2 || index_num > max {
        // Entry 0 is never used: with 1 entry no key would ever fit.
        return Err(StoreError::Config(ConfigError {
            key: "maxIndexNum",
            value: index_num.to_string(),
            reason: "must be between 2 and 2147483647",
        }));
    }
    Ok(())
}

/// Offsets found by [`IndexService::query`] (Java `QueryOffsetResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOffsets {
    /// CommitLog offsets, newest first.
    pub phy_offsets: Vec<u64>,
    /// The newest index file's end timestamp when queried.
    pub index_last_update_timestamp: i64,
    /// The newest index file's end CommitLog offset when queried.
    pub index_last_update_phyoffset: i64,
}

/// The `index/` directory: the index files, oldest first, the last one written
/// (Java `IndexService`).
///
/// [`build_index`](Self::build_index) is meant for one dispatcher thread (callers are
/// serialized anyway); [`query`](Self::query) may run on any number of threads at once.
pub struct IndexService {
    fs: Arc<dyn StoreFs>,
    dir: PathBuf,
    hash_slot_num: u32,
    index_num: u32,
    clock: Arc<dyn Clock>,
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// Serializes everything that changes the file list or writes keys.
    writer: Mutex<()>,
}

impl IndexService {
    /// Opens the index files in `dir` (none if it does not exist), naming new files by the
    /// system clock.
    pub fn open(
        fs: Arc<dyn StoreFs>,
        dir: &Path,
        max_hash_slot_num: u32,
        max_index_num: u32,
    ) -> Result<Self, StoreError> {
        Self::open_with_clock(
            fs,
            dir,
            max_hash_slot_num,
            max_index_num,
            Arc::new(SystemClock),
        )
    }

    /// [`open`](Self::open), naming new files by `clock`.
    ///
    /// Every file must be named by 17 digits and be exactly
    /// `40 + max_hash_slot_num × 4 + max_index_num × 20` bytes, else
    /// [`StoreError::Corrupt`]; only an empty last file (created, then a crash before it
    /// was sized) is re-created, empty and following the previous file, as the roll that
    /// created it would have left it.
    pub fn open_with_clock(
        fs: Arc<dyn StoreFs>,
        dir: &Path,
        max_hash_slot_num: u32,
        max_index_num: u32,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        check_config(max_hash_slot_num, max_index_num)?;
        let mut names = Vec::new();
        for path in fs.list(dir).io_context("list index files", dir)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".tmp") {
                continue;
            }
            if name.len() != INDEX_FILE_NAME_LEN || !name.bytes().all(|b| b.is_ascii_digit()) {
                return Err(StoreError::Corrupt {
                    file: path.clone(),
                    detail: "file name is not a yyyyMMddHHmmssSSS time".into(),
                });
            }
            names.push((name.to_owned(), path));
        }
        names.sort();
        let count = names.len();
        let mut files = Vec::with_capacity(count);
        for (i, (_, path)) in names.into_iter().enumerate() {
            let is_last = i + 1 == count;
            let empty = is_last
                && fs
                    .open(&path, false)
                    .and_then(|f| f.len())
                    .io_context("stat index file", &path)?
                    == 0;
            let file = if empty {
                // Created, then a crash before it was sized: nothing was ever written to
                // it. Make it what the roll would have: empty, after the previous file.
                tracing::warn!(path = %path.display(), "re-creating an empty index file");
                let (end_phy_offset, end_timestamp) =
                    files.last().map_or((0, 0), |f: &Arc<IndexFile>| {
                        let header = f.header();
                        (header.end_phy_offset, header.end_timestamp)
                    });
                IndexFile::create(
                    fs.as_ref(),
                    &path,
                    max_hash_slot_num,
                    max_index_num,
                    end_phy_offset,
                    end_timestamp,
                )?
            } else {
                IndexFile::open(fs.as_ref(), &path, max_hash_slot_num, max_index_num)?
            };
            files.push(Arc::new(file));
        }
        Ok(Self {
            fs,
            dir: dir.to_owned(),
            hash_slot_num: max_hash_slot_num,
            index_num: max_index_num,
            clock,
            files: RwLock::new(files),
            writer: Mutex::new(()),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files, oldest first.
    pub fn files(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().clone()
    }

    /// Indexes the message at `phy_offset`: `topic#unique_key` first, then `topic#key` for
    /// each of `keys` (the `KEYS` property split on spaces), skipping empty ones, rolling
    /// to a new file when the last is full (Java `buildIndex`). Rollback records must not
    /// be passed in (Java skips them).
    ///
    /// A message below the last file's end offset was indexed before and is skipped, as
    /// in Java. Unlike Java, the message *at* the end offset is not indexed again: only
    /// its keys missing from the index are added (those a crash cut off), so dispatching
    /// the same CommitLog range again never duplicates entries.
    pub fn build_index(
        &self,
        topic: &str,
        keys: &[&str],
        unique_key: Option<&str>,
        phy_offset: u64,
        store_timestamp: i64,
    ) -> Result<(), StoreError> {
        let mut batch = Vec::new();
        push_message_keys(
            &mut batch,
            topic,
            keys,
            unique_key,
            phy_offset,
            store_timestamp,
        );
        self.build_index_batch(batch)
    }

    /// [`build_index`](Self::build_index) for many messages at once, their keys (from
    /// [`push_message_keys`]) in CommitLog order: one lock, and one write per file for
    /// all entries (see [`IndexFile::put_keys`]). The dispatcher calls it once per step.
    pub fn build_index_batch(&self, keys: Vec<KeyToIndex>) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let _writer = self.writer.lock();
        let mut file = self.writable_file()?;
        let header = file.header();
        let indexed_before = header.index_count > 1 || header.end_phy_offset > 0;
        let mut wanted = Vec::with_capacity(keys.len());
        for key in keys {
            let phy = key.phy_offset as i64;
            // Below the end: indexed before. At the end: only the keys a crash cut off.
            if phy < header.end_phy_offset
                || (indexed_before
                    && phy == header.end_phy_offset
                    && self.indexed_at(&key.key, phy)?)
            {
                continue;
            }
            wanted.push(key);
        }
        let mut rest = &wanted[..];
        while !rest.is_empty() {
            let mut put = file.put_keys(rest)?;
            if put == 0 {
                file = self.roll(&file)?;
                put = file.put_keys(rest)?;
                if put == 0 {
                    return Err(StoreError::Corrupt {
                        file: file.path.clone(),
                        detail: "a new index file has no room for a key".into(),
                    });
                }
            }
            rest = &rest[put..];
        }
        Ok(())
    }

    /// Whether some file holds `key` at `phy`, looking at the files that reach `phy`.
    fn indexed_at(&self, key: &str, phy: i64) -> Result<bool, StoreError> {
        let files = self.files();
        for file in files.iter().rev() {
            let header = file.header();
            if header.end_phy_offset < phy {
                break;
            }
            if file.contains(key, phy)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The last file if it has room, else a new one (Java `getAndCreateLastIndexFile`).
    fn writable_file(&self) -> Result<Arc<IndexFile>, StoreError> {
        let last = self.files.read().last().cloned();
        match last {
            Some(file) if !file.is_write_full() => Ok(file),
            Some(full) => self.roll(&full),
            None => self.create_file(0, 0),
        }
    }

    /// Starts a new file after `full`, inheriting its end offset and time. Java syncs the
    /// full file in a background thread; here [`flush`](Self::flush) does.
    fn roll(&self, full: &IndexFile) -> Result<Arc<IndexFile>, StoreError> {
        tracing::info!(path = %full.path.display(), "index file is full, starting another");
        let header = full.header();
        self.create_file(header.end_phy_offset, header.end_timestamp)
    }

    fn create_file(
        &self,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> Result<Arc<IndexFile>, StoreError> {
        let last_name = self.files.read().last().map(|f| f.file_name().to_owned());
        let name = next_file_name(self.clock.now_millis(), last_name.as_deref());
        self.fs
            .create_dir_all(&self.dir)
            .io_context("create index directory", &self.dir)?;
        let path = self.dir.join(name);
        let file = Arc::new(IndexFile::create(
            self.fs.as_ref(),
            &path,
            self.hash_slot_num,
            self.index_num,
            end_phy_offset,
            end_timestamp,
        )?);
        // The new name must survive a crash before keys in it are relied on.
        self.fs
            .sync_dir(&self.dir)
            .io_context("fsync index directory", &self.dir)?;
        self.files.write().push(file.clone());
        Ok(file)
    }

    /// CommitLog offsets of messages of `topic` indexed under `key` and stored within
    /// `[begin, end]` (ms), newest first, at most `max_num` capped at
    /// [`MAX_MSGS_NUM_BATCH`] (Java `queryOffset`): files are searched newest first when
    /// their time range overlaps, until one begins before `begin` or enough are found.
    ///
    /// Only key hashes are compared: callers must check the messages they read.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryOffsets, StoreError> {
        let max_num = max_num.min(MAX_MSGS_NUM_BATCH);
        let files = self.files();
        let mut result = QueryOffsets {
            phy_offsets: Vec::with_capacity(max_num),
            ..QueryOffsets::default()
        };
        let key = build_key(topic, key);
        for (i, file) in files.iter().enumerate().rev() {
            let header = file.header();
            if i + 1 == files.len() {
                result.index_last_update_timestamp = header.end_timestamp;
                result.index_last_update_phyoffset = header.end_phy_offset;
            }
            if header.is_time_matched(begin, end) {
                let remaining = max_num.saturating_sub(result.phy_offsets.len());
                let found = file.select_phy_offsets(&key, remaining, begin, end)?;
                result.phy_offsets.extend(found);
            }
            if header.begin_timestamp < begin || result.phy_offsets.len() >= max_num {
                break;
            }
        }
        Ok(result)
    }

    /// Syncs every file written since its last sync. Everything indexed before the call
    /// is durable when it returns: a caller can read [`last_update`](Self::last_update)
    /// first and record its timestamp as the checkpoint's `indexMsgTimestamp` after.
    pub fn flush(&self) -> Result<(), StoreError> {
        for file in self.files() {
            file.flush()?;
        }
        Ok(())
    }

    /// Deletes the oldest files whose end offset is below `commit_log_min_offset`, never
    /// the last file (Java `deleteExpiredFile`). Returns how many were deleted.
    pub fn delete_files_below(&self, commit_log_min_offset: u64) -> Result<usize, StoreError> {
        let min = i64::try_from(commit_log_min_offset).unwrap_or(i64::MAX);
        self.delete_where(
            |file, index, count| index + 1 < count && file.end_phy_offset() < min,
            true,
        )
    }

    /// Deletes every file whose end timestamp is after `index_msg_timestamp` (the
    /// checkpoint's): what Java's `IndexService.load(false)` does after an abnormal
    /// shutdown, since such files may hold a torn tail. Re-dispatching the CommitLog from
    /// before that time rebuilds them. Returns how many were deleted.
    pub fn discard_newer_than(&self, index_msg_timestamp: i64) -> Result<usize, StoreError> {
        self.delete_where(
            |file, _, _| file.end_timestamp() > index_msg_timestamp,
            false,
        )
    }

    /// Deletes the files `doomed(file, index, count)` picks, in order; with `prefix_only`
    /// stops at the first file it keeps.
    fn delete_where(
        &self,
        doomed: impl Fn(&IndexFile, usize, usize) -> bool,
        prefix_only: bool,
    ) -> Result<usize, StoreError> {
        let _writer = self.writer.lock();
        let files = self.files();
        let count = files.len();
        let mut deleted = 0;
        for (i, file) in files.iter().enumerate() {
            if !doomed(file, i, count) {
                if prefix_only {
                    break;
                }
                continue;
            }
            // Queries that already hold the file keep reading it: the open handle outlives
            // the name.
            self.fs
                .remove_file(&file.path)
                .io_context("delete index file", &file.path)?;
            self.files.write().retain(|f| !Arc::ptr_eq(f, file));
            tracing::info!(path = %file.path.display(), "deleted index file");
            deleted += 1;
        }
        Ok(deleted)
    }

    /// The newest file's end timestamp and end CommitLog offset; `(0, 0)` with no files.
    pub fn last_update(&self) -> (i64, i64) {
        self.files.read().last().map_or((0, 0), |f| {
            let header = f.header();
            (header.end_timestamp, header.end_phy_offset)
        })
    }

    /// Deletes every file (Java `destroy`). Failures are logged.
    pub fn destroy(&self) {
        let _writer = self.writer.lock();
        let files = std::mem::take(&mut *self.files.write());
        for file in files {
            if let Err(error) = self.fs.remove_file(&file.path) {
                tracing::warn!(path = %file.path.display(), %error, "cannot delete index file");
            }
        }
    }
}

/// The name for a file created at `now_ms`, after `last` if there is one: names must
/// sort in creation order, so a clock that stands still or goes back yields the last
/// name's time plus 1 ms.
fn next_file_name(now_ms: i64, last: Option<&str>) -> String {
    let Some(last) = last else {
        return file_name_for_millis(now_ms);
    };
    let mut ms = now_ms;
    if let Some(last_ms) = millis_of_file_name(last) {
        ms = ms.max(last_ms.saturating_add(1));
    }
    let name = file_name_for_millis(ms);
    if name.as_str() > last {
        return name;
    }
    // A last name that is not a valid time: count past it.
    let n: u64 = last.parse().unwrap_or(0);
    format!("{:017}", n.saturating_add(1))
}

/// `yyyyMMddHHmmssSSS` for `millis` since the epoch, in UTC. Java's
/// `UtilAll.timeMillisToHumanString` uses the JVM's local time zone; the names only need
/// to sort by creation time, which UTC does as well (and across DST changes, better).
pub fn file_name_for_millis(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let ms_of_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let hour = ms_of_day / 3_600_000;
    let minute = ms_of_day / 60_000 % 60;
    let second = ms_of_day / 1000 % 60;
    let milli = ms_of_day % 1000;
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}{milli:03}")
}

/// The time a `yyyyMMddHHmmssSSS` name stands for (read as UTC), if it is a valid one.
fn millis_of_file_name(name: &str) -> Option<i64> {
    if name.len() != INDEX_FILE_NAME_LEN || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| name.get(from..to)?.parse::<i64>().ok();
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second, milli) = (
        field(8, 10)?,
        field(10, 12)?,
        field(12, 14)?,
        field(14, 17)?,
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli)
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (proleptic Gregorian;
/// H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a (year, month 1-12, day) date (`days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::OsFs;
    use soyuz_model::ManualClock;

    const T0: i64 = 1_700_000_000_000;

    fn service(dir: &Path, clock: &ManualClock) -> IndexService {
        sized_service(dir, clock, 16, 8)
    }

    fn sized_service(dir: &Path, clock: &ManualClock, slots: u32, entries: u32) -> IndexService {
        IndexService::open_with_clock(Arc::new(OsFs), dir, slots, entries, Arc::new(clock.clone()))
            .expect("open index service")
    }

    fn read_i32(bytes: &[u8], at: usize) -> i32 {
        i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    fn read_i64(bytes: &[u8], at: usize) -> i64 {
        i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    fn all(service: &IndexService, key: &str) -> Vec<u64> {
        service
            .query("T", key, 64, 0, i64::MAX)
            .expect("query")
            .phy_offsets
    }

    #[test]
    fn key_hash_is_java_abs_hash_code() {
        assert_eq!(index_key_hash("a"), 97);
        assert_eq!(index_key_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("TBW102"), -1_826_525_782);
        assert_eq!(index_key_hash("TBW102"), 1_826_525_782);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE; Math.abs keeps it negative.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(index_key_hash("polygenelubricants"), 0);
        assert_eq!(build_key("TopicA", "k1"), "TopicA#k1");
    }

    #[test]
    fn file_names_are_utc_times() {
        assert_eq!(file_name_for_millis(0), "19700101000000000");
        assert_eq!(file_name_for_millis(1_700_000_000_123), "20231114221320123");
        assert_eq!(file_name_for_millis(1_709_164_800_000), "20240229000000000");
        assert_eq!(file_name_for_millis(951_782_400_999), "20000229000000999");
        assert_eq!(file_name_for_millis(4_102_444_799_999), "20991231235959999");
        for ms in (0..4_102_444_800_000_i64).step_by(7_777_777_777) {
            let name = file_name_for_millis(ms);
            assert_eq!(millis_of_file_name(&name), Some(ms), "{name}");
        }
        assert_eq!(millis_of_file_name("2023111422132012"), None);
        assert_eq!(millis_of_file_name("20231314221320123"), None);
    }

    #[test]
    fn next_name_sorts_after_the_last_even_if_the_clock_stands_still() {
        assert_eq!(next_file_name(0, None), "19700101000000000");
        assert_eq!(
            next_file_name(1_700_000_000_123, Some("20231114221320123")),
            "20231114221320124"
        );
        assert_eq!(
            next_file_name(1_700_000_000_999 - 5_000, Some("20231114221320999")),
            "20231114221321000"
        );
        assert_eq!(
            next_file_name(1_700_000_000_123, Some("20231114221320100")),
            "20231114221320123"
        );
        assert_eq!(
            next_file_name(0, Some("99999999999999999")),
            "100000000000000000"
        );
        assert_eq!(
            next_file_name(0, Some("20231399999999999")),
            "20231400000000000"
        );
    }

    #[test]
    fn golden_layout_matches_java() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("20231114221320000");
        let file = IndexFile::create(&OsFs, &path, 16, 8, 0, 0).expect("create");
        // Hashes: "a" = 97 (slot 1), "q" = 113 (slot 1), "b" = 98 (slot 2).
        assert!(file.put_key("a", 1000, T0).expect("put a"));
        assert!(file.put_key("q", 2000, T0 + 2_500).expect("put q"));
        assert!(file.put_key("b", 3000, T0 + 61_999).expect("put b"));

        let bytes = std::fs::read(&path).expect("read file");
        assert_eq!(bytes.len(), 40 + 16 * 4 + 8 * 20);
        assert_eq!(read_i64(&bytes, 0), T0, "beginTimestamp");
        assert_eq!(read_i64(&bytes, 8), T0 + 61_999, "endTimestamp");
        assert_eq!(read_i64(&bytes, 16), 1000, "beginPhyOffset");
        assert_eq!(read_i64(&bytes, 24), 3000, "endPhyOffset");
        assert_eq!(read_i32(&bytes, 32), 2, "hashSlotCount");
        assert_eq!(read_i32(&bytes, 36), 4, "indexCount");
        // Slots at 40 + slot × 4.
        assert_eq!(read_i32(&bytes, 40), 0, "slot 0");
        assert_eq!(read_i32(&bytes, 44), 2, "slot 1 -> entry 2 (q)");
        assert_eq!(read_i32(&bytes, 48), 3, "slot 2 -> entry 3 (b)");
        // Entries at 40 + 16 × 4 + n × 20 = 104 + n × 20; entry 0 unused.
        assert!(bytes[104..124].iter().all(|&b| b == 0), "entry 0 is unused");
        let e1 = 124;
        assert_eq!(read_i32(&bytes, e1), 97);
        assert_eq!(read_i64(&bytes, e1 + 4), 1000);
        assert_eq!(
            read_i32(&bytes, e1 + 12),
            0,
            "first entry: beginTimestamp was 0"
        );
        assert_eq!(read_i32(&bytes, e1 + 16), 0, "no previous entry");
        let e2 = 144;
        assert_eq!(read_i32(&bytes, e2), 113);
        assert_eq!(read_i64(&bytes, e2 + 4), 2000);
        assert_eq!(read_i32(&bytes, e2 + 12), 2, "2.5 s truncated to 2");
        assert_eq!(read_i32(&bytes, e2 + 16), 1, "chained to entry 1");
        let e3 = 164;
        assert_eq!(
            &bytes[e3..e3 + 20],
            &[
                0, 0, 0, 98, // keyHash
                0, 0, 0, 0, 0, 0, 0x0b, 0xb8, // phyOffset 3000
                0, 0, 0, 61, // timeDiff
                0, 0, 0, 0, // prevIndex
            ]
        );
        assert!(bytes[184..].iter().all(|&b| b == 0), "rest unwritten");

        // Read back through the format.
        assert_eq!(
            file.select_phy_offsets("a", 10, 0, i64::MAX).expect("a"),
            vec![1000]
        );
        assert_eq!(
            file.select_phy_offsets("q", 10, 0, i64::MAX).expect("q"),
            vec![2000]
        );
        let reopened = IndexFile::open(&OsFs, &path, 16, 8).expect("reopen");
        assert_eq!(reopened.header(), file.header());
    }

    #[test]
    fn a_rolled_file_inherits_the_previous_end_like_java() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("20231114221320000");
        let file = IndexFile::create(&OsFs, &path, 16, 8, 5000, T0).expect("create");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(read_i64(&bytes, 0), T0);
        assert_eq!(read_i64(&bytes, 8), T0);
        assert_eq!(read_i64(&bytes, 16), 5000);
        assert_eq!(read_i64(&bytes, 24), 5000);
        assert_eq!(read_i32(&bytes, 32), 0);
        assert_eq!(
            read_i32(&bytes, 36),
            0,
            "count stays 0 on disk until the first key"
        );
        // The first key's diff is relative to the inherited time; then begin moves to it.
        assert!(file.put_key("a", 6000, T0 + 3_000).expect("put"));
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(read_i64(&bytes, 0), T0 + 3_000);
        assert_eq!(read_i64(&bytes, 16), 6000);
        assert_eq!(read_i32(&bytes, 104 + 20 + 12), 3);
    }

    #[test]
    fn query_returns_offsets_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = service(dir.path(), &clock);
        for (i, offset) in [100u64, 200, 300].iter().enumerate() {
            let ts = T0 + i as i64 * 1000;
            index
                .build_index("T", &["k"], None, *offset, ts)
                .expect("build");
        }
        let found = index.query("T", "k", 10, 0, i64::MAX).expect("query");
        assert_eq!(found.phy_offsets, vec![300, 200, 100]);
        assert_eq!(found.index_last_update_timestamp, T0 + 2000);
        assert_eq!(found.index_last_update_phyoffset, 300);
        assert_eq!(
            index
                .query("T", "k", 2, 0, i64::MAX)
                .expect("q")
                .phy_offsets,
            vec![300, 200]
        );
        assert!(all(&index, "other").is_empty());
        assert!(index
            .query("U", "k", 10, 0, i64::MAX)
            .expect("q")
            .phy_offsets
            .is_empty());
        assert_eq!(index.last_update(), (T0 + 2000, 300));
    }

    #[test]
    fn unique_key_and_every_keys_token_are_indexed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = sized_service(dir.path(), &clock, 64, 32);
        index
            .build_index("T", &["k1", "", "k2"], Some("UNIQ"), 100, T0)
            .expect("build");
        assert_eq!(all(&index, "UNIQ"), vec![100]);
        assert_eq!(all(&index, "k1"), vec![100]);
        assert_eq!(all(&index, "k2"), vec![100]);
        assert_eq!(
            index.files()[0].header().index_count,
            4,
            "three keys, no empty one"
        );
        // Unique key first, like Java: entry 1 is T#UNIQ.
        let entry = index.files()[0].read_entry(1).expect("entry");
        assert_eq!(entry.key_hash, index_key_hash("T#UNIQ"));
        // A message without keys creates no file.
        let empty = tempfile::tempdir().expect("tempdir");
        let none = service(empty.path(), &clock);
        none.build_index("T", &[], None, 5, T0).expect("build");
        assert!(none.files().is_empty());
        assert_eq!(none.last_update(), (0, 0));
    }

    #[test]
    fn time_range_filters_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = sized_service(dir.path(), &clock, 64, 64);
        for i in 0..5u64 {
            index
                .build_index("T", &["k"], None, 100 * (i + 1), T0 + i as i64 * 10_000)
                .expect("build");
        }
        let q = |begin, end| {
            index
                .query("T", "k", 64, begin, end)
                .expect("query")
                .phy_offsets
        };
        assert_eq!(q(T0 + 5_000, T0 + 25_000), vec![300, 200]);
        assert_eq!(q(T0 + 10_000, T0 + 10_000), vec![200]);
        assert_eq!(q(T0 + 40_000, T0 + 90_000), vec![500]);
        assert!(q(T0 + 41_000, T0 + 90_000).is_empty());
        assert!(q(T0 - 90_000, T0 - 1).is_empty());
        assert_eq!(q(T0 - 90_000, T0 + 90_000), vec![500, 400, 300, 200, 100]);
        // Stored times are whole seconds after the file's begin.
        index
            .build_index("T", &["s"], None, 600, T0 + 1_999)
            .expect("build");
        assert_eq!(q(T0 + 1_000, T0 + 1_000).len(), 0);
        let s = index
            .query("T", "s", 64, T0 + 1_000, T0 + 1_000)
            .expect("q");
        assert_eq!(s.phy_offsets, vec![600]);
    }

    #[test]
    fn hash_collisions_across_keys_do_not_leak() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = sized_service(dir.path(), &clock, 16, 64);
        // Many keys on 16 slots: every slot chain mixes keys.
        let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
        for (i, key) in keys.iter().enumerate() {
            index
                .build_index("T", &[key.as_str()], None, i as u64 * 10, T0 + i as i64)
                .expect("build");
        }
        let slot = |k: &str| index_key_hash(&build_key("T", k)) % 16;
        let same_slot: Vec<&String> = keys.iter().filter(|k| slot(k) == slot(&keys[0])).collect();
        assert!(same_slot.len() > 1, "the test needs a shared slot");
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(all(&index, key), vec![i as u64 * 10], "{key}");
        }
        // Keys with the same String.hashCode ("Aa" and "BB") do share results, as in Java.
        index
            .build_index("H", &["Aa"], None, 1000, T0 + 50)
            .expect("build");
        index
            .build_index("H", &["BB"], None, 1010, T0 + 51)
            .expect("build");
        assert_eq!(java_string_hash("H#Aa"), java_string_hash("H#BB"));
        let found = index
            .query("H", "Aa", 64, 0, i64::MAX)
            .expect("q")
            .phy_offsets;
        assert_eq!(found, vec![1010, 1000]);
    }

    #[test]
    fn a_full_file_rolls_and_queries_see_every_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The clock stands still: names must still be distinct and ordered.
        let clock = ManualClock::new(T0);
        let index = service(dir.path(), &clock);
        // 8 entries = 7 keys per file; 10 messages with 2 keys each = 3 files.
        for i in 0..10u64 {
            let key = format!("m{i}");
            index
                .build_index(
                    "T",
                    &["x", key.as_str()],
                    None,
                    100 * (i + 1),
                    T0 + i as i64 * 1000,
                )
                .expect("build");
        }
        let files = index.files();
        assert_eq!(files.len(), 3);
        let names: Vec<&str> = files.iter().map(|f| f.file_name()).collect();
        assert_eq!(
            names,
            vec![
                "20231114221320000",
                "20231114221320001",
                "20231114221320002"
            ]
        );
        assert!(files[0].is_write_full());
        assert_eq!(files[0].header().index_count, 8);
        // Message 3's keys were split: "x" in file 0, "m3" in file 1, whose begin is the
        // split message (inherited, then set by its first key).
        assert_eq!(files[1].header().begin_phy_offset, 400);
        assert_eq!(all(&index, "m3"), vec![400]);
        assert_eq!(
            all(&index, "x"),
            vec![1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
        );
        assert_eq!(
            index
                .query("T", "x", 3, 0, i64::MAX)
                .expect("q")
                .phy_offsets,
            vec![1000, 900, 800]
        );
        // A range that begins inside the last file stops there.
        let recent = index.query("T", "x", 64, T0 + 8_000, i64::MAX).expect("q");
        assert_eq!(recent.phy_offsets, vec![1000, 900]);
        assert_eq!(recent.index_last_update_phyoffset, 1000);
        // The file size on disk is the configured size.
        for file in &files {
            let len = std::fs::metadata(file.path()).expect("stat").len();
            assert_eq!(len, 40 + 16 * 4 + 8 * 20);
        }
    }

    #[test]
    fn max_num_is_capped_at_the_batch_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = sized_service(dir.path(), &clock, 16, 40);
        for i in 0..100u64 {
            index.build_index("T", &["k"], None, i, T0).expect("build");
        }
        let found = index
            .query("T", "k", 1000, 0, i64::MAX)
            .expect("q")
            .phy_offsets;
        assert_eq!(found.len(), MAX_MSGS_NUM_BATCH);
        assert_eq!(found[0], 99);
        assert_eq!(found[63], 36);
        assert!(index
            .query("T", "k", 0, 0, i64::MAX)
            .expect("q")
            .phy_offsets
            .is_empty());
    }

    #[test]
    fn reopen_finds_everything_and_appends_to_the_last_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        {
            let index = service(dir.path(), &clock);
            for i in 0..9u64 {
                index
                    .build_index(
                        "T",
                        &["k"],
                        Some(&format!("u{i}")),
                        10 * (i + 1),
                        T0 + i as i64,
                    )
                    .expect("build");
            }
            index.flush().expect("flush");
            assert_eq!(index.files().len(), 3);
        }
        let index = service(dir.path(), &clock);
        assert_eq!(index.files().len(), 3);
        assert_eq!(all(&index, "k"), vec![90, 80, 70, 60, 50, 40, 30, 20, 10]);
        assert_eq!(all(&index, "u4"), vec![50]);
        assert_eq!(index.last_update(), (T0 + 8, 90));
        index
            .build_index("T", &["k"], None, 100, T0 + 9)
            .expect("build");
        assert_eq!(index.files().len(), 3, "the last file still had room");
        assert_eq!(all(&index, "k")[0], 100);
    }

    #[test]
    fn rebuilding_indexed_offsets_is_a_no_op() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = service(dir.path(), &clock);
        let messages: Vec<(u64, Vec<String>)> = (0..6u64)
            .map(|i| (100 * (i + 1), vec!["x".to_owned(), format!("m{i}")]))
            .collect();
        let dispatch = |from: usize| {
            for (offset, keys) in &messages[from..] {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                index
                    .build_index(
                        "T",
                        &keys,
                        Some(&format!("u{offset}")),
                        *offset,
                        T0 + *offset as i64,
                    )
                    .expect("build");
            }
        };
        dispatch(0);
        let counts = |index: &IndexService| -> Vec<i32> {
            index
                .files()
                .iter()
                .map(|f| f.header().index_count)
                .collect()
        };
        let before = counts(&index);
        dispatch(2); // re-dispatch a tail, including the last message
        dispatch(5);
        assert_eq!(counts(&index), before);
        assert_eq!(all(&index, "x"), vec![600, 500, 400, 300, 200, 100]);
        assert_eq!(all(&index, "m5"), vec![600]);

        // A message whose keys were only partly indexed (a crash in between) gets the
        // missing ones, across a roll, and no duplicates.
        let partial = tempfile::tempdir().expect("tempdir");
        let index = service(partial.path(), &clock);
        index
            .build_index("T", &["a", "b", "c", "d", "e"], None, 10, T0)
            .expect("build");
        index
            .build_index("T", &["a", "b", "c", "d", "e", "f"], None, 20, T0)
            .expect("build");
        assert_eq!(index.files().len(), 2, "message 20 spans two files");
        index
            .build_index("T", &["a", "b", "c", "d", "e", "f", "g"], None, 20, T0)
            .expect("build");
        for key in ["a", "b", "c", "d", "e"] {
            assert_eq!(all(&index, key), vec![20, 10], "{key}");
        }
        assert_eq!(all(&index, "f"), vec![20]);
        assert_eq!(all(&index, "g"), vec![20]);
        let keys: i32 = index
            .files()
            .iter()
            .map(|f| f.header().index_count - 1)
            .sum();
        assert_eq!(keys, 12, "5 + 6 + the missing 1");
        // Older than the last file's end: skipped entirely.
        index
            .build_index("T", &["zzz"], None, 15, T0)
            .expect("build");
        assert!(all(&index, "zzz").is_empty());
    }

    #[test]
    fn delete_files_below_keeps_the_last_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = service(dir.path(), &clock);
        for i in 0..20u64 {
            clock.advance(1);
            index
                .build_index("T", &["k"], None, 100 * (i + 1), T0 + i as i64)
                .expect("build");
        }
        // 7 keys per file: ends 700, 1400, 2000.
        let files = index.files();
        assert_eq!(files.len(), 3);
        let ends: Vec<i64> = files.iter().map(|f| f.end_phy_offset()).collect();
        assert_eq!(ends, vec![700, 1400, 2000]);
        assert_eq!(
            index.delete_files_below(700).expect("delete"),
            0,
            "700 is not below 700"
        );
        assert_eq!(index.delete_files_below(701).expect("delete"), 1);
        assert!(!files[0].path().exists());
        assert_eq!(all(&index, "k").len(), 13);
        assert_eq!(index.delete_files_below(u64::MAX).expect("delete"), 1);
        assert_eq!(index.files().len(), 1, "the last file stays");
        assert!(files[2].path().exists());
        assert_eq!(all(&index, "k"), vec![2000, 1900, 1800, 1700, 1600, 1500]);
        assert_eq!(index.last_update(), (T0 + 19, 2000));
        drop(index);
        let index = service(dir.path(), &clock);
        assert_eq!(index.files().len(), 1);
        index.destroy();
        assert!(index.files().is_empty());
        assert!(!files[2].path().exists());
        assert!(all(&index, "k").is_empty());
    }

    #[test]
    fn discard_newer_than_drops_files_past_the_checkpoint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = service(dir.path(), &clock);
        for i in 0..10u64 {
            index
                .build_index("T", &["k"], None, 100 * (i + 1), T0 + i as i64 * 1000)
                .expect("build");
        }
        // File 0 ends at T0 + 6000 (7 keys).
        assert_eq!(index.discard_newer_than(T0 + 6_000).expect("discard"), 1);
        assert_eq!(index.files().len(), 1);
        assert_eq!(index.last_update(), (T0 + 6_000, 700));
        // Re-dispatching from before the checkpoint rebuilds the rest without duplicates.
        for i in 5..10u64 {
            index
                .build_index("T", &["k"], None, 100 * (i + 1), T0 + i as i64 * 1000)
                .expect("build");
        }
        assert_eq!(
            all(&index, "k"),
            vec![1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
        );
    }

    #[test]
    fn open_refuses_files_of_another_size_and_bad_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        {
            let index = service(dir.path(), &clock);
            index.build_index("T", &["k"], None, 1, T0).expect("build");
        }
        let err = IndexService::open(Arc::new(OsFs), dir.path(), 32, 8)
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let err = IndexService::open(Arc::new(OsFs), dir.path(), 16, 1)
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::Config(_)), "{err}");

        // An empty last file (crash before sizing) is sized; an empty earlier one is not.
        std::fs::write(dir.path().join("29990101000000000"), b"").expect("write");
        let index = service(dir.path(), &clock);
        assert_eq!(index.files().len(), 2);
        let repaired = index.files()[1].header();
        assert_eq!((repaired.end_phy_offset, repaired.end_timestamp), (1, T0));
        assert_eq!(all(&index, "k"), vec![1]);
        assert_eq!(
            index.query("T", "k", 64, T0, T0).expect("q").phy_offsets,
            vec![1]
        );
        index
            .build_index("T", &["k"], None, 1, T0)
            .expect("rebuild");
        assert_eq!(index.files()[1].header().index_count, 1, "already indexed");
        drop(index);
        std::fs::write(dir.path().join("29990101000000001"), b"").expect("write");
        std::fs::write(dir.path().join("29990101000000000"), b"").expect("write");
        let err = IndexService::open(Arc::new(OsFs), dir.path(), 16, 8)
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        std::fs::remove_file(dir.path().join("29990101000000000")).expect("rm");
        std::fs::remove_file(dir.path().join("29990101000000001")).expect("rm");

        std::fs::write(dir.path().join("notes.txt"), b"x").expect("write");
        let err = IndexService::open(Arc::new(OsFs), dir.path(), 16, 8)
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        std::fs::remove_file(dir.path().join("notes.txt")).expect("rm");

        // A missing directory is an empty index.
        let missing =
            IndexService::open(Arc::new(OsFs), &dir.path().join("nope"), 16, 8).expect("open");
        assert!(missing.files().is_empty());
        assert!(all(&missing, "k").is_empty());
    }

    #[test]
    fn flush_syncs_only_written_files_and_retries_after_a_failure() {
        use crate::io::{FaultConfig, FaultyFs};
        let dir = tempfile::tempdir().expect("tempdir");
        let faults = FaultConfig::healthy();
        let fs = Arc::new(FaultyFs::new(OsFs, faults.clone()));
        let clock = ManualClock::new(T0);
        let index =
            IndexService::open_with_clock(fs, dir.path(), 16, 8, Arc::new(clock)).expect("open");
        let syncs = || faults.syncs.load(Ordering::SeqCst);
        for i in 0..10u64 {
            index
                .build_index("T", &["k"], None, i + 1, T0)
                .expect("build");
        }
        index.flush().expect("flush");
        assert_eq!(syncs(), 2, "two files written");
        index.flush().expect("flush");
        assert_eq!(syncs(), 2, "nothing new");
        index.build_index("T", &["k"], None, 11, T0).expect("build");
        faults.fail_sync.store(true, Ordering::SeqCst);
        assert!(index.flush().is_err());
        faults.fail_sync.store(false, Ordering::SeqCst);
        index.flush().expect("flush");
        assert_eq!(syncs(), 3, "the failed sync is retried");
    }

    #[test]
    fn damaged_chains_terminate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("20231114221320000");
        let file = IndexFile::create(&OsFs, &path, 16, 8, 0, 0).expect("create");
        assert!(file.put_key("a", 1, T0).expect("put"));
        assert!(file.put_key("q", 2, T0).expect("put"));
        // Point entry 1 back at entry 2: a cycle 2 -> 1 -> 2.
        let raw = OsFs.open(&path, false).expect("open");
        raw.write_all_at(&2i32.to_be_bytes(), 104 + 20 + 16)
            .expect("write");
        assert_eq!(
            file.select_phy_offsets("a", 64, 0, i64::MAX)
                .expect("select"),
            vec![1]
        );
    }

    #[test]
    fn queries_run_while_the_dispatcher_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let index = Arc::new(
            IndexService::open_with_clock(Arc::new(OsFs), dir.path(), 64, 50, Arc::new(clock))
                .expect("open"),
        );
        let writer = {
            let index = index.clone();
            std::thread::spawn(move || {
                for i in 1..=500u64 {
                    let key = format!("k{}", i % 7);
                    index
                        .build_index("T", &[key.as_str()], None, i, T0 + i as i64)
                        .expect("build");
                }
            })
        };
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let index = index.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let found = index.query("T", "k3", 64, 0, i64::MAX).expect("query");
                        assert!(found.phy_offsets.windows(2).all(|w| w[0] > w[1]));
                        assert!(found.phy_offsets.iter().all(|o| o % 7 == 3));
                    }
                })
            })
            .collect();
        writer.join().expect("writer");
        for reader in readers {
            reader.join().expect("reader");
        }
        index.flush().expect("flush");
        let found = index.query("T", "k3", 64, 0, i64::MAX).expect("query");
        assert_eq!(found.phy_offsets.len(), 64);
        assert_eq!(found.phy_offsets[0], 500);
    }

    /// The dispatcher's batched writes leave byte for byte the files that one
    /// `build_index` per message leaves, across hash collisions, rolls to new files and
    /// a re-dispatch of keys already indexed.
    #[test]
    fn a_batch_writes_what_one_call_per_message_writes() {
        let messages: Vec<(Vec<String>, Option<String>, u64, i64)> = (0..40u64)
            .map(|i| {
                let keys = (0..i % 3).map(|k| format!("k{}", (i + k) % 7)).collect();
                let unique = (i % 4 != 0).then(|| format!("U{i}"));
                (keys, unique, 100 * (i + 1), T0 + i as i64 * 700)
            })
            .collect();
        let one_by_one = tempfile::tempdir().expect("tempdir");
        let batched = tempfile::tempdir().expect("tempdir");
        let clock_a = ManualClock::new(T0);
        let clock_b = ManualClock::new(T0);
        let a = sized_service(one_by_one.path(), &clock_a, 4, 16);
        let b = sized_service(batched.path(), &clock_b, 4, 16);
        for (keys, unique, phy, ts) in &messages {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            a.build_index("T", &keys, unique.as_deref(), *phy, *ts)
                .expect("one by one");
        }
        // The same messages in two batches, the second repeating the first's tail.
        for range in [0..25, 20..40] {
            let mut batch = Vec::new();
            for (keys, unique, phy, ts) in &messages[range] {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                push_message_keys(&mut batch, "T", &keys, unique.as_deref(), *phy, *ts);
            }
            b.build_index_batch(batch).expect("batched");
        }
        let contents = |service: &IndexService| -> Vec<Vec<u8>> {
            service
                .files()
                .iter()
                .map(|f| std::fs::read(&f.path).expect("read index file"))
                .collect()
        };
        let (files_a, files_b) = (contents(&a), contents(&b));
        assert!(files_a.len() > 2, "the test rolls files");
        assert_eq!(files_a, files_b);
    }
}
