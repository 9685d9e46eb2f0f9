//! The `MessageStore` contract, written once against `&dyn MessageStore` and run for both
//! the memory store (the reference model) and the file store.
//!
//! Each case is a plain function taking a [`Ctx`]; the `conformance!` macro at the bottom
//! turns every case into `memory::<case>` and `file::<case>` tests. A case never assumes
//! physical offsets are contiguous (the file store skips to the next segment when a record
//! does not fit), only that each put's offset reads back its record.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use soyuz_model::properties::decode_properties;
use soyuz_model::record::{decode_record, DecodedRecord, MessageRecord};
use soyuz_model::{java_string_hash, sys_flag, ManualClock};
use soyuz_store::dispatch::tags_code;
use soyuz_store::io::OsFs;
use soyuz_store::{
    Boundary, DefaultMessageStore, GetRequest, GetResult, GetStatus, MemoryStore, MessageStore,
    MessageStoreConfig, PutStatus, StoreError, TagFilter,
};

/// Where every test clock starts: 2023-11-14T22:13:20Z, outside the `deleteWhen` hour.
const T0: i64 = 1_700_000_000_000;
const MAX_MESSAGE_SIZE: usize = 16 * 1024;
const CQ_FILE_SIZE: u64 = 2000;
const TOPIC: &str = "TopicTest";

/// What a case gets: the store, a way to wait until everything put is readable, and the
/// clock the store reads store times from.
struct Ctx<'a> {
    store: &'a dyn MessageStore,
    settle: &'a dyn Fn(),
    clock: &'a ManualClock,
}

fn run_memory(case: fn(&Ctx)) {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(MAX_MESSAGE_SIZE, Arc::new(clock.clone()))
        .with_consume_queue_file_size(CQ_FILE_SIZE);
    case(&Ctx {
        store: &store,
        settle: &|| {},
        clock: &clock,
    });
}

fn file_config(dir: &std::path::Path) -> MessageStoreConfig {
    let mut config = MessageStoreConfig::with_root(dir);
    // About the store, not this machine's disk: refusing writes at 90% full is tested
    // with an injected disk use (smoke.rs); CI disks have been seen 95% full.
    config.disk_space_warning_level_ratio = 99;
    config.disk_space_clean_forcibly_ratio = 99;
    // The memory store models records without the `__CRC32#` property; the file store's
    // own tests (smoke, crash ladder) cover it with the property on.
    config.enabled_append_prop_crc = false;
    config.mapped_file_size_commit_log = 64 * 1024;
    config.mapped_file_size_consume_queue = CQ_FILE_SIZE;
    config.max_message_size = MAX_MESSAGE_SIZE;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    config
}

fn run_file(case: fn(&Ctx)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let store = DefaultMessageStore::open_with(
        file_config(dir.path()),
        Arc::new(OsFs),
        Arc::new(clock.clone()),
    )
    .expect("open");
    let settle = || {
        assert!(
            store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(10)),
            "dispatch did not catch up"
        );
    };
    case(&Ctx {
        store: &store,
        settle: &settle,
        clock: &clock,
    });
    drop(store);
}

fn host() -> SocketAddr {
    "127.0.0.1:10911".parse().expect("addr")
}

/// A message with the given body and encoded properties.
fn msg(topic: &str, queue_id: i32, body: &str, properties: &str) -> MessageRecord {
    MessageRecord {
        topic: topic.into(),
        queue_id,
        flag: 7,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp: 1_600_000_000_000,
        born_host: host(),
        store_timestamp: 0,
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body.to_owned()),
        properties: properties.to_owned(),
    }
}

fn tagged(topic: &str, queue_id: i32, body: &str, tag: &str) -> MessageRecord {
    msg(topic, queue_id, body, &format!("TAGS\u{1}{tag}\u{2}"))
}

fn request(topic: &str, queue_id: i32, offset: i64, max_count: usize) -> GetRequest {
    GetRequest {
        topic: topic.into(),
        queue_id,
        offset,
        max_count,
        max_bytes: 1024 * 1024,
        filter: TagFilter::All,
    }
}

fn get(cx: &Ctx, request: &GetRequest) -> GetResult {
    cx.store.get(request).expect("get")
}

fn decode(raw: &[u8]) -> MessageRecord {
    match decode_record(raw, true).expect("a valid record") {
        DecodedRecord::Message(record, size) => {
            assert_eq!(size, raw.len(), "one whole record");
            record
        }
        DecodedRecord::Blank(_) => panic!("a blank record where a message was expected"),
    }
}

fn bodies(result: &GetResult) -> Vec<String> {
    result
        .messages
        .iter()
        .map(|raw| String::from_utf8(decode(raw).body.to_vec()).expect("utf8 body"))
        .collect()
}

/// Asserts status, next begin offset, min and max of a read.
fn assert_read(result: &GetResult, status: GetStatus, next: i64, min: i64, max: i64) {
    assert_eq!(
        (
            result.status,
            result.next_begin_offset,
            result.min_offset,
            result.max_offset
        ),
        (status, next, min, max),
        "status, next_begin_offset, min, max"
    );
    if status != GetStatus::Found {
        assert!(result.messages.is_empty(), "no messages with {status:?}");
    }
    assert_eq!(result.messages.len(), result.queue_offsets.len());
}

fn tag_code(tag: &str) -> i64 {
    i64::from(java_string_hash(tag))
}

fn codes(tags: &[i64]) -> TagFilter {
    TagFilter::Codes(tags.iter().copied().collect::<HashSet<_>>())
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

/// Single puts get queue offsets 0, 1, 2 and read back as the exact encoded records.
fn put_then_get(cx: &Ctx) {
    let mut expected = Vec::new();
    for i in 0..3i64 {
        cx.clock.advance(5);
        let message = tagged(TOPIC, 1, &format!("body-{i}"), "TagA");
        let put = cx.store.put(vec![message.clone()]).expect("put");
        assert_eq!(put.status, PutStatus::PutOk);
        assert_eq!(put.queue_offset, i);
        assert_eq!(put.count, 1);
        assert_eq!(put.wrote_bytes, message.encoded_len() as u64);
        assert_eq!(put.store_timestamp, T0 + 5 * (i + 1));
        let mut stored = message;
        stored.queue_offset = i;
        stored.physical_offset = put.physical_offset as i64;
        stored.store_timestamp = put.store_timestamp;
        expected.push(stored);
    }
    (cx.settle)();
    assert_eq!(cx.store.max_offset(TOPIC, 1), 3);
    assert_eq!(cx.store.min_offset(TOPIC, 1), 0);
    let result = get(cx, &request(TOPIC, 1, 0, 32));
    assert_read(&result, GetStatus::Found, 3, 0, 3);
    assert_eq!(result.queue_offsets, vec![0, 1, 2]);
    for (raw, want) in result.messages.iter().zip(&expected) {
        assert_eq!(raw.as_ref(), want.encode().as_slice(), "exact record bytes");
        assert_eq!(&decode(raw), want);
    }
    let physical: Vec<i64> = expected.iter().map(|m| m.physical_offset).collect();
    assert!(physical.windows(2).all(|w| w[0] < w[1]));
}

/// A batch is stored consecutively: queue offsets follow one another, one store time.
fn batch_put_consecutive(cx: &Ctx) {
    let first = cx
        .store
        .put(vec![msg(TOPIC, 0, "single", "")])
        .expect("put");
    assert_eq!(first.queue_offset, 0);
    cx.clock.advance(10);
    let batch: Vec<MessageRecord> = (0..4)
        .map(|i| msg(TOPIC, 0, &format!("batch-{i}"), ""))
        .collect();
    let size: u64 = batch.iter().map(|m| m.encoded_len() as u64).sum();
    let put = cx.store.put(batch).expect("put batch");
    assert_eq!(put.status, PutStatus::PutOk);
    assert_eq!(put.queue_offset, 1);
    assert_eq!(put.count, 4);
    assert_eq!(put.wrote_bytes, size);
    assert_eq!(put.store_timestamp, T0 + 10);
    let after = cx.store.put(vec![msg(TOPIC, 0, "after", "")]).expect("put");
    assert_eq!(after.queue_offset, 5, "the batch took offsets 1..=4");
    (cx.settle)();
    let result = get(cx, &request(TOPIC, 0, 0, 32));
    assert_read(&result, GetStatus::Found, 6, 0, 6);
    assert_eq!(
        bodies(&result),
        ["single", "batch-0", "batch-1", "batch-2", "batch-3", "after"]
    );
    assert_eq!(result.queue_offsets, vec![0, 1, 2, 3, 4, 5]);
    let records: Vec<MessageRecord> = result.messages.iter().map(|r| decode(r)).collect();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.queue_offset, i as i64);
    }
    assert_eq!(records[1].physical_offset as u64, put.physical_offset);
    assert!(records[1..5]
        .iter()
        .all(|r| r.store_timestamp == put.store_timestamp));
    assert!(records
        .windows(2)
        .all(|w| w[0].physical_offset < w[1].physical_offset));
}

/// Unknown topics and queues: NoMatchedLogicQueue with 0 / 0 / 0.
fn no_matched_logic_queue(cx: &Ctx) {
    assert_read(
        &get(cx, &request("Nowhere", 0, 0, 32)),
        GetStatus::NoMatchedLogicQueue,
        0,
        0,
        0,
    );
    cx.store.put(vec![msg(TOPIC, 0, "x", "")]).expect("put");
    (cx.settle)();
    assert_read(
        &get(cx, &request(TOPIC, 1, 0, 32)),
        GetStatus::NoMatchedLogicQueue,
        0,
        0,
        0,
    );
    assert_read(
        &get(cx, &request("Nowhere", 0, 5, 32)),
        GetStatus::NoMatchedLogicQueue,
        0,
        0,
        0,
    );
    assert_eq!(cx.store.max_offset("Nowhere", 0), 0);
    assert_eq!(cx.store.min_offset("Nowhere", 0), 0);
    assert_eq!(cx.store.max_offset(TOPIC, 1), 0);
}

/// OffsetTooSmall, OffsetOverflowOne, OffsetOverflowBadly (min == 0: next is 0) and
/// Found, each with exact next / min / max.
fn offset_statuses(cx: &Ctx) {
    for i in 0..5 {
        cx.store
            .put(vec![msg(TOPIC, 2, &format!("m{i}"), "")])
            .expect("put");
    }
    (cx.settle)();
    assert_read(
        &get(cx, &request(TOPIC, 2, -1, 32)),
        GetStatus::OffsetTooSmall,
        0,
        0,
        5,
    );
    assert_read(
        &get(cx, &request(TOPIC, 2, i64::MIN, 32)),
        GetStatus::OffsetTooSmall,
        0,
        0,
        5,
    );
    assert_read(
        &get(cx, &request(TOPIC, 2, 5, 32)),
        GetStatus::OffsetOverflowOne,
        5,
        0,
        5,
    );
    for offset in [6, 7, 1_000_000] {
        assert_read(
            &get(cx, &request(TOPIC, 2, offset, 32)),
            GetStatus::OffsetOverflowBadly,
            0,
            0,
            5,
        );
    }
    let last = get(cx, &request(TOPIC, 2, 4, 32));
    assert_read(&last, GetStatus::Found, 5, 0, 5);
    assert_eq!(bodies(&last), ["m4"]);
    assert_eq!(last.queue_offsets, vec![4]);
    let middle = get(cx, &request(TOPIC, 2, 1, 2));
    assert_read(&middle, GetStatus::Found, 3, 0, 5);
    assert_eq!(bodies(&middle), ["m1", "m2"]);
    assert_eq!(middle.queue_offsets, vec![1, 2]);
}

/// max_count and max_bytes bound a read, but at least one message always comes back.
fn read_limits(cx: &Ctx) {
    let messages: Vec<MessageRecord> = (0..10)
        .map(|i| msg(TOPIC, 0, &format!("{i:0>100}"), ""))
        .collect();
    let size = messages[0].encoded_len();
    assert!(messages.iter().all(|m| m.encoded_len() == size));
    for message in messages {
        cx.store.put(vec![message]).expect("put");
    }
    (cx.settle)();
    let three = get(cx, &request(TOPIC, 0, 0, 3));
    assert_read(&three, GetStatus::Found, 3, 0, 10);
    assert_eq!(three.queue_offsets, vec![0, 1, 2]);

    let zero = get(cx, &request(TOPIC, 0, 4, 0));
    assert_read(&zero, GetStatus::Found, 5, 0, 10);
    assert_eq!(zero.queue_offsets, vec![4], "max_count 0 still returns one");

    let bytes_limited = |max_bytes: usize| {
        get(
            cx,
            &GetRequest {
                max_bytes,
                ..request(TOPIC, 0, 2, 32)
            },
        )
    };
    let one = bytes_limited(1);
    assert_read(&one, GetStatus::Found, 3, 0, 10);
    assert_eq!(one.queue_offsets, vec![2], "at least one message");
    let two = bytes_limited(2 * size + 1);
    assert_read(&two, GetStatus::Found, 4, 0, 10);
    assert_eq!(two.queue_offsets, vec![2, 3]);
    let exact = bytes_limited(3 * size);
    assert_read(&exact, GetStatus::Found, 5, 0, 10);
    assert_eq!(exact.queue_offsets, vec![2, 3, 4]);
    let all = bytes_limited(100 * size);
    assert_read(&all, GetStatus::Found, 10, 0, 10);
    assert_eq!(all.messages.len(), 8);
    let total: usize = all.messages.iter().map(Bytes::len).sum();
    assert_eq!(total, 8 * size);
}

/// Tag filtering by the ConsumeQueue tag code; a message without tags has code 0.
fn tag_filter(cx: &Ctx) {
    let put = |m| cx.store.put(vec![m]).expect("put");
    put(tagged(TOPIC, 0, "a", "TagA"));
    put(tagged(TOPIC, 0, "b", "TagB"));
    put(msg(TOPIC, 0, "c", "KEYS\u{1}k\u{2}"));
    put(tagged(TOPIC, 0, "d", "TagA"));
    put(msg(TOPIC, 0, "e", "TAGS\u{1}\u{2}"));
    (cx.settle)();
    let filtered = |offset, max_count, filter: TagFilter| {
        get(
            cx,
            &GetRequest {
                filter,
                ..request(TOPIC, 0, offset, max_count)
            },
        )
    };
    let a = filtered(0, 32, codes(&[tag_code("TagA")]));
    assert_read(&a, GetStatus::Found, 5, 0, 5);
    assert_eq!(bodies(&a), ["a", "d"]);
    assert_eq!(a.queue_offsets, vec![0, 3]);

    let ab = filtered(0, 32, codes(&[tag_code("TagA"), tag_code("TagB")]));
    assert_eq!(bodies(&ab), ["a", "b", "d"]);

    let untagged = filtered(0, 32, codes(&[0]));
    assert_read(&untagged, GetStatus::Found, 5, 0, 5);
    assert_eq!(bodies(&untagged), ["c", "e"]);
    assert_eq!(untagged.queue_offsets, vec![2, 4]);

    let none = filtered(0, 32, codes(&[tag_code("TagZ")]));
    assert_read(&none, GetStatus::NoMatchedMessage, 5, 0, 5);

    // Stops after max_count matches: the skipped units count towards next.
    let one = filtered(1, 1, codes(&[tag_code("TagA")]));
    assert_read(&one, GetStatus::Found, 4, 0, 5);
    assert_eq!(bodies(&one), ["d"]);
    assert_eq!(one.queue_offsets, vec![3]);

    let all = filtered(0, 32, TagFilter::All);
    assert_eq!(bodies(&all), ["a", "b", "c", "d", "e"]);
    let mut props = BTreeMap::new();
    props.insert("TAGS".to_owned(), "TagA".to_owned());
    assert_eq!(tags_code(&props), tag_code("TagA"));
}

/// A filtered read looks at a bounded window of units (20 per wanted message, at most
/// 800): with no match in it the read is NoMatchedMessage and resumes after the window.
fn filter_scan_window(cx: &Ctx) {
    for i in 0..30 {
        cx.store
            .put(vec![tagged(TOPIC, 0, &format!("b{i}"), "TagB")])
            .expect("put");
    }
    cx.store
        .put(vec![tagged(TOPIC, 0, "a", "TagA")])
        .expect("put");
    (cx.settle)();
    let filtered = |offset, max_count| {
        get(
            cx,
            &GetRequest {
                filter: codes(&[tag_code("TagA")]),
                ..request(TOPIC, 0, offset, max_count)
            },
        )
    };
    assert_read(&filtered(0, 1), GetStatus::NoMatchedMessage, 20, 0, 31);
    let found = filtered(20, 1);
    assert_read(&found, GetStatus::Found, 31, 0, 31);
    assert_eq!(bodies(&found), ["a"]);
    let wide = filtered(0, 2);
    assert_read(&wide, GetStatus::Found, 31, 0, 31);
}

/// A read never spans two ConsumeQueue files (100 units each here).
fn reads_stop_at_consume_queue_file_end(cx: &Ctx) {
    for i in 0..105 {
        cx.store
            .put(vec![msg(TOPIC, 0, &format!("{i}"), "")])
            .expect("put");
    }
    (cx.settle)();
    let head = get(cx, &request(TOPIC, 0, 95, 32));
    assert_read(&head, GetStatus::Found, 100, 0, 105);
    assert_eq!(bodies(&head), ["95", "96", "97", "98", "99"]);
    let tail = get(cx, &request(TOPIC, 0, 100, 32));
    assert_read(&tail, GetStatus::Found, 105, 0, 105);
    assert_eq!(bodies(&tail), ["100", "101", "102", "103", "104"]);
}

/// Topics and queues interleaved each count from 0 on their own.
fn topics_and_queues_interleaved(cx: &Ctx) {
    let order = [
        ("TopicA", 0),
        ("TopicB", 0),
        ("TopicA", 1),
        ("TopicA", 0),
        ("TopicB", 0),
        ("TopicA", 0),
        ("TopicB", 3),
    ];
    let mut expected: BTreeMap<(&str, i32), Vec<String>> = BTreeMap::new();
    for (i, (topic, queue)) in order.into_iter().enumerate() {
        let body = format!("{topic}-{queue}-{i}");
        let put = cx
            .store
            .put(vec![msg(topic, queue, &body, "")])
            .expect("put");
        let list = expected.entry((topic, queue)).or_default();
        assert_eq!(put.queue_offset, list.len() as i64, "{topic}/{queue}");
        list.push(body);
    }
    (cx.settle)();
    for ((topic, queue), list) in &expected {
        let max = list.len() as i64;
        assert_eq!(cx.store.max_offset(topic, *queue), max);
        let result = get(cx, &request(topic, *queue, 0, 32));
        assert_read(&result, GetStatus::Found, max, 0, max);
        assert_eq!(&bodies(&result), list);
        for raw in &result.messages {
            let record = decode(raw);
            assert_eq!((record.topic.as_str(), record.queue_id), (*topic, *queue));
        }
    }
    assert_read(
        &get(cx, &request("TopicB", 1, 0, 32)),
        GetStatus::NoMatchedLogicQueue,
        0,
        0,
        0,
    );
}

/// message_at finds the record at the physical offset a put returned.
fn message_at_physical_offset(cx: &Ctx) {
    assert_eq!(cx.store.commit_log_min_offset(), 0);
    assert_eq!(cx.store.commit_log_max_offset(), 0);
    let mut puts = Vec::new();
    for i in 0..3 {
        let message = msg(TOPIC, i, &"x".repeat(100 * i as usize), "KEYS\u{1}k\u{2}");
        let len = message.encoded_len() as u64;
        let put = cx.store.put(vec![message]).expect("put");
        puts.push((put.physical_offset, len, i));
    }
    (cx.settle)();
    let (last_offset, last_len, _) = puts[2];
    assert!(cx.store.commit_log_max_offset() >= last_offset + last_len);
    assert_eq!(cx.store.commit_log_min_offset(), 0);
    for (offset, len, queue) in puts {
        let raw = cx
            .store
            .message_at(offset)
            .expect("message_at")
            .expect("a record there");
        assert_eq!(raw.len() as u64, len);
        let record = decode(&raw);
        assert_eq!(record.physical_offset as u64, offset);
        assert_eq!(record.queue_id, queue);
        let pulled = get(cx, &request(TOPIC, queue, 0, 1));
        assert_eq!(pulled.messages, vec![raw]);
    }
    assert_eq!(
        cx.store
            .message_at(cx.store.commit_log_max_offset())
            .expect("message_at"),
        None
    );
}

/// offset_by_time with both boundaries, before the first and after the last message.
fn offset_by_time(cx: &Ctx) {
    for (i, at) in [10, 20, 20, 30].into_iter().enumerate() {
        cx.clock.set(T0 + at);
        cx.store
            .put(vec![msg(TOPIC, 0, &format!("{i}"), "")])
            .expect("put");
    }
    (cx.settle)();
    let lower = |t| {
        cx.store
            .offset_by_time(TOPIC, 0, T0 + t, Boundary::Lower)
            .expect("offset_by_time")
    };
    let upper = |t| {
        cx.store
            .offset_by_time(TOPIC, 0, T0 + t, Boundary::Upper)
            .expect("offset_by_time")
    };
    // Lower: the first message stored at or after the time; the max past the last one.
    assert_eq!(
        [0, 10, 15, 20, 25, 30, 31, 10_000].map(lower),
        [0, 0, 1, 1, 3, 3, 4, 4]
    );
    // Upper: the last message stored at or before the time; the min before the first.
    assert_eq!(
        [0, 9, 10, 15, 20, 29, 30, 10_000].map(upper),
        [0, 0, 0, 0, 2, 2, 3, 3]
    );
    for boundary in [Boundary::Lower, Boundary::Upper] {
        assert_eq!(
            cx.store
                .offset_by_time("Nowhere", 0, T0, boundary)
                .expect("offset_by_time"),
            0
        );
    }
}

/// earliest_store_time: the store time of the oldest message still in the queue.
fn earliest_store_time(cx: &Ctx) {
    assert_eq!(
        cx.store.earliest_store_time(TOPIC, 0).expect("earliest"),
        None
    );
    cx.clock.set(T0 + 100);
    cx.store.put(vec![msg(TOPIC, 0, "a", "")]).expect("put");
    cx.clock.set(T0 + 200);
    cx.store.put(vec![msg(TOPIC, 0, "b", "")]).expect("put");
    cx.store.put(vec![msg(TOPIC, 1, "c", "")]).expect("put");
    (cx.settle)();
    assert_eq!(
        cx.store.earliest_store_time(TOPIC, 0).expect("earliest"),
        Some(T0 + 100)
    );
    assert_eq!(
        cx.store.earliest_store_time(TOPIC, 1).expect("earliest"),
        Some(T0 + 200)
    );
    assert_eq!(
        cx.store.earliest_store_time(TOPIC, 2).expect("earliest"),
        None
    );
}

/// query_by_key by a KEYS token and by UNIQ_KEY: newest first, within the time range
/// (both ends included), capped at max_num and at 64; PREPARED messages are indexed,
/// ROLLBACK ones are not. Store times are whole seconds apart: the IndexFile keeps times
/// in seconds from its first entry, as Java does.
fn query_by_key(cx: &Ctx) {
    let mut stored = BTreeMap::new();
    let mut put = |name: &str, topic: &str, properties: &str, sys_flag: i32, second: i64| {
        cx.clock.set(T0 + second * 1000);
        let mut message = msg(topic, 0, name, properties);
        message.sys_flag = sys_flag;
        let put = cx.store.put(vec![message]).expect("put");
        let raw = cx
            .store
            .message_at(put.physical_offset)
            .expect("message_at")
            .expect("stored");
        stored.insert(name.to_owned(), raw);
    };
    put(
        "m1",
        TOPIC,
        "KEYS\u{1}k1 shared\u{2}UNIQ_KEY\u{1}U1\u{2}",
        0,
        10,
    );
    put(
        "m2",
        TOPIC,
        "KEYS\u{1}k2 shared\u{2}UNIQ_KEY\u{1}U2\u{2}",
        0,
        20,
    );
    put("m3", "OtherTopic", "KEYS\u{1}shared\u{2}", 0, 30);
    put("m4", TOPIC, "KEYS\u{1}shared\u{2}", 0, 40);
    put(
        "prepared",
        TOPIC,
        "KEYS\u{1}tx\u{2}",
        sys_flag::TRANSACTION_PREPARED_TYPE,
        50,
    );
    put(
        "rollback",
        TOPIC,
        "KEYS\u{1}tx\u{2}",
        sys_flag::TRANSACTION_ROLLBACK_TYPE,
        60,
    );
    for i in 0..70 {
        put(&format!("many-{i}"), TOPIC, "KEYS\u{1}many\u{2}", 0, 70 + i);
    }
    (cx.settle)();
    let query = |topic: &str, key: &str, max_num, begin, end| -> Vec<Bytes> {
        cx.store
            .query_by_key(topic, key, max_num, begin, end)
            .expect("query_by_key")
            .messages
    };
    let want =
        |names: &[&str]| -> Vec<Bytes> { names.iter().map(|n| stored[*n].clone()).collect() };
    let (begin, end) = (0, i64::MAX);
    assert_eq!(
        query(TOPIC, "shared", 10, begin, end),
        want(&["m4", "m2", "m1"])
    );
    assert_eq!(query(TOPIC, "shared", 2, begin, end), want(&["m4", "m2"]));
    assert_eq!(query(TOPIC, "k1", 10, begin, end), want(&["m1"]));
    assert_eq!(query(TOPIC, "U2", 10, begin, end), want(&["m2"]));
    assert_eq!(query(TOPIC, "k", 10, begin, end), want(&[]));
    assert_eq!(query(TOPIC, "nope", 10, begin, end), want(&[]));
    assert_eq!(query("OtherTopic", "shared", 10, begin, end), want(&["m3"]));
    assert_eq!(query("Nowhere", "shared", 10, begin, end), want(&[]));
    assert_eq!(
        query(TOPIC, "shared", 10, T0 + 15_000, T0 + 25_000),
        want(&["m2"]),
        "time range"
    );
    assert_eq!(
        query(TOPIC, "shared", 10, T0 + 20_000, T0 + 40_000),
        want(&["m4", "m2"]),
        "the range includes both ends"
    );
    assert_eq!(query(TOPIC, "tx", 10, begin, end), want(&["prepared"]));
    let many = query(TOPIC, "many", 1000, begin, end);
    let newest: Vec<String> = (6..70).rev().map(|i| format!("many-{i}")).collect();
    let newest: Vec<&str> = newest.iter().map(String::as_str).collect();
    assert_eq!(many, want(&newest), "the 64 newest");
}

fn assert_illegal(result: Result<soyuz_store::PutResult, StoreError>, what: &str) {
    match result {
        Err(StoreError::MessageIllegal(_)) => {}
        other => panic!("{what}: expected MessageIllegal, got {other:?}"),
    }
}

/// Bad topics, negative queue ids and empty puts are refused, and nothing is stored.
fn invalid_messages_refused(cx: &Ctx) {
    assert_illegal(cx.store.put(vec![msg("../x", 0, "a", "")]), "topic ../x");
    assert_illegal(cx.store.put(vec![msg("", 0, "a", "")]), "blank topic");
    assert_illegal(cx.store.put(vec![msg("a/b", 0, "a", "")]), "topic a/b");
    assert_illegal(
        cx.store.put(vec![msg(&"t".repeat(128), 0, "a", "")]),
        "topic of 128 characters",
    );
    assert_illegal(cx.store.put(vec![msg(TOPIC, -1, "a", "")]), "queue -1");
    assert_illegal(cx.store.put(Vec::new()), "empty put");
    assert_illegal(
        cx.store
            .put(vec![msg(TOPIC, 0, "ok", ""), msg("../x", 0, "bad", "")]),
        "a batch with one bad message",
    );
    (cx.settle)();
    assert_eq!(cx.store.commit_log_max_offset(), 0, "nothing was written");
    assert_eq!(cx.store.max_offset(TOPIC, 0), 0);
    let put = cx.store.put(vec![msg(TOPIC, 0, "ok", "")]).expect("put");
    assert_eq!((put.physical_offset, put.queue_offset), (0, 0));
}

/// A body over maxMessageSize is refused; one of exactly that size is stored.
fn oversized_message_refused(cx: &Ctx) {
    let big = "b".repeat(MAX_MESSAGE_SIZE + 1);
    assert_illegal(
        cx.store.put(vec![msg(TOPIC, 0, &big, "")]),
        "oversized body",
    );
    let largest = "b".repeat(MAX_MESSAGE_SIZE);
    let put = cx
        .store
        .put(vec![msg(TOPIC, 0, &largest, "")])
        .expect("the largest body fits");
    assert_eq!(put.queue_offset, 0);
    (cx.settle)();
    let result = get(cx, &request(TOPIC, 0, 0, 32));
    assert_read(&result, GetStatus::Found, 1, 0, 1);
    assert_eq!(bodies(&result), [largest]);
}

/// PREPARED and ROLLBACK records take no queue offset and are invisible to reads;
/// COMMIT records count like normal ones.
fn prepared_messages_invisible(cx: &Ctx) {
    let with_flag = |body: &str, flag: i32| {
        let mut message = msg(TOPIC, 0, body, "");
        message.sys_flag = flag;
        message
    };
    let put = |m| cx.store.put(vec![m]).expect("put");
    assert_eq!(put(with_flag("normal", 0)).queue_offset, 0);
    let prepared = put(with_flag("prepared", sys_flag::TRANSACTION_PREPARED_TYPE));
    assert_eq!(prepared.queue_offset, 0);
    let rollback = put(with_flag("rollback", sys_flag::TRANSACTION_ROLLBACK_TYPE));
    assert_eq!(rollback.queue_offset, 0);
    assert_eq!(
        put(with_flag("commit", sys_flag::TRANSACTION_COMMIT_TYPE)).queue_offset,
        1
    );
    assert_eq!(put(with_flag("after", 0)).queue_offset, 2);
    // A queue that only ever had a half message does not exist for readers.
    let mut half = with_flag("half", sys_flag::TRANSACTION_PREPARED_TYPE);
    half.queue_id = 5;
    assert_eq!(put(half).queue_offset, 0);
    (cx.settle)();
    let result = get(cx, &request(TOPIC, 0, 0, 32));
    assert_read(&result, GetStatus::Found, 3, 0, 3);
    assert_eq!(bodies(&result), ["normal", "commit", "after"]);
    assert_eq!(cx.store.max_offset(TOPIC, 0), 3);
    assert_read(
        &get(cx, &request(TOPIC, 5, 0, 32)),
        GetStatus::NoMatchedLogicQueue,
        0,
        0,
        0,
    );
    assert_eq!(cx.store.max_offset(TOPIC, 5), 0);
    // The half message is still in the CommitLog (the transaction check reads it).
    let raw = cx
        .store
        .message_at(prepared.physical_offset)
        .expect("message_at")
        .expect("stored");
    let record = decode(&raw);
    assert_eq!(record.body.as_ref(), b"prepared");
    assert_eq!(record.queue_offset, 0);
    assert_eq!(
        sys_flag::transaction_value(record.sys_flag),
        sys_flag::TRANSACTION_PREPARED_TYPE
    );
}

/// The arrival listener hears `(topic, queue, new max)` for every queue that grew, and
/// nothing for half messages. The file store reports from its dispatcher thread, possibly
/// several puts at once, so the case waits for the final values.
fn arrival_listener(cx: &Ctx) {
    let heard: Arc<Mutex<Vec<(String, i32, i64)>>> = Arc::default();
    let sink = heard.clone();
    cx.store
        .set_arrival_listener(Arc::new(move |topic, queue, max| {
            sink.lock().push((topic.to_owned(), queue, max));
        }));
    cx.store.put(vec![msg(TOPIC, 0, "a", "")]).expect("put");
    cx.store.put(vec![msg(TOPIC, 0, "b", "")]).expect("put");
    cx.store.put(vec![msg(TOPIC, 1, "c", "")]).expect("put");
    let mut half = msg(TOPIC, 2, "half", "");
    half.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    cx.store.put(vec![half]).expect("put");
    (cx.settle)();
    let last = |queue: i32| {
        heard
            .lock()
            .iter()
            .filter(|(t, q, _)| t == TOPIC && *q == queue)
            .map(|(_, _, max)| *max)
            .next_back()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while (last(0), last(1)) != (Some(2), Some(1)) {
        assert!(
            Instant::now() < deadline,
            "listener heard only {:?}",
            heard.lock()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let heard = heard.lock().clone();
    assert!(heard.iter().all(|(t, _, _)| t == TOPIC));
    assert!(
        heard.iter().all(|(_, q, _)| *q == 0 || *q == 1),
        "nothing for the half message's queue: {heard:?}"
    );
    for queue in [0, 1] {
        let maxes: Vec<i64> = heard
            .iter()
            .filter(|(_, q, _)| *q == queue)
            .map(|(_, _, m)| *m)
            .collect();
        assert!(maxes.windows(2).all(|w| w[0] < w[1]), "{maxes:?} rises");
    }
}

/// After shutdown, puts and reads are refused; a second shutdown is harmless.
fn shutdown_refuses_work(cx: &Ctx) {
    cx.store.put(vec![msg(TOPIC, 0, "a", "")]).expect("put");
    (cx.settle)();
    cx.store.shutdown().expect("shutdown");
    assert!(matches!(
        cx.store.put(vec![msg(TOPIC, 0, "b", "")]),
        Err(StoreError::ShutDown)
    ));
    assert!(matches!(
        cx.store.get(&request(TOPIC, 0, 0, 32)),
        Err(StoreError::ShutDown)
    ));
    cx.store.shutdown().expect("second shutdown");
}

/// After shutdown, the other fallible calls are refused too ("the store refuses work
/// afterwards").
fn shutdown_refuses_other_reads(cx: &Ctx) {
    let put = cx
        .store
        .put(vec![msg(TOPIC, 0, "a", "KEYS\u{1}k\u{2}")])
        .expect("put");
    (cx.settle)();
    cx.store.shutdown().expect("shutdown");
    assert!(matches!(
        cx.store.offset_by_time(TOPIC, 0, T0, Boundary::Lower),
        Err(StoreError::ShutDown)
    ));
    assert!(matches!(
        cx.store.earliest_store_time(TOPIC, 0),
        Err(StoreError::ShutDown)
    ));
    assert!(matches!(
        cx.store.message_at(put.physical_offset),
        Err(StoreError::ShutDown)
    ));
    assert!(matches!(
        cx.store.query_by_key(TOPIC, "k", 10, 0, i64::MAX),
        Err(StoreError::ShutDown)
    ));
}

/// Properties survive the round trip unchanged, whatever their order.
fn properties_round_trip(cx: &Ctx) {
    let properties = "UNIQ_KEY\u{1}ABC\u{2}TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}custom\u{1}v\u{2}";
    cx.store
        .put(vec![msg(TOPIC, 0, "p", properties)])
        .expect("put");
    (cx.settle)();
    let result = get(cx, &request(TOPIC, 0, 0, 1));
    let record = decode(&result.messages[0]);
    assert_eq!(record.properties, properties);
    assert_eq!(
        decode_properties(&record.properties)
            .get("custom")
            .map(String::as_str),
        Some("v")
    );
}

// ---------------------------------------------------------------------------------------
// Both stores
// ---------------------------------------------------------------------------------------

/// `conformance! { case, #[file(ignore = "why")] other_case }` makes `memory::case`,
/// `file::case`, ...; `#[file(...)]` attributes apply to the file store's test only.
macro_rules! conformance {
    ($( $(#[file($($fattr:tt)*)])* $name:ident ),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::run_memory(super::$name);
                }
            )*
        }
        mod file {
            $(
                $(#[$($fattr)*])*
                #[test]
                fn $name() {
                    super::run_file(super::$name);
                }
            )*
        }
    };
}

conformance! {
    put_then_get,
    batch_put_consecutive,
    no_matched_logic_queue,
    offset_statuses,
    read_limits,
    tag_filter,
    filter_scan_window,
    reads_stop_at_consume_queue_file_end,
    topics_and_queues_interleaved,
    message_at_physical_offset,
    offset_by_time,
    earliest_store_time,
    query_by_key,
    invalid_messages_refused,
    oversized_message_refused,
    prepared_messages_invisible,
    arrival_listener,
    shutdown_refuses_work,
    shutdown_refuses_other_reads,
    properties_round_trip,
}
