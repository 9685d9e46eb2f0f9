//! The crash-recovery ladder (reliability ladder, step 2): byte surgery on a stopped
//! store, failure points inside multi-file operations, and a failed fsync, each followed
//! by a reopen that must keep the recovery contract of `src/recovery.rs`:
//!
//! * damage below the checkpoint's `flushedOffset` → the store refuses to start with
//!   `StoreError::Corrupt` naming the file and offset;
//! * damage at or after it → the torn tail is cut off at the first bad record, unless a
//!   CRC-valid record follows it (interior damage → `Corrupt`).
//!
//! After every successful reopen: each record before the cut is served by `get()` in
//! order and CRC-valid, nothing from the cut on is served, every ConsumeQueue ends at
//! the number of valid records (never past the CommitLog), and a new put lands right at
//! the recovered end and reads back. Records carry the `__CRC32#` property the store
//! appends by default (`enabledAppendPropCRC`), and served records are checked against
//! it as well as against the body CRC.
//!
//! Failure points are process-global: the tests that arm them take [`FAILPOINTS`]
//! exclusively, every other test takes it shared.
//!
//! Random choices come from a seeded generator; the seed is printed and can be replayed
//! with `SOYUZ_LADDER_SEED=<seed>`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use bytes::Bytes;
use soyuz_model::record::{
    body_length_offset, decode_record, verify_properties_crc, DecodedRecord, MessageRecord,
    PROPERTY_CRC32_LEN,
};
use soyuz_model::SystemClock;
use soyuz_store::checkpoint::StoreFiles;
use soyuz_store::io::{FaultConfig, FaultyFs, OsFs};
use soyuz_store::recovery::Recovered;
use soyuz_store::{
    DefaultMessageStore, FlushDiskType, GetRequest, GetStatus, MessageStore, MessageStoreConfig,
    PutStatus, StoreError, TagFilter,
};
use tempfile::TempDir;

/// CommitLog segment size.
const SEGMENT: u64 = 64 * 1024;
/// ConsumeQueue file size (100 units).
const CQ_FILE: u64 = 2000;
/// The queues messages go to, round robin.
const QUEUES: [(&str, i32); 4] = [
    ("LadderTopicA", 0),
    ("LadderTopicA", 1),
    ("LadderTopicB", 0),
    ("LadderTopicB", 3),
];

/// Failure points are process-global: arming one must not break another test's puts.
static FAILPOINTS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    FAILPOINTS.read().unwrap_or_else(PoisonError::into_inner)
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    FAILPOINTS.write().unwrap_or_else(PoisonError::into_inner)
}

fn config(root: &Path) -> MessageStoreConfig {
    let mut config = MessageStoreConfig::with_root(root);
    // About the store, not this machine's disk: refusing writes at 90% full is tested
    // with an injected disk use (smoke.rs); CI disks have been seen 95% full.
    config.disk_space_warning_level_ratio = 99;
    config.disk_space_clean_forcibly_ratio = 99;
    config.mapped_file_size_commit_log = SEGMENT;
    config.mapped_file_size_consume_queue = CQ_FILE;
    config.max_message_size = 16 * 1024;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    // Retention runs only when a test asks for it.
    config.clean_resource_interval = 3_600_000;
    config
}

/// SplitMix64: small, seedable, good enough to pick cut points and garbage.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn seeded(test: &str) -> Rng {
    let seed = std::env::var("SOYUZ_LADDER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x5eed, |d| d.as_nanos() as u64)
        });
    println!("{test}: seed {seed} (replay with SOYUZ_LADDER_SEED={seed})");
    Rng(seed)
}

// ---------------------------------------------------------------------------------------
// Messages

/// A message the test stored, and where the store put it.
#[derive(Debug, Clone)]
struct Written {
    /// Index into [`QUEUES`].
    queue: usize,
    body: Vec<u8>,
    /// The properties as sent; the store appends its `__CRC32#` property.
    properties: String,
    offset: u64,
    size: u64,
    queue_offset: i64,
}

impl Written {
    fn end(&self) -> u64 {
        self.offset + self.size
    }

    /// Whether the byte at `at` (within the record) belongs to the markers of the
    /// `__CRC32#` property (its key and delimiters, not its digits): damage there turns
    /// the whole-record check off instead of failing it.
    fn in_crc_property_marker(&self, at: u64) -> bool {
        let tail = self.size - PROPERTY_CRC32_LEN as u64;
        (at >= tail && at < tail + 9) || at == self.size - 1
    }
}

fn body(i: usize, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut body = format!("body-{i:06}-");
    while body.len() < len {
        body.push(ALPHABET[(i * 7 + body.len()) % ALPHABET.len()] as char);
    }
    body
}

fn record(queue: usize, body: &str, key: &str) -> MessageRecord {
    let host: SocketAddr = "127.0.0.1:10911".parse().expect("addr");
    let (topic, queue_id) = QUEUES[queue];
    MessageRecord {
        topic: topic.into(),
        queue_id,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: host,
        store_timestamp: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body.to_owned()),
        properties: format!("TAGS\u{1}TagA\u{2}KEYS\u{1}{key}\u{2}"),
    }
}

/// The stored length of `message`: the store appends the 20-byte `__CRC32#` property
/// (`enabledAppendPropCRC`, on by default).
fn stored_len(message: &MessageRecord) -> u64 {
    (message.encoded_len() + PROPERTY_CRC32_LEN) as u64
}

/// Puts message `i` (queue `i % 4`) with a body of `len` bytes.
fn put_one(store: &DefaultMessageStore, i: usize, len: usize) -> Result<Written, StoreError> {
    put_body(store, i, body(i, len).into_bytes())
}

/// Puts message `i` (queue `i % 4`) with the given body.
fn put_body(store: &DefaultMessageStore, i: usize, body: Vec<u8>) -> Result<Written, StoreError> {
    let queue = i % QUEUES.len();
    let mut message = record(queue, "", &format!("k-{i}"));
    message.body = Bytes::from(body.clone());
    let properties = message.properties.clone();
    let want_size = stored_len(&message);
    let put = store.put(vec![message])?;
    assert_eq!(put.status, PutStatus::PutOk, "put {i}");
    assert_eq!(put.wrote_bytes, want_size, "put {i}: stored size");
    Ok(Written {
        queue,
        body,
        properties,
        offset: put.physical_offset,
        size: put.wrote_bytes,
        queue_offset: put.queue_offset,
    })
}

/// Body length of message `i` in the default workload: 40 to 439 bytes.
fn default_len(i: usize) -> usize {
    40 + (i * 37) % 400
}

// ---------------------------------------------------------------------------------------
// Store directories and byte surgery

/// A store written and cleanly shut down, to copy for each case.
struct Pristine {
    _dir: TempDir,
    root: PathBuf,
    written: Vec<Written>,
}

impl Pristine {
    /// Writes messages with the given body lengths, then shuts down cleanly.
    fn build(lens: &[usize]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("store");
        let store = DefaultMessageStore::open(config(&root)).expect("open");
        let written: Vec<Written> = lens
            .iter()
            .enumerate()
            .map(|(i, len)| put_one(&store, i, *len).expect("put"))
            .collect();
        assert!(store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(10)));
        store.shutdown().expect("shutdown");
        drop(store);
        Self {
            _dir: dir,
            root,
            written,
        }
    }

    fn last(&self) -> &Written {
        self.written.last().expect("messages")
    }

    /// A fresh copy of the store directory.
    fn copy(&self) -> StoreCopy {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("store");
        copy_dir(&self.root, &root);
        StoreCopy { _dir: dir, root }
    }
}

/// A disposable copy of a store directory.
struct StoreCopy {
    _dir: TempDir,
    root: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn segment_path(root: &Path, offset: u64) -> PathBuf {
    root.join("commitlog")
        .join(format!("{:020}", offset - offset % SEGMENT))
}

fn open_segment(root: &Path, offset: u64) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(segment_path(root, offset))
        .expect("open segment")
}

/// Overwrites CommitLog bytes at `offset` (inside one segment).
fn write_commit_log(root: &Path, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    open_segment(root, offset)
        .write_all_at(bytes, offset % SEGMENT)
        .expect("write");
}

fn read_commit_log(root: &Path, offset: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0; len];
    open_segment(root, offset)
        .read_exact_at(&mut buf, offset % SEGMENT)
        .expect("read");
    buf
}

fn flip_bit(root: &Path, offset: u64, bit: u32) {
    let byte = read_commit_log(root, offset, 1)[0];
    write_commit_log(root, offset, &[byte ^ (1 << bit)]);
}

/// Truncates the segment holding `offset` so that it ends at `offset`.
fn truncate_commit_log_at(root: &Path, offset: u64) {
    open_segment(root, offset)
        .set_len(offset % SEGMENT)
        .expect("truncate");
}

/// Rewrites the checkpoint as if only `offset` bytes had been durable (and dispatched)
/// at the crash, and leaves the abort marker a crash leaves.
fn crash_checkpoint(root: &Path, offset: u64) {
    let files = StoreFiles::lock(Arc::new(OsFs), root).expect("lock");
    let mut checkpoint = files.read_checkpoint().expect("read checkpoint");
    checkpoint.flushed_offset = offset;
    checkpoint.dispatched_offset = offset;
    checkpoint.master_flushed_offset = offset as i64;
    files
        .write_checkpoint(&checkpoint)
        .expect("write checkpoint");
    files.create_abort_marker().expect("abort marker");
}

fn leave_abort_marker(root: &Path) {
    let files = StoreFiles::lock(Arc::new(OsFs), root).expect("lock");
    files.create_abort_marker().expect("abort marker");
}

// ---------------------------------------------------------------------------------------
// Checks

/// A message as served by `get()`.
#[derive(Debug)]
struct Served {
    topic: String,
    queue_id: i32,
    body: Vec<u8>,
    properties: String,
    queue_offset: i64,
    physical_offset: i64,
}

/// Every message of one queue from its minimum offset, CRC-checked.
fn read_queue(store: &DefaultMessageStore, queue: usize, case: &str) -> Vec<Served> {
    let (topic, queue_id) = QUEUES[queue];
    let max = store.max_offset(topic, queue_id);
    let mut offset = store.min_offset(topic, queue_id);
    let mut out = Vec::new();
    while offset < max {
        let result = store
            .get(&GetRequest {
                topic: topic.into(),
                queue_id,
                offset,
                max_count: 64,
                max_bytes: 1024 * 1024,
                filter: TagFilter::All,
            })
            .unwrap_or_else(|e| panic!("{case}: get {topic}/{queue_id}@{offset}: {e}"));
        assert_eq!(
            result.status,
            GetStatus::Found,
            "{case}: get {topic}/{queue_id}@{offset} (max {max})"
        );
        assert_eq!(result.messages.len(), result.queue_offsets.len());
        for (raw, queue_offset) in result.messages.iter().zip(&result.queue_offsets) {
            assert_ne!(
                verify_properties_crc(raw),
                Some(false),
                "{case}: {topic}/{queue_id}@{queue_offset}: whole-record CRC"
            );
            match decode_record(raw, true) {
                Ok(DecodedRecord::Message(record, _)) => out.push(Served {
                    topic: record.topic,
                    queue_id: record.queue_id,
                    body: record.body.to_vec(),
                    properties: record.properties,
                    queue_offset: *queue_offset,
                    physical_offset: record.physical_offset,
                }),
                other => panic!(
                    "{case}: {topic}/{queue_id}@{queue_offset} is not a valid record: {other:?}"
                ),
            }
        }
        assert!(
            result.next_begin_offset > offset,
            "{case}: get made no progress"
        );
        offset = result.next_begin_offset;
    }
    out
}

fn assert_served(served: &Served, want: &Written, case: &str) {
    let (topic, queue_id) = QUEUES[want.queue];
    let what = format!("{case}: message at CommitLog offset {}", want.offset);
    assert_eq!(served.topic, topic, "{what}: topic");
    assert_eq!(served.queue_id, queue_id, "{what}: queue id");
    assert_eq!(served.body, want.body, "{what}: body");
    let crc_property = served
        .properties
        .strip_prefix(want.properties.as_str())
        .unwrap_or_else(|| panic!("{what}: properties {:?}", served.properties));
    assert!(
        crc_property.is_empty()
            || (crc_property.len() == PROPERTY_CRC32_LEN && crc_property.starts_with("__CRC32#")),
        "{what}: properties end with {crc_property:?}"
    );
    assert_eq!(
        served.queue_offset, want.queue_offset,
        "{what}: queue offset"
    );
    assert_eq!(served.physical_offset as u64, want.offset, "{what}: offset");
}

/// Every queue serves exactly `expected` (in order) and ends right after it.
fn check_exact(store: &DefaultMessageStore, expected: &[Written], case: &str) {
    for (queue, &(topic, queue_id)) in QUEUES.iter().enumerate() {
        let want: Vec<&Written> = expected.iter().filter(|w| w.queue == queue).collect();
        assert_eq!(
            store.max_offset(topic, queue_id),
            want.len() as i64,
            "{case}: ConsumeQueue {topic}/{queue_id} must end at the valid records"
        );
        let served = read_queue(store, queue, case);
        assert_eq!(served.len(), want.len(), "{case}: {topic}/{queue_id} count");
        for (served, want) in served.iter().zip(want) {
            assert_served(served, want, case);
        }
    }
}

/// Where a record of `len` bytes appended at `end` lands.
fn landing(end: u64, len: u64) -> u64 {
    let room = SEGMENT - end % SEGMENT;
    if len + 8 > room {
        end + room
    } else {
        end
    }
}

/// A new put lands at the recovered end (or the next segment if it does not fit) and
/// reads back.
fn check_new_put(store: &DefaultMessageStore, end: u64, case: &str) {
    let queue = 1;
    let (topic, queue_id) = QUEUES[queue];
    let next_queue_offset = store.max_offset(topic, queue_id);
    let message = record(queue, "after-recovery", "k-after");
    let want_at = landing(end, stored_len(&message));
    let put = store
        .put(vec![message])
        .unwrap_or_else(|e| panic!("{case}: put after recovery: {e}"));
    assert_eq!(put.status, PutStatus::PutOk, "{case}");
    assert_eq!(
        put.physical_offset, want_at,
        "{case}: new put lands at the end"
    );
    assert_eq!(
        put.queue_offset, next_queue_offset,
        "{case}: new queue offset"
    );
    assert!(
        store.wait_dispatched(
            put.physical_offset + put.wrote_bytes,
            Duration::from_secs(10)
        ),
        "{case}: dispatch of the new put"
    );
    let result = store
        .get(&GetRequest {
            topic: topic.into(),
            queue_id,
            offset: next_queue_offset,
            max_count: 1,
            max_bytes: 1024 * 1024,
            filter: TagFilter::All,
        })
        .expect("get");
    assert_eq!(result.status, GetStatus::Found, "{case}: read the new put");
    match decode_record(&result.messages[0], true) {
        Ok(DecodedRecord::Message(record, _)) => {
            assert_eq!(&record.body[..], b"after-recovery", "{case}");
            assert_eq!(record.physical_offset as u64, want_at, "{case}");
        }
        other => panic!("{case}: new put reads back as {other:?}"),
    }
}

fn open_store(root: &Path, case: &str) -> DefaultMessageStore {
    match DefaultMessageStore::open(config(root)) {
        Ok(store) => store,
        Err(e) => panic!("{case}: reopen failed: {e}"),
    }
}

/// Reopens and checks that exactly `written[..valid]` survived, the CommitLog ending at
/// `end`, and that the store takes new puts there.
fn reopen_and_verify(root: &Path, written: &[Written], valid: usize, case: &str) -> Recovered {
    let end = if valid == 0 {
        0
    } else {
        written[valid - 1].end()
    };
    let store = open_store(root, case);
    let recovered = store.recovered();
    // A cut at a segment's first record leaves the end at the previous segment's end.
    let cut_end = written.get(valid).map_or(end, |w| w.offset);
    assert!(
        recovered.end == end || recovered.end == cut_end,
        "{case}: recovered end {} (valid data ends at {end})",
        recovered.end
    );
    assert_eq!(store.commit_log_max_offset(), recovered.end, "{case}");
    check_exact(&store, &written[..valid], case);
    if let Some(first_bad) = written.get(valid) {
        assert!(
            store
                .message_at(first_bad.offset)
                .expect("message_at")
                .is_none(),
            "{case}: the cut record at {} is still served",
            first_bad.offset
        );
    }
    check_new_put(&store, recovered.end, case);
    store.shutdown().expect("shutdown");
    recovered
}

/// Reopening must fail with `Corrupt` whose message contains every one of `needles`.
fn expect_corrupt(root: &Path, needles: &[&str], case: &str) -> String {
    match DefaultMessageStore::open(config(root)) {
        Ok(store) => {
            let recovered = store.recovered();
            drop(store);
            panic!("{case}: opened (recovered {recovered:?}) but must refuse with Corrupt");
        }
        Err(StoreError::Corrupt { file, detail }) => {
            let message = format!("{}: {detail}", file.display());
            for needle in needles {
                assert!(
                    message.contains(needle),
                    "{case}: Corrupt error {message:?} does not mention {needle:?}"
                );
            }
            message
        }
        Err(other) => panic!("{case}: expected Corrupt, got {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Torn tails

fn truncation_workload() -> Pristine {
    // ~4 segments; the last record is mid-segment.
    let lens: Vec<usize> = (0..700).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    let last = pristine.last();
    assert!(
        !last.offset.is_multiple_of(SEGMENT),
        "the last record is mid-segment"
    );
    assert!(pristine.written.len() > 3 && last.offset > 3 * SEGMENT);
    pristine
}

/// Cuts the last segment file at `cut` bytes into the last record (the checkpoint says
/// the last record was not durable yet) and checks recovery.
fn check_truncation(pristine: &Pristine, cut: u64) {
    let last = pristine.last();
    let copy = pristine.copy();
    truncate_commit_log_at(&copy.root, last.offset + cut);
    crash_checkpoint(&copy.root, last.offset);
    let case = format!("truncated {cut} bytes into the last record");
    let recovered = reopen_and_verify(
        &copy.root,
        &pristine.written,
        pristine.written.len() - 1,
        &case,
    );
    assert_eq!(recovered.end, last.offset, "{case}");
}

#[test]
fn truncating_the_last_record_at_every_byte_cuts_it() {
    let _guard = shared();
    let pristine = truncation_workload();
    let last = pristine.last();
    let started = std::time::Instant::now();
    for cut in 0..last.size {
        check_truncation(&pristine, cut);
    }
    println!(
        "truncation: {} cut points in the last record, {:?}",
        last.size,
        started.elapsed()
    );
}

#[test]
fn truncating_at_a_segment_start_cuts_back_to_the_previous_segment() {
    let _guard = shared();
    // Write until a record starts a new segment, then cut the file inside that record.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = DefaultMessageStore::open(config(&root)).expect("open");
    let mut written = Vec::new();
    let mut i = 0;
    loop {
        let w = put_one(&store, i, default_len(i)).expect("put");
        i += 1;
        let starts_segment = w.offset.is_multiple_of(SEGMENT) && w.offset > 0;
        written.push(w);
        if starts_segment {
            break;
        }
    }
    store.shutdown().expect("shutdown");
    drop(store);
    let pristine = Pristine {
        _dir: dir,
        root,
        written,
    };
    let last = pristine.last();
    for cut in [0, 1, 4, 8, 20, last.size / 2, last.size - 1] {
        let copy = pristine.copy();
        truncate_commit_log_at(&copy.root, last.offset + cut);
        crash_checkpoint(&copy.root, last.offset);
        let case = format!("segment-start record truncated at {cut}");
        let recovered = reopen_and_verify(
            &copy.root,
            &pristine.written,
            pristine.written.len() - 1,
            &case,
        );
        assert_eq!(
            recovered.end, last.offset,
            "{case}: the BLANK keeps the segment end"
        );
    }
}

#[test]
fn torn_record_with_a_record_inside_its_body_is_a_torn_tail() {
    let _guard = shared();
    // A producer may send any bytes, including a whole CommitLog record as a body.
    let mut inner = record(2, "an embedded record", "k-inner");
    inner.physical_offset = 4096;
    let mut payload = b"payload before ".to_vec();
    payload.extend_from_slice(&inner.encode());
    payload.extend_from_slice(b" and 200 bytes of payload after it ");
    payload.resize(payload.len() + 165, b'.');
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = DefaultMessageStore::open(config(&root)).expect("open");
    let mut written: Vec<Written> = (0..200)
        .map(|i| put_one(&store, i, default_len(i)).expect("put"))
        .collect();
    written.push(put_body(&store, written.len(), payload).expect("put"));
    store.shutdown().expect("shutdown");
    drop(store);
    let pristine = Pristine {
        _dir: dir,
        root,
        written,
    };
    let last = pristine.last();
    // Torn after the embedded record, before the end of the outer one.
    for cut in [last.size - 150, last.size - 30, last.size - 1] {
        let copy = pristine.copy();
        truncate_commit_log_at(&copy.root, last.offset + cut);
        crash_checkpoint(&copy.root, last.offset);
        let case = format!("record with an embedded record, torn at {cut}");
        let recovered = reopen_and_verify(
            &copy.root,
            &pristine.written,
            pristine.written.len() - 1,
            &case,
        );
        assert_eq!(recovered.end, last.offset, "{case}");
    }
}

#[test]
fn random_bytes_after_the_last_record_are_cut_off() {
    let _guard = shared();
    let mut rng = seeded("random_bytes_after_the_last_record_are_cut_off");
    let lens: Vec<usize> = (0..400).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    let end = pristine.last().end();
    let room = SEGMENT - end % SEGMENT;
    for round in 0..24 {
        let copy = pristine.copy();
        let len = 1 + rng.below(1024.min(room)) as usize;
        let mut garbage: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Make sure the first word cannot read as the zero end marker.
        garbage[0] |= 1;
        write_commit_log(&copy.root, end, &garbage);
        match round % 3 {
            // The checkpoint of the clean shutdown, plus the crash marker.
            0 => leave_abort_marker(&copy.root),
            // The last record not yet durable either.
            1 => crash_checkpoint(&copy.root, pristine.last().offset),
            // Checkpoint as it was at the clean shutdown, no marker.
            _ => {}
        }
        let case = format!("round {round}: {len} random bytes after the end");
        let recovered = reopen_and_verify(&copy.root, &pristine.written, lens.len(), &case);
        assert_eq!(recovered.end, end, "{case}");
        assert!(recovered.torn_tail, "{case}: garbage is a torn tail");
    }
}

#[test]
fn zero_fill_after_the_write_position_is_a_no_op() {
    let _guard = shared();
    let lens: Vec<usize> = (0..400).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    let end = pristine.last().end();
    let room = SEGMENT - end % SEGMENT;
    for (label, len) in [("4 KiB", 4096.min(room)), ("rest of segment", room)] {
        let copy = pristine.copy();
        write_commit_log(&copy.root, end, &vec![0; len as usize]);
        crash_checkpoint(&copy.root, pristine.last().offset);
        let case = format!("zero fill {label} after the end");
        let recovered = reopen_and_verify(&copy.root, &pristine.written, lens.len(), &case);
        assert_eq!(recovered.end, end, "{case}");
        assert!(!recovered.torn_tail, "{case}: zeros are the normal end");
    }
}

// ---------------------------------------------------------------------------------------
// Bit flips in the last KiB

/// A workload whose last record is longer than 1 KiB, so the last KiB of the CommitLog
/// lies inside it.
fn bit_flip_workload() -> Pristine {
    let mut lens: Vec<usize> = (0..300).map(default_len).collect();
    lens.push(1500);
    let pristine = Pristine::build(&lens);
    let last = pristine.last();
    assert!(last.size > 1024);
    assert_eq!(
        (last.end() - 1024) / SEGMENT,
        last.offset / SEGMENT,
        "the last KiB is in the last segment"
    );
    pristine
}

/// Positions (CommitLog offsets) in the last KiB with a random bit for each, leaving out
/// the markers of the `__CRC32#` property (see
/// `bit_flip_in_the_crc_property_markers_is_seen_by_recovery`).
fn flip_positions(pristine: &Pristine, rng: &mut Rng) -> Vec<(u64, u32)> {
    let last = pristine.last();
    (last.end() - 1024..last.end())
        .map(|at| (at, rng.below(8) as u32))
        .filter(|(at, _)| !last.in_crc_property_marker(at - last.offset))
        .collect()
}

/// Every `stride`-th entry from a random start, plus the last, to keep the run short
/// (different seeds cover different bytes).
fn sample<T: Clone>(items: &[T], stride: usize, rng: &mut Rng) -> Vec<T> {
    let phase = rng.below(stride as u64) as usize;
    let mut out: Vec<T> = items.iter().skip(phase).step_by(stride).cloned().collect();
    if let Some(last) = items.last() {
        out.push(last.clone());
    }
    out
}

fn check_flip_not_durable(pristine: &Pristine, at: u64, bit: u32) {
    let last = pristine.last();
    let copy = pristine.copy();
    flip_bit(&copy.root, at, bit);
    crash_checkpoint(&copy.root, last.offset);
    let case = format!(
        "bit {bit} of byte {} of the last record flipped, not durable",
        at - last.offset
    );
    let recovered = reopen_and_verify(
        &copy.root,
        &pristine.written,
        pristine.written.len() - 1,
        &case,
    );
    assert_eq!(recovered.end, last.offset, "{case}");
    assert!(recovered.torn_tail, "{case}");
}

fn check_flip_durable(pristine: &Pristine, at: u64, bit: u32) {
    let last = pristine.last();
    let copy = pristine.copy();
    flip_bit(&copy.root, at, bit);
    let case = format!(
        "bit {bit} of byte {} of the last record flipped, durable",
        at - last.offset
    );
    let segment = format!("{:020}", last.offset - last.offset % SEGMENT);
    expect_corrupt(&copy.root, &[&last.offset.to_string(), &segment], &case);
    // With the crash marker too.
    leave_abort_marker(&copy.root);
    expect_corrupt(&copy.root, &[&last.offset.to_string(), &segment], &case);
}

#[test]
fn bit_flip_in_the_last_kib_not_durable_cuts_the_damaged_record() {
    let _guard = shared();
    let mut rng = seeded("bit_flip_in_the_last_kib_not_durable_cuts_the_damaged_record");
    let pristine = bit_flip_workload();
    let positions = flip_positions(&pristine, &mut rng);
    let picked = sample(&positions, 4, &mut rng);
    for (at, bit) in &picked {
        check_flip_not_durable(&pristine, *at, *bit);
    }
    println!("not durable: {} bit flips cut", picked.len());
}

#[test]
fn bit_flip_in_the_last_kib_durable_refuses_to_start() {
    let _guard = shared();
    let mut rng = seeded("bit_flip_in_the_last_kib_durable_refuses_to_start");
    let pristine = bit_flip_workload();
    let positions = flip_positions(&pristine, &mut rng);
    let picked = sample(&positions, 4, &mut rng);
    for (at, bit) in &picked {
        check_flip_durable(&pristine, *at, *bit);
    }
    println!("durable: {} bit flips refused", picked.len());
}

#[test]
fn bit_flip_in_the_crc_property_markers_is_seen_by_recovery() {
    let _guard = shared();
    let pristine = bit_flip_workload();
    let last = pristine.last();
    let mut missed = Vec::new();
    for rel in (0..last.size).filter(|rel| last.in_crc_property_marker(*rel)) {
        for bit in 0..8 {
            for durable in [false, true] {
                let copy = pristine.copy();
                flip_bit(&copy.root, last.offset + rel, bit);
                if !durable {
                    crash_checkpoint(&copy.root, last.offset);
                }
                // Not durable: the record must be cut; durable: the open must fail.
                if let Ok(store) = DefaultMessageStore::open(config(&copy.root)) {
                    let end = store.recovered().end;
                    if durable || end != last.offset {
                        missed.push(format!(
                            "byte {rel} bit {bit} ({}): opened, end {end}",
                            if durable { "durable" } else { "not durable" }
                        ));
                    }
                    store.shutdown().expect("shutdown");
                }
            }
        }
    }
    assert!(
        missed.is_empty(),
        "{} flips in the last record recovery did not see: {missed:#?}",
        missed.len()
    );
}

// ---------------------------------------------------------------------------------------
// Checkpoint and abort marker

#[test]
fn missing_or_zeroed_checkpoint_rescans_everything() {
    let _guard = shared();
    let lens: Vec<usize> = (0..500).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    // Deleted.
    let copy = pristine.copy();
    std::fs::remove_file(copy.root.join("checkpoint")).expect("rm checkpoint");
    leave_abort_marker(&copy.root);
    let recovered = reopen_and_verify(
        &copy.root,
        &pristine.written,
        lens.len(),
        "deleted checkpoint",
    );
    assert_eq!(
        recovered.scan_start, 0,
        "a missing checkpoint scans from the start"
    );
    assert!(!recovered.torn_tail);
    // All zeros.
    let copy = pristine.copy();
    std::fs::write(copy.root.join("checkpoint"), vec![0u8; 4096]).expect("zero checkpoint");
    leave_abort_marker(&copy.root);
    let recovered = reopen_and_verify(
        &copy.root,
        &pristine.written,
        lens.len(),
        "zeroed checkpoint",
    );
    assert_eq!(recovered.scan_start, 0);
    // Deleted, and no abort marker either.
    let copy = pristine.copy();
    std::fs::remove_file(copy.root.join("checkpoint")).expect("rm checkpoint");
    reopen_and_verify(
        &copy.root,
        &pristine.written,
        lens.len(),
        "deleted checkpoint, no marker",
    );
}

#[test]
fn stale_checkpoint_recovers_everything() {
    let _guard = shared();
    let lens: Vec<usize> = (0..500).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    for at in [0, lens.len() / 4, lens.len() / 2, lens.len() - 2] {
        let stale = pristine.written[at].offset;
        let copy = pristine.copy();
        crash_checkpoint(&copy.root, stale);
        let case = format!("checkpoint at message {at} (offset {stale})");
        let recovered = reopen_and_verify(&copy.root, &pristine.written, lens.len(), &case);
        assert_eq!(recovered.scan_start, stale - stale % SEGMENT, "{case}");
        assert!(!recovered.torn_tail, "{case}");
    }
}

#[test]
fn leftover_abort_marker_after_a_clean_shutdown_changes_nothing() {
    let _guard = shared();
    let lens: Vec<usize> = (0..500).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    let copy = pristine.copy();
    leave_abort_marker(&copy.root);
    let recovered = reopen_and_verify(&copy.root, &pristine.written, lens.len(), "abort marker");
    assert!(!recovered.torn_tail);
    assert_eq!(recovered.end, pristine.last().end());
    // The clean shutdown after that removed the marker again.
    assert!(!copy.root.join("abort").exists());
}

// ---------------------------------------------------------------------------------------
// Interior damage

/// Byte surgery on a store directory.
type Damage<'a> = Box<dyn Fn(&Path) + 'a>;

#[test]
fn interior_damage_with_valid_records_after_it_is_refused() {
    let _guard = shared();
    let lens: Vec<usize> = (0..700).map(default_len).collect();
    let pristine = Pristine::build(&lens);
    let written = &pristine.written;
    let last_segment = pristine.last().offset - pristine.last().offset % SEGMENT;
    // A record in the middle of the last segment, and one in an earlier segment.
    let in_last = written
        .iter()
        .position(|w| w.offset > last_segment + 200)
        .expect("a record in the last segment")
        + 3;
    assert!(in_last + 5 < written.len());
    let in_earlier = written
        .iter()
        .position(|w| w.offset > SEGMENT + SEGMENT / 2)
        .expect("a record in the second segment");
    for &victim in &[in_last, in_earlier] {
        let target = &written[victim];
        let body_at = target.offset + body_length_offset(0) as u64 + 4 + 3;
        let cases: [(&str, Damage); 4] = [
            (
                "body bit flip",
                Box::new(move |root| flip_bit(root, body_at, 2)),
            ),
            (
                "queue id bit flip",
                Box::new(move |root| flip_bit(root, target.offset + 15, 1)),
            ),
            (
                "magic bit flip",
                Box::new(move |root| flip_bit(root, target.offset + 5, 0)),
            ),
            (
                "record zeroed",
                Box::new(move |root| {
                    write_commit_log(root, target.offset, &vec![0; target.size as usize])
                }),
            ),
        ];
        for (label, damage) in &cases {
            let case = format!("{label} at message {victim} (offset {})", target.offset);
            // Not durable: the checkpoint is at the damaged record, or a bit before it.
            for checkpoint_at in [target.offset, written[victim - 2].offset] {
                let copy = pristine.copy();
                damage(&copy.root);
                crash_checkpoint(&copy.root, checkpoint_at);
                expect_corrupt(
                    &copy.root,
                    &["interior", &target.offset.to_string()],
                    &format!("{case}, checkpoint at {checkpoint_at}"),
                );
            }
            // Durable: refused as damage to acknowledged data when the scan reaches it.
            let copy = pristine.copy();
            damage(&copy.root);
            crash_checkpoint(&copy.root, written[victim - 1].offset);
            let files = StoreFiles::lock(Arc::new(OsFs), &copy.root).expect("lock");
            let mut checkpoint = files.read_checkpoint().expect("read");
            checkpoint.flushed_offset = pristine.last().end();
            files.write_checkpoint(&checkpoint).expect("write");
            drop(files);
            expect_corrupt(
                &copy.root,
                &[&target.offset.to_string()],
                &format!("{case}, durable"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Failure points

/// Puts until the next message would roll the CommitLog to a new segment.
fn fill_to_roll(store: &DefaultMessageStore, written: &mut Vec<Written>, segments: u64) {
    loop {
        let i = written.len();
        let len = default_len(i);
        let next = record(i % QUEUES.len(), &body(i, len), &format!("k-{i}"));
        let at = written.last().map_or(0, Written::end);
        if at >= (segments - 1) * SEGMENT && landing(at, stored_len(&next)) != at {
            return;
        }
        written.push(put_one(store, i, len).expect("put"));
    }
}

/// Arms `name`, puts until a put fails, disarms, crashes, reopens, and checks that every
/// acknowledged put is there and the store takes new ones.
fn crash_at_roll(name: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = DefaultMessageStore::open(config(&root)).expect("open");
    let mut acked = Vec::new();
    fill_to_roll(&store, &mut acked, 2);
    fail::cfg(name, "return").expect("arm failpoint");
    let mut failed = None;
    for _ in 0..20 {
        let i = acked.len();
        match put_one(&store, i, default_len(i)) {
            Ok(w) => acked.push(w),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    fail::remove(name);
    let Some(error) = failed else {
        store.simulate_crash();
        return Err(format!(
            "failpoint {name} never fired across a segment roll"
        ));
    };
    println!("{name}: put {} failed: {error}", acked.len());
    // Nothing more is acknowledged after the failure.
    let i = acked.len() + 1;
    assert!(
        put_one(&store, i, default_len(i)).is_err(),
        "{name}: a put after the failure was acknowledged"
    );
    store.simulate_crash();
    let case = format!("crash at {name}");
    let store = open_store(&root, &case);
    let recovered = store.recovered();
    check_exact(&store, &acked, &case);
    check_new_put(&store, recovered.end, &case);
    store.shutdown().expect("shutdown");
    drop(store);
    // And once more after the clean shutdown.
    let store = open_store(&root, &case);
    assert!(!store.recovered().torn_tail);
    assert_eq!(
        read_queue(&store, 1, &case).last().map(|s| s.body.clone()),
        Some(b"after-recovery".to_vec()),
        "{case}"
    );
    store.shutdown().expect("shutdown");
    Ok(())
}

fn crash_in_retention() {
    let name = "retention::after_segment_delete";
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = DefaultMessageStore::open(config(&root)).expect("open");
    let mut written = Vec::new();
    fill_to_roll(&store, &mut written, 5);
    assert!(store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(10)));
    fail::cfg(name, "return").expect("arm failpoint");
    let now = soyuz_model::Clock::now_millis(&SystemClock);
    let result = store.clean_expired_files(now, true);
    fail::remove(name);
    assert!(result.is_err(), "{name}: retention must report the failure");
    let min_before = store.commit_log_min_offset();
    store.simulate_crash();
    let case = format!("crash at {name}");
    let store = open_store(&root, &case);
    let min = store.commit_log_min_offset();
    assert_eq!(
        min_before, SEGMENT,
        "{case}: one segment deleted before the failure"
    );
    assert_eq!(min, SEGMENT, "{case}: the CommitLog min offset moved");
    for (queue, &(topic, queue_id)) in QUEUES.iter().enumerate() {
        let all: Vec<&Written> = written.iter().filter(|w| w.queue == queue).collect();
        let first_kept = all.iter().position(|w| w.offset >= min).expect("kept");
        let queue_min = store.min_offset(topic, queue_id);
        assert_eq!(
            queue_min, first_kept as i64,
            "{case}: {topic}/{queue_id} min offset is the first message still stored"
        );
        assert_eq!(
            store.max_offset(topic, queue_id),
            all.len() as i64,
            "{case}"
        );
        for old in [0, first_kept as i64 - 1] {
            let result = store
                .get(&GetRequest {
                    topic: topic.into(),
                    queue_id,
                    offset: old,
                    max_count: 4,
                    max_bytes: 1024 * 1024,
                    filter: TagFilter::All,
                })
                .expect("get");
            assert!(
                matches!(
                    result.status,
                    GetStatus::OffsetTooSmall | GetStatus::MessageWasRemoving
                ),
                "{case}: get {topic}/{queue_id}@{old} gave {:?}",
                result.status
            );
            assert!(result.messages.is_empty(), "{case}: deleted data served");
        }
        let served = read_queue(&store, queue, &case);
        assert_eq!(served.len(), all.len() - first_kept, "{case}");
        for (served, want) in served.iter().zip(&all[first_kept..]) {
            assert_served(served, want, &case);
        }
    }
    check_new_put(&store, store.recovered().end, &case);
    store.shutdown().expect("shutdown");
}

#[test]
fn failure_points_in_segment_roll_and_retention() {
    let _guard = exclusive();
    let scenario = fail::FailScenario::setup();
    crash_at_roll("commit_log::roll_after_blank").expect("roll_after_blank");
    crash_in_retention();
    scenario.teardown();
}

#[test]
fn failure_points_in_segment_creation() {
    let _guard = exclusive();
    let scenario = fail::FailScenario::setup();
    let mut missing = Vec::new();
    for name in ["segment::after_create", "segment::after_set_len"] {
        if let Err(e) = crash_at_roll(name) {
            missing.push(e);
        }
    }
    scenario.teardown();
    assert!(missing.is_empty(), "{missing:?}");
}

// ---------------------------------------------------------------------------------------
// A failed fsync

fn sync_config(root: &Path) -> MessageStoreConfig {
    let mut config = config(root);
    config.flush_disk_type = FlushDiskType::Sync;
    config
}

fn open_faulty(root: &Path) -> (DefaultMessageStore, Arc<FaultConfig>) {
    let faults = FaultConfig::healthy();
    let fs = Arc::new(FaultyFs::new(OsFs, faults.clone()));
    let store =
        DefaultMessageStore::open_with(sync_config(root), fs, Arc::new(SystemClock)).expect("open");
    (store, faults)
}

#[test]
fn a_failed_fsync_poisons_the_store() {
    let _guard = shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let (store, faults) = open_faulty(&root);
    let mut acked = Vec::new();
    for i in 0..150 {
        acked.push(put_one(&store, i, default_len(i)).expect("healthy put"));
    }
    faults.fail_sync.store(true, Ordering::SeqCst);
    let i = acked.len();
    let error = put_one(&store, i, default_len(i)).expect_err("the put whose fsync fails");
    println!("fsync failure: {error}");
    // The disk is fine again, but nothing more is acknowledged.
    faults.fail_sync.store(false, Ordering::SeqCst);
    for i in acked.len() + 1..acked.len() + 40 {
        assert!(
            put_one(&store, i, default_len(i)).is_err(),
            "put {i} acknowledged after a failed fsync"
        );
    }
    store.simulate_crash();
    let store = open_store(&root, "after a failed fsync");
    // The unacknowledged put may be there (its bytes reached the page cache); every
    // acknowledged one must be.
    for queue in 0..QUEUES.len() {
        let want: Vec<&Written> = acked.iter().filter(|w| w.queue == queue).collect();
        let served = read_queue(&store, queue, "after a failed fsync");
        assert!(served.len() >= want.len() && served.len() <= want.len() + 1);
        for (served, want) in served.iter().zip(want) {
            assert_served(served, want, "after a failed fsync");
        }
    }
    check_new_put(&store, store.recovered().end, "after a failed fsync");
    store.shutdown().expect("shutdown");
}

#[test]
fn a_failed_fsync_under_concurrent_puts_acknowledges_nothing_after_it() {
    let _guard = shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let (store, faults) = open_faulty(&root);
    let store = Arc::new(store);
    // Set once some put has returned an error: no put starting after that may succeed.
    let failure_seen = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            let failure_seen = failure_seen.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut errors = 0;
                for n in 0..400 {
                    let i = n * 4 + t;
                    let after_failure = failure_seen.load(Ordering::SeqCst);
                    match put_one(&store, i, default_len(i)) {
                        Ok(w) => {
                            assert!(!after_failure, "put {i} acknowledged after a failed fsync");
                            assert_eq!(errors, 0, "thread {t}: an Ok after an Err");
                            acked.push(w);
                        }
                        Err(_) => {
                            failure_seen.store(true, Ordering::SeqCst);
                            errors += 1;
                        }
                    }
                }
                acked
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.commit_log_max_offset() < 2 * SEGMENT && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    faults.fail_sync.store(true, Ordering::SeqCst);
    let acked: Vec<Written> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("put thread"))
        .collect();
    assert!(
        failure_seen.load(Ordering::SeqCst),
        "the fsync failure was seen"
    );
    let store = Arc::try_unwrap(store).unwrap_or_else(|_| panic!("store still shared"));
    store.simulate_crash();
    let case = "after a failed fsync under concurrent puts";
    let store = open_store(&root, case);
    for (queue, &(topic, queue_id)) in QUEUES.iter().enumerate() {
        let served = read_queue(&store, queue, case);
        let by_offset: std::collections::HashMap<i64, &Served> =
            served.iter().map(|s| (s.queue_offset, s)).collect();
        for want in acked.iter().filter(|w| w.queue == queue) {
            let served = by_offset.get(&want.queue_offset).unwrap_or_else(|| {
                panic!(
                    "{case}: acknowledged {topic}/{queue_id}@{} lost",
                    want.queue_offset
                )
            });
            assert_served(served, want, case);
        }
    }
    println!("{case}: {} acknowledged puts present", acked.len());
    check_new_put(&store, store.recovered().end, case);
    store.shutdown().expect("shutdown");
}
