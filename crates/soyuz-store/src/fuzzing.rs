//! Fuzz properties for crash recovery, as plain functions over arbitrary bytes.
//!
//! Shared by the cargo-fuzz target `fuzz/fuzz_targets/recovery.rs` and by the seed replay
//! test `tests/fuzz_seeds.rs`, which runs them on every seed under `fuzz/seeds/recovery/`.
//! [`recover_from_segment_bytes`](crate::fuzzing::recover_from_segment_bytes) panics
//! if, and only if, the store misbehaves on the store directory it builds from the input;
//! malformed input alone never makes it panic.
//!
//! # Input layout
//!
//! ```text
//! data[0]        flags (absent: 0)
//!   bits 0-1     checkpoint: 0 none; 1 flushed = dispatched = end of the valid prefix;
//!                2 flushed = end of the prefix, dispatched = 0; 3 explicit (below)
//!   bit 2        leave an `abort` marker (the previous run crashed)
//!   bit 3        explicit split (below); otherwise the payload fills the first segment
//!                and only what does not fit goes to the second
//!   bits 4-5     valid prefix records: 3 - value (0 -> 3 records, 3 -> none)
//! [8 bytes]      checkpoint mode 3 only: flushedOffset, dispatchedOffset as u32 BE,
//!                each taken modulo 2 * SEGMENT_SIZE + 1
//! [2 bytes]      bit 3 only: u16 BE, how many payload bytes go into the first segment
//! payload        the rest
//! ```
//!
//! The store directory: `commitlog/00000000000000000000` (64 KiB) holding the valid
//! prefix records (topic [`PREFIX_TOPIC`](crate::fuzzing::PREFIX_TOPIC), queue 0, queue
//! offsets 0, 1, 2) followed by the first part of the payload, cut to fit; if the payload
//! is split or does not fit,
//! `commitlog/00000000000000065536` holding the rest, written at its own (short) length,
//! which the store extends; the checkpoint; no ConsumeQueue or index files. It lives in
//! a fresh directory under [`std::env::temp_dir`], removed afterwards; the store sees it
//! through a file system that refuses (and reports) any path outside it and skips
//! fsyncs. Fuzzing is several times faster with the directory on tmpfs:
//! `TMPDIR=/dev/shm bash fuzz/run.sh 60 recovery`.
//!
//! The hand-written seeds were encoded for the three-record prefix ending at offset 525
//! (`tests/fuzz_seeds.rs` checks that this still holds).

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use soyuz_model::record::{
    decode_record, DecodedRecord, MessageRecord, MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2,
};
use soyuz_model::SystemClock;

use crate::api::{GetRequest, GetStatus, MessageStore, PutStatus, TagFilter};
use crate::checkpoint::{Checkpoint, StoreFiles};
use crate::config::MessageStoreConfig;
use crate::error::StoreError;
use crate::io::{OsFs, StoreFile, StoreFs};
use crate::store::DefaultMessageStore;

/// CommitLog segment size while fuzzing: small, so inputs reach the segment end.
pub const SEGMENT_SIZE: u64 = 64 * 1024;

/// Topic of the valid prefix records (queue 0).
pub const PREFIX_TOPIC: &str = "FuzzTopic";

/// Topic of the message put after recovery (queue 0).
const AFTER_TOPIC: &str = "FuzzAfterRecovery";

/// Most valid prefix records.
const MAX_PREFIX: usize = 3;

/// Most `get` calls per queue when reading a recovered queue back.
const MAX_GETS_PER_QUEUE: usize = 64;

/// The store config used while fuzzing: 64 KiB segments, 100-unit ConsumeQueue files,
/// 16 KiB messages, a tiny index.
pub fn fuzz_config(root: &Path) -> MessageStoreConfig {
    let mut config = MessageStoreConfig::with_root(root);
    // About the store, not this machine's disk: refusing writes at 90% full is tested
    // with an injected disk use (smoke.rs); CI disks have been seen 95% full.
    config.disk_space_warning_level_ratio = 99;
    config.disk_space_clean_forcibly_ratio = 99;
    config.mapped_file_size_commit_log = SEGMENT_SIZE;
    config.mapped_file_size_consume_queue = 20 * 100;
    config.max_message_size = 16 * 1024;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    config
}

fn host() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 10911))
}

/// A record as the store would write it at `physical_offset`.
pub fn record(
    topic: &str,
    queue_id: i32,
    queue_offset: i64,
    physical_offset: u64,
    body: &[u8],
) -> MessageRecord {
    MessageRecord {
        topic: topic.to_owned(),
        queue_id,
        flag: 0,
        queue_offset,
        physical_offset: physical_offset as i64,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: host(),
        store_timestamp: 1_700_000_000_001 + queue_offset,
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        properties: format!("TAGS\u{1}TagA\u{2}KEYS\u{1}k{queue_offset}\u{2}"),
    }
}

/// The encoded valid prefix records (`count` of at most 3), back to back from offset 0.
pub fn valid_prefix(count: usize) -> Vec<Vec<u8>> {
    let mut offset = 0u64;
    (0..count.min(MAX_PREFIX))
        .map(|i| {
            let body = format!("prefix message {i} {}", "p".repeat(i * 40));
            let bytes = record(PREFIX_TOPIC, 0, i as i64, offset, body.as_bytes()).encode();
            offset += bytes.len() as u64;
            bytes
        })
        .collect()
}

/// The input, taken apart (see the module docs).
struct Layout {
    prefix: Vec<Vec<u8>>,
    prefix_end: u64,
    checkpoint: Option<Checkpoint>,
    abort: bool,
    first: Vec<u8>,
    second: Option<Vec<u8>>,
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, rest) = data.split_at(n);
    *data = rest;
    head
}

fn be_u32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |acc, &b| (acc << 8) | u32::from(b))
}

impl Layout {
    fn parse(mut data: &[u8]) -> Self {
        let flags = take(&mut data, 1).first().copied().unwrap_or(0);
        let prefix = valid_prefix(MAX_PREFIX - usize::from((flags >> 4) & 3));
        let prefix_end: u64 = prefix.iter().map(|r| r.len() as u64).sum();
        let checkpoint = |flushed: u64, dispatched: u64| Checkpoint {
            flushed_offset: flushed,
            dispatched_offset: dispatched,
            master_flushed_offset: flushed as i64,
            ..Checkpoint::default()
        };
        let checkpoint = match flags & 3 {
            0 => None,
            1 => Some(checkpoint(prefix_end, prefix_end)),
            2 => Some(checkpoint(prefix_end, 0)),
            _ => {
                let explicit = take(&mut data, 8);
                let modulus = 2 * SEGMENT_SIZE + 1;
                let flushed = u64::from(be_u32(explicit.get(..4).unwrap_or(&[])));
                let dispatched = u64::from(be_u32(explicit.get(4..).unwrap_or(&[])));
                Some(checkpoint(flushed % modulus, dispatched % modulus))
            }
        };
        let split = (flags & 8 != 0).then(|| be_u32(take(&mut data, 2)) as usize);
        let room = (SEGMENT_SIZE - prefix_end) as usize;
        let (first, rest) = data.split_at(split.unwrap_or(room).min(data.len()));
        let first = &first[..first.len().min(room)];
        let second = (split.is_some() || !rest.is_empty())
            .then(|| rest[..rest.len().min(SEGMENT_SIZE as usize)].to_vec());
        Self {
            prefix,
            prefix_end,
            checkpoint,
            abort: flags & 4 != 0,
            first: first.to_vec(),
            second,
        }
    }

    /// Whether the payload is at worst a torn tail the store must cut off without
    /// refusing to start: nothing claims to be durable past the prefix, there is no
    /// second segment, and no message magic code anywhere after the prefix (so no valid
    /// record can follow the damage).
    fn only_torn_tail(&self) -> bool {
        let magics = [
            MESSAGE_MAGIC_CODE.to_be_bytes(),
            MESSAGE_MAGIC_CODE_V2.to_be_bytes(),
        ];
        self.second.is_none()
            && self
                .checkpoint
                .is_none_or(|c| c.flushed_offset <= self.prefix_end)
            && !self.first.windows(4).any(|w| magics.iter().any(|m| w == m))
    }

    fn write(&self, root: &Path, fs: Arc<JailFs>) -> io::Result<()> {
        let dir = root.join("commitlog");
        std::fs::create_dir_all(&dir)?;
        let mut segment = self.prefix.concat();
        segment.extend_from_slice(&self.first);
        segment.resize(SEGMENT_SIZE as usize, 0);
        std::fs::write(dir.join(crate::segment::segment_name(0)), &segment)?;
        if let Some(second) = &self.second {
            std::fs::write(dir.join(crate::segment::segment_name(SEGMENT_SIZE)), second)?;
        }
        let files = StoreFiles::lock(fs, root).map_err(io::Error::other)?;
        if let Some(checkpoint) = &self.checkpoint {
            files
                .write_checkpoint(checkpoint)
                .map_err(io::Error::other)?;
        }
        if self.abort {
            files.create_abort_marker().map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// A unique scratch directory, removed on drop (also when a check panics).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "soyuz-recovery-fuzz-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real file system, confined to one directory and without fsyncs.
///
/// Any access outside the root is refused and remembered: the store must never touch
/// files outside its root, whatever the CommitLog says (topic names reach paths). Syncs
/// are no-ops: recovery's logic does not depend on them, and fuzzing runs much faster.
struct JailFs {
    root: PathBuf,
    escapes: Mutex<Vec<String>>,
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl JailFs {
    fn new(root: &Path) -> Self {
        Self {
            root: normalize(root),
            escapes: Mutex::new(Vec::new()),
        }
    }

    fn check(&self, op: &str, path: &Path) -> io::Result<()> {
        if normalize(path).starts_with(&self.root) {
            return Ok(());
        }
        self.escapes
            .lock()
            .push(format!("{op} {:?}", path.as_os_str()));
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "fuzz jail: outside the store root",
        ))
    }

    fn assert_no_escape(&self) {
        let escapes = self.escapes.lock();
        assert!(
            escapes.is_empty(),
            "the store touched paths outside its root {}: {:?}",
            self.root.display(),
            *escapes
        );
    }
}

struct NoSyncFile(Arc<dyn StoreFile>);

impl StoreFile for NoSyncFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }
}

impl StoreFs for JailFs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn StoreFile>> {
        self.check("open", path)?;
        Ok(Arc::new(NoSyncFile(OsFs.open(path, create)?)))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check("remove_file", path)?;
        OsFs.remove_file(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.check("list", dir)?;
        OsFs.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.check("create_dir_all", dir)?;
        OsFs.create_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check("sync_dir", dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.check("exists", path).is_ok() && OsFs.exists(path)
    }
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.check("write_atomic", path)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.check("read", path)?;
        OsFs.read(path)
    }
    fn disk_used_percent(&self, path: &Path) -> io::Result<u32> {
        self.check("disk_used_percent", path)?;
        OsFs.disk_used_percent(path)
    }
}

fn open(root: &Path, fs: &Arc<JailFs>) -> Result<DefaultMessageStore, StoreError> {
    DefaultMessageStore::open_with(fuzz_config(root), fs.clone(), Arc::new(SystemClock))
}

/// Builds a store directory from `data` (see the module docs), opens it, and checks what
/// recovery made of it. Panics exactly when the store misbehaves:
///
/// * a panic inside the store, or an access outside the store root;
/// * `open` failing other than with [`StoreError::Corrupt`] (refusing to start), or
///   refusing a directory whose only damage is a torn tail past the durable offset;
/// * after a successful open, when recovery scanned from the start: a valid prefix
///   record missing or changed in the CommitLog, or (unless other recovered records
///   claim the prefix's queue) not read back by `get`;
/// * a recovered record that does not decode with its CRC, or a `get` returning a record
///   that does not, or that belongs to another queue;
/// * a put after recovery failing or not readable, a failing shutdown, or a reopen after
///   that clean shutdown failing, finding a torn tail, or ending elsewhere.
///
/// Returns the number of records recovered past the valid prefix (for the seed test).
pub fn recover_from_segment_bytes(data: &[u8]) -> usize {
    let layout = Layout::parse(data);
    let scratch = ScratchDir::new().expect("create a scratch directory");
    let root = scratch.0.as_path();
    let fs = Arc::new(JailFs::new(root));
    layout
        .write(root, fs.clone())
        .expect("write the store directory");
    fs.assert_no_escape();

    let opened = open(root, &fs);
    fs.assert_no_escape();
    let store = match opened {
        Ok(store) => store,
        Err(StoreError::Corrupt { file, detail }) => {
            assert!(
                !layout.only_torn_tail(),
                "refused to start over a torn tail: corrupt {}: {detail}",
                file.display()
            );
            return 0;
        }
        Err(e) => panic!("open failed with something other than Corrupt: {e}"),
    };
    let recovered = check_recovered(&store, &layout);

    // The store takes writes at the recovered end, and they read back.
    let put = store
        .put(vec![record(AFTER_TOPIC, 0, 0, 0, b"after recovery")])
        .expect("put after recovery");
    assert_eq!(put.status, PutStatus::PutOk);
    assert!(
        put.physical_offset >= store.recovered().end,
        "a put after recovery landed at {} below the recovered end {}",
        put.physical_offset,
        store.recovered().end
    );
    let written = store
        .message_at(put.physical_offset)
        .expect("read the new message")
        .expect("the new message is there");
    assert!(
        store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(10)),
        "dispatch of the new message"
    );
    let got = store
        .get(&GetRequest {
            topic: AFTER_TOPIC.to_owned(),
            queue_id: 0,
            offset: put.queue_offset,
            max_count: 1,
            max_bytes: 1 << 20,
            filter: TagFilter::All,
        })
        .expect("get the new message");
    assert_eq!(got.status, GetStatus::Found, "get the new message");
    assert_eq!(got.messages.first(), Some(&written));

    let end = store.commit_log_max_offset();
    store.shutdown().expect("clean shutdown after recovery");
    drop(store);
    fs.assert_no_escape();

    // A clean shutdown must give a clean start at the same end.
    let store = match open(root, &fs) {
        Ok(store) => store,
        Err(e) => panic!("reopen after a clean shutdown failed: {e}"),
    };
    fs.assert_no_escape();
    assert!(
        !store.recovered().torn_tail,
        "torn tail after a clean shutdown"
    );
    assert_eq!(
        store.recovered().end,
        end,
        "reopen after a clean shutdown ends elsewhere"
    );
    assert_eq!(
        store
            .message_at(put.physical_offset)
            .expect("read after reopen"),
        Some(written),
        "the message put after recovery changed across a clean restart"
    );
    store.shutdown().expect("second shutdown");
    drop(store);
    fs.assert_no_escape();
    recovered
}

/// Checks the freshly recovered store; returns how many records it holds past the prefix.
fn check_recovered(store: &DefaultMessageStore, layout: &Layout) -> usize {
    let recovered = store.recovered();
    assert_eq!(recovered.end, store.commit_log_max_offset());
    let from_start = recovered.scan_start == 0;
    if from_start {
        assert!(
            recovered.end >= layout.prefix_end,
            "recovery cut the CommitLog at {}, inside the valid prefix ending at {}",
            recovered.end,
            layout.prefix_end
        );
    }

    // Walk the recovered records: each must decode with its CRC.
    let mut records = Vec::new();
    let mut pos = recovered.scan_start;
    while pos < recovered.end {
        let raw = store
            .message_at(pos)
            .expect("read a recovered record")
            .unwrap_or_else(|| panic!("no record at recovered offset {pos}"));
        match decode_record(&raw, true) {
            Ok(DecodedRecord::Message(message, size)) => {
                assert_eq!(size, raw.len());
                records.push((pos, message, raw));
                pos += size as u64;
            }
            Ok(DecodedRecord::Blank(_)) => pos = pos - pos % SEGMENT_SIZE + SEGMENT_SIZE,
            Err(e) => panic!("recovered record at {pos} does not decode: {e}"),
        }
    }

    let mut prefix_queue_shared = false;
    if from_start {
        for (i, expected) in layout.prefix.iter().enumerate() {
            let (_, _, raw) = records
                .get(i)
                .unwrap_or_else(|| panic!("valid prefix record {i} is gone"));
            assert_eq!(
                raw.as_ref(),
                expected.as_slice(),
                "valid prefix record {i} changed"
            );
        }
        prefix_queue_shared = records
            .iter()
            .skip(layout.prefix.len())
            .any(|(_, m, _)| m.topic == PREFIX_TOPIC && m.queue_id == 0);
    }

    // Every queue those records name: whatever get returns decodes and belongs there.
    let queues: BTreeSet<(String, i32)> = records
        .iter()
        .map(|(_, m, _)| (m.topic.clone(), m.queue_id))
        .collect();
    for (topic, queue_id) in &queues {
        check_queue(store, topic, *queue_id);
    }

    if from_start && !prefix_queue_shared && !layout.prefix.is_empty() {
        let got = store
            .get(&GetRequest {
                topic: PREFIX_TOPIC.to_owned(),
                queue_id: 0,
                offset: 0,
                max_count: 32,
                max_bytes: 1 << 20,
                filter: TagFilter::All,
            })
            .expect("get the prefix");
        assert_eq!(got.status, GetStatus::Found, "get the prefix");
        let got: Vec<&[u8]> = got.messages.iter().map(|m| m.as_ref()).collect();
        let expected: Vec<&[u8]> = layout.prefix.iter().map(Vec::as_slice).collect();
        assert_eq!(got, expected, "get does not return the valid prefix");
    }
    if from_start {
        records.len() - layout.prefix.len()
    } else {
        records.len()
    }
}

/// Reads a queue from its minimum (a bounded number of gets): every message returned
/// must decode with its CRC and belong to the queue.
fn check_queue(store: &DefaultMessageStore, topic: &str, queue_id: i32) {
    let max = store.max_offset(topic, queue_id);
    let mut offset = store.min_offset(topic, queue_id);
    for _ in 0..MAX_GETS_PER_QUEUE {
        if offset >= max {
            return;
        }
        let got = store
            .get(&GetRequest {
                topic: topic.to_owned(),
                queue_id,
                offset,
                max_count: 32,
                max_bytes: 1 << 20,
                filter: TagFilter::All,
            })
            .expect("get from a recovered queue");
        for (raw, at) in got.messages.iter().zip(&got.queue_offsets) {
            match decode_record(raw, true) {
                Ok(DecodedRecord::Message(message, _)) => assert!(
                    message.topic == topic && message.queue_id == queue_id,
                    "get({topic}, {queue_id}) at {at} returned a record of {}/{}",
                    message.topic,
                    message.queue_id
                ),
                other => panic!("get({topic}, {queue_id}) at {at} returned {other:?}"),
            }
        }
        offset = got.next_begin_offset.max(offset + 1);
    }
}
