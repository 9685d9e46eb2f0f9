//! Model-based test of the file store: random sequences of puts, batches, reads, clean
//! restarts, crashes and forced retention rounds, applied to `DefaultMessageStore` and to
//! a plain model (a list of messages per topic-queue, the CommitLog end and minimum).
//! After every step the store must answer exactly as the model predicts: put results,
//! `get()` statuses, offsets and record bytes, and after retention which messages are gone.
//!
//! The model lays records out in CommitLog segments the way the CommitLog does (a record
//! that does not fit with the 8-byte end marker starts the next segment), so it predicts
//! physical offsets, and which messages a forced retention round removes: every segment
//! but the last, at most `deleteFileBatchMax` of them.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use soyuz_model::record::MessageRecord;
use soyuz_model::{java_string_hash, sys_flag, Clock, ManualClock};
use soyuz_store::io::OsFs;
use soyuz_store::{
    DefaultMessageStore, GetRequest, GetResult, GetStatus, MessageStore, MessageStoreConfig,
    PutStatus, TagFilter,
};

const T0: i64 = 1_700_000_000_000;
/// CommitLog segment size: small, so a few dozen puts span several segments.
const SEGMENT: u64 = 4 * 1024;
/// Units per ConsumeQueue file: small, so reads and retention cross file ends often.
const CQ_UNITS: u64 = 10;
const DELETE_BATCH_MAX: usize = 10;
const TOPICS: [&str; 2] = ["TopicA", "TopicB"];
const QUEUES: i32 = 3;
/// The file store's tag-filter window (`MAX_FILTER_UNITS`).
const MAX_FILTER_UNITS: usize = 800;

fn config(dir: &Path) -> MessageStoreConfig {
    let mut config = MessageStoreConfig::with_root(dir);
    // About the store, not this machine's disk: refusing writes at 90% full is tested
    // with an injected disk use (smoke.rs); CI disks have been seen 95% full.
    config.disk_space_warning_level_ratio = 99;
    config.disk_space_clean_forcibly_ratio = 99;
    // The model predicts record sizes without the `__CRC32#` property.
    config.enabled_append_prop_crc = false;
    config.mapped_file_size_commit_log = SEGMENT;
    config.mapped_file_size_consume_queue = CQ_UNITS * 20;
    config.max_message_size = 2 * 1024;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    config.delete_file_batch_max = DELETE_BATCH_MAX;
    // Retention runs only when a step asks for it.
    config.clean_resource_interval = 3_600_000;
    config
}

fn open(dir: &Path, clock: &ManualClock) -> DefaultMessageStore {
    DefaultMessageStore::open_with(config(dir), Arc::new(OsFs), Arc::new(clock.clone()))
        .expect("open")
}

fn host() -> SocketAddr {
    "127.0.0.1:10911".parse().expect("addr")
}

/// Tag choice: 0 none, 1 TagA, 2 TagB.
fn tag_name(tag: u8) -> Option<&'static str> {
    match tag {
        1 => Some("TagA"),
        2 => Some("TagB"),
        _ => None,
    }
}

fn record(
    topic: usize,
    queue: i32,
    id: u64,
    size: usize,
    tag: u8,
    prepared: bool,
) -> MessageRecord {
    let mut properties = format!("ID\u{1}{id}\u{2}");
    if let Some(tag) = tag_name(tag) {
        properties.push_str(&format!("TAGS\u{1}{tag}\u{2}"));
    }
    MessageRecord {
        topic: TOPICS[topic].into(),
        queue_id: queue,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: if prepared {
            sys_flag::TRANSACTION_PREPARED_TYPE
        } else {
            0
        },
        born_timestamp: T0,
        born_host: host(),
        store_timestamp: 0,
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![(id % 251) as u8; size]),
        properties,
    }
}

/// One message of a put.
#[derive(Debug, Clone)]
struct NewMsg {
    size: usize,
    tag: u8,
    prepared: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        topic: usize,
        queue: i32,
        messages: Vec<NewMsg>,
    },
    Get {
        topic: usize,
        queue: i32,
        /// Picks the offset in `-1..=max + 2`.
        offset_pick: u32,
        max_count: usize,
        max_bytes: usize,
        only_tag_a: bool,
    },
    Reboot,
    Crash,
    Retention,
}

/// A message as the store must hold it, with everything the store fills in.
#[derive(Debug, Clone)]
struct Stored {
    record: MessageRecord,
    size: usize,
    tags_code: i64,
}

type QueueKey = (usize, i32);

#[derive(Default)]
struct Model {
    /// Visible messages per queue, index = queue offset.
    queues: BTreeMap<QueueKey, Vec<Stored>>,
    /// Smallest readable queue offset per queue.
    mins: BTreeMap<QueueKey, i64>,
    /// The CommitLog end.
    position: u64,
    /// The CommitLog minimum.
    commit_log_min: u64,
}

impl Model {
    /// Where a record of `len` bytes lands, moving the end past it.
    fn append(&mut self, len: u64) -> u64 {
        let room = SEGMENT - self.position % SEGMENT;
        if len + 8 > room {
            self.position += room;
        }
        let at = self.position;
        self.position += len;
        at
    }

    fn min_max(&self, key: QueueKey) -> Option<(i64, i64)> {
        let queue = self.queues.get(&key)?;
        Some((
            self.mins.get(&key).copied().unwrap_or(0),
            queue.len() as i64,
        ))
    }

    /// What `get` must answer: status, next, min, max and the messages' queue offsets.
    fn expect_get(
        &self,
        key: QueueKey,
        request: &GetRequest,
    ) -> (GetStatus, i64, i64, i64, Vec<i64>) {
        let Some((min, max)) = self.min_max(key) else {
            return (GetStatus::NoMatchedLogicQueue, 0, 0, 0, Vec::new());
        };
        let offset = request.offset;
        if max == 0 {
            return (GetStatus::NoMessageInQueue, 0, min, max, Vec::new());
        }
        if offset < min {
            return (GetStatus::OffsetTooSmall, min, min, max, Vec::new());
        }
        if offset == max {
            return (GetStatus::OffsetOverflowOne, offset, min, max, Vec::new());
        }
        if offset > max {
            let next = if min == 0 { min } else { max };
            return (GetStatus::OffsetOverflowBadly, next, min, max, Vec::new());
        }
        let wanted = request.max_count.max(1);
        let scan = wanted.max(MAX_FILTER_UNITS.min(wanted * 20)) as i64;
        let file_end = (offset / CQ_UNITS as i64 + 1) * CQ_UNITS as i64;
        let end = (offset + scan).min(file_end).min(max);
        let queue = &self.queues[&key];
        let mut found = Vec::new();
        let mut bytes = 0;
        let mut next = offset;
        for queue_offset in offset..end {
            let message = &queue[queue_offset as usize];
            if !found.is_empty()
                && (found.len() >= request.max_count || bytes + message.size > request.max_bytes)
            {
                break;
            }
            next = queue_offset + 1;
            if request.filter.accepts(message.tags_code) {
                found.push(queue_offset);
                bytes += message.size;
            }
        }
        let status = if found.is_empty() {
            GetStatus::NoMatchedMessage
        } else {
            GetStatus::Found
        };
        (status, next, min, max, found)
    }
}

struct Harness {
    dir: tempfile::TempDir,
    clock: ManualClock,
    store: Option<DefaultMessageStore>,
    model: Model,
    next_id: u64,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let store = open(dir.path(), &clock);
        Self {
            dir,
            clock,
            store: Some(store),
            model: Model::default(),
            next_id: 0,
        }
    }

    fn store(&self) -> &DefaultMessageStore {
        self.store.as_ref().expect("store open")
    }

    fn settle(&self) {
        let store = self.store();
        assert!(
            store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(10)),
            "dispatch did not catch up"
        );
        assert_eq!(
            store.commit_log_max_offset(),
            self.model.position,
            "CommitLog end"
        );
        assert_eq!(
            store.commit_log_min_offset(),
            self.model.commit_log_min,
            "CommitLog minimum"
        );
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put {
                topic,
                queue,
                messages,
            } => self.put(*topic, *queue, messages),
            Op::Get {
                topic,
                queue,
                offset_pick,
                max_count,
                max_bytes,
                only_tag_a,
            } => {
                let max = self
                    .model
                    .min_max((*topic, *queue))
                    .map_or(0, |(_, max)| max);
                let offset = -1 + i64::from(*offset_pick) % (max + 4);
                let filter = if *only_tag_a {
                    TagFilter::Codes(HashSet::from([i64::from(java_string_hash("TagA"))]))
                } else {
                    TagFilter::All
                };
                self.check_get((*topic, *queue), offset, *max_count, *max_bytes, filter);
            }
            Op::Reboot => {
                let store = self.store.take().expect("store open");
                store.shutdown().expect("clean shutdown");
                drop(store);
                let store = open(self.dir.path(), &self.clock);
                assert!(
                    !store.recovered().torn_tail,
                    "no torn tail after a clean stop"
                );
                self.store = Some(store);
                self.settle();
                self.check_all();
            }
            Op::Crash => {
                self.store.take().expect("store open").simulate_crash();
                self.store = Some(open(self.dir.path(), &self.clock));
                self.settle();
                self.check_all();
            }
            Op::Retention => self.retention(),
        }
    }

    fn put(&mut self, topic: usize, queue: i32, messages: &[NewMsg]) {
        self.clock.advance(1);
        let now = self.clock.now_millis();
        let mut records = Vec::new();
        let mut expected = Vec::new();
        let key = (topic, queue);
        let mut next_queue_offset = self.model.queues.get(&key).map_or(0, Vec::len) as i64;
        for message in messages {
            let id = self.next_id;
            self.next_id += 1;
            let record = record(
                topic,
                queue,
                id,
                message.size,
                message.tag,
                message.prepared,
            );
            let mut stored = record.clone();
            let size = record.encoded_len();
            stored.physical_offset = self.model.append(size as u64) as i64;
            stored.store_timestamp = now;
            stored.queue_offset = if message.prepared {
                0
            } else {
                next_queue_offset += 1;
                next_queue_offset - 1
            };
            records.push(record);
            expected.push((message.prepared, stored, size));
        }
        let result = self.store().put(records).expect("put");
        assert_eq!(result.status, PutStatus::PutOk);
        assert_eq!(result.count, messages.len(), "count");
        assert_eq!(result.store_timestamp, now, "store time");
        assert_eq!(
            result.physical_offset as i64, expected[0].1.physical_offset,
            "physical offset"
        );
        assert_eq!(
            result.queue_offset, expected[0].1.queue_offset,
            "queue offset"
        );
        let total: usize = expected.iter().map(|(_, _, size)| size).sum();
        assert_eq!(result.wrote_bytes, total as u64, "wrote bytes");
        for (prepared, stored, size) in expected {
            if !prepared {
                let tags_code = tag_name_of(&stored).map_or(0, |t| i64::from(java_string_hash(t)));
                self.model.queues.entry(key).or_default().push(Stored {
                    record: stored,
                    size,
                    tags_code,
                });
            }
        }
        self.settle();
    }

    fn retention(&mut self) {
        let now = self.clock.now_millis();
        let report = self
            .store()
            .clean_expired_files(now, true)
            .expect("retention");
        let model = &mut self.model;
        let mut deleted = 0;
        if model.position > 0 {
            let last_base = model.position - model.position % SEGMENT;
            deleted =
                (((last_base - model.commit_log_min) / SEGMENT) as usize).min(DELETE_BATCH_MAX);
            model.commit_log_min += deleted as u64 * SEGMENT;
        }
        assert_eq!(report.deleted_segments.len(), deleted, "{report:?}");
        let store = self.store.as_ref().expect("store open");
        assert_eq!(store.commit_log_min_offset(), model.commit_log_min);
        for (key, queue) in &model.queues {
            let before = model.mins.get(key).copied().unwrap_or(0);
            let now_min = store.min_offset(TOPICS[key.0], key.1);
            assert!(
                now_min >= before,
                "{key:?}: min moved back from {before} to {now_min}"
            );
            let gone = queue
                .iter()
                .take_while(|m| (m.record.physical_offset as u64) < model.commit_log_min)
                .count() as i64;
            assert_eq!(now_min, gone.max(before), "{key:?}: min after retention");
            model.mins.insert(*key, now_min);
        }
        self.check_all();
    }

    fn check_get(
        &self,
        key: QueueKey,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: TagFilter,
    ) -> GetResult {
        let request = GetRequest {
            topic: TOPICS[key.0].into(),
            queue_id: key.1,
            offset,
            max_count,
            max_bytes,
            filter,
        };
        let result = self.store().get(&request).expect("get");
        let (status, next, min, max, offsets) = self.model.expect_get(key, &request);
        assert_eq!(
            (
                result.status,
                result.next_begin_offset,
                result.min_offset,
                result.max_offset
            ),
            (status, next, min, max),
            "{request:?}"
        );
        assert_eq!(result.queue_offsets, offsets, "{request:?}");
        assert_eq!(result.messages.len(), offsets.len());
        let queue = self.model.queues.get(&key);
        for (raw, offset) in result.messages.iter().zip(&offsets) {
            let want = &queue.expect("a queue with messages")[*offset as usize].record;
            assert_eq!(raw.as_ref(), want.encode().as_slice(), "record at {offset}");
        }
        result
    }

    /// Reads every offset of every queue (and around them) and compares with the model:
    /// below the minimum everything is reported removed, from it on everything is intact.
    fn check_all(&self) {
        for (topic, name) in TOPICS.iter().enumerate() {
            for queue in 0..QUEUES {
                let key = (topic, queue);
                let (min, max) = self.model.min_max(key).unwrap_or((0, 0));
                let store = self.store();
                assert_eq!(store.max_offset(name, queue), max, "{key:?} max");
                assert_eq!(store.min_offset(name, queue), min, "{key:?} min");
                for offset in -1..=max + 2 {
                    let result = self.check_get(key, offset, 4, usize::MAX, TagFilter::All);
                    if offset >= 0 && offset < min {
                        assert_eq!(result.status, GetStatus::OffsetTooSmall);
                    }
                }
                // Everything from the minimum on, in order, following next_begin_offset.
                if max > min {
                    let mut offset = min;
                    let mut seen = 0;
                    while offset < max {
                        let result = self.check_get(key, offset, 32, usize::MAX, TagFilter::All);
                        assert_eq!(result.status, GetStatus::Found);
                        seen += result.messages.len() as i64;
                        offset = result.next_begin_offset;
                    }
                    assert_eq!(seen, max - min, "{key:?}: every message from min on");
                }
            }
        }
    }
}

fn tag_name_of(stored: &MessageRecord) -> Option<&'static str> {
    if stored.properties.contains("TAGS\u{1}TagA\u{2}") {
        Some("TagA")
    } else if stored.properties.contains("TAGS\u{1}TagB\u{2}") {
        Some("TagB")
    } else {
        None
    }
}

fn new_msg() -> impl Strategy<Value = NewMsg> {
    (0..2000usize, 0..3u8, prop::bool::weighted(0.1)).prop_map(|(size, tag, prepared)| NewMsg {
        size,
        tag,
        prepared,
    })
}

fn op(with_batches: bool) -> BoxedStrategy<Op> {
    let single = (0..TOPICS.len(), 0..QUEUES, new_msg()).prop_map(|(topic, queue, m)| Op::Put {
        topic,
        queue,
        messages: vec![m],
    });
    let batch =
        (0..TOPICS.len(), 0..QUEUES, vec(new_msg(), 1..5)).prop_map(|(topic, queue, messages)| {
            Op::Put {
                topic,
                queue,
                messages,
            }
        });
    let get = (
        0..TOPICS.len(),
        0..QUEUES,
        any::<u32>(),
        0..40usize,
        prop::sample::select(vec![1usize, 3000, 1 << 20]),
        any::<bool>(),
    )
        .prop_map(
            |(topic, queue, offset_pick, max_count, max_bytes, only_tag_a)| Op::Get {
                topic,
                queue,
                offset_pick,
                max_count,
                max_bytes,
                only_tag_a,
            },
        );
    if with_batches {
        prop_oneof![
            6 => single,
            2 => batch,
            5 => get,
            1 => Just(Op::Reboot),
            1 => Just(Op::Crash),
            2 => Just(Op::Retention),
        ]
        .boxed()
    } else {
        prop_oneof![
            8 => single,
            5 => get,
            1 => Just(Op::Reboot),
            1 => Just(Op::Crash),
            2 => Just(Op::Retention),
        ]
        .boxed()
    }
}

fn run(ops: &[Op]) {
    let mut harness = Harness::new();
    for op in ops {
        harness.apply(op);
    }
    harness.check_all();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The full operation mix of the model test, batches included.
    #[test]
    fn file_store_matches_model(ops in vec(op(true), 1..=40)) {
        run(&ops);
    }
}

// ---------------------------------------------------------------------------------------
// Fixed sequences for retention edge cases
// ---------------------------------------------------------------------------------------

fn put_one(harness: &mut Harness, topic: usize, queue: i32, size: usize) {
    harness.apply(&Op::Put {
        topic,
        queue,
        messages: vec![NewMsg {
            size,
            tag: 0,
            prepared: false,
        }],
    });
}

/// Once retention moved the minimum above 0, an offset far past the end is corrected to
/// the max, not to 0 (`OFFSET_OVERFLOW_BADLY`'s `minOffset == 0` rule).
#[test]
fn overflow_badly_after_retention_points_at_max() {
    let mut harness = Harness::new();
    for _ in 0..12 {
        put_one(&mut harness, 0, 0, 1900);
    }
    harness.apply(&Op::Retention);
    let (min, max) = harness.model.min_max((0, 0)).expect("queue");
    assert!(min > 0, "retention removed messages");
    let far = harness.check_get((0, 0), max + 5, 32, usize::MAX, TagFilter::All);
    assert_eq!(
        (far.status, far.next_begin_offset),
        (GetStatus::OffsetOverflowBadly, max)
    );
    let low = harness.check_get((0, 0), 0, 32, usize::MAX, TagFilter::All);
    assert_eq!(
        (low.status, low.next_begin_offset),
        (GetStatus::OffsetTooSmall, min)
    );
    let store = harness.store();
    assert_eq!(store.message_at(0).expect("message_at"), None, "deleted");
}

/// A queue whose messages all lie in deleted segments, ending exactly at a ConsumeQueue
/// file end: retention deletes all of its ConsumeQueue files.
fn emptied_queue_then_restart(restart: &Op) {
    let mut harness = Harness::new();
    for _ in 0..CQ_UNITS {
        put_one(&mut harness, 1, 2, 10);
    }
    for _ in 0..12 {
        put_one(&mut harness, 0, 0, 1900);
    }
    harness.apply(&Op::Retention);
    assert_eq!(harness.model.min_max((1, 2)), Some((10, 10)));
    // The store still knows the queue's offsets before the restart...
    harness.check_all();
    // ...and must keep them across it: max 10, min 10, the next put at offset 10.
    harness.apply(restart);
    put_one(&mut harness, 1, 2, 10);
    harness.check_all();
}

#[test]
fn queue_emptied_by_retention_keeps_offsets_across_reboot() {
    emptied_queue_then_restart(&Op::Reboot);
}

#[test]
fn queue_emptied_by_retention_keeps_offsets_across_crash() {
    emptied_queue_then_restart(&Op::Crash);
}
