//! The file store end to end: put, dispatch, get, restart.

use std::time::Duration;

use soyuz_model::record::{decode_record, DecodedRecord, MessageRecord};
use soyuz_store::{
    DefaultMessageStore, GetRequest, GetStatus, MessageStore, MessageStoreConfig, TagFilter,
};

fn config(dir: &std::path::Path) -> MessageStoreConfig {
    let mut config = MessageStoreConfig::with_root(dir);
    // About the store, not this machine's disk: refusing writes at 90% full is tested
    // with an injected disk use (smoke.rs); CI disks have been seen 95% full.
    config.disk_space_warning_level_ratio = 99;
    config.disk_space_clean_forcibly_ratio = 99;
    config.mapped_file_size_commit_log = 64 * 1024;
    config.mapped_file_size_consume_queue = 20 * 100;
    config.max_message_size = 16 * 1024;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    config
}

fn message(topic: &str, queue_id: i32, body: &str) -> MessageRecord {
    soyuz_testkit::record(
        topic,
        queue_id,
        body,
        &format!("TAGS\u{1}TagA\u{2}KEYS\u{1}k-{body}\u{2}"),
    )
}

fn read_all(store: &DefaultMessageStore, topic: &str, queue_id: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let result = store
            .get(&GetRequest {
                topic: topic.into(),
                queue_id,
                offset,
                max_count: 32,
                max_bytes: 256 * 1024,
                filter: TagFilter::All,
            })
            .expect("get");
        if result.status != GetStatus::Found {
            return out;
        }
        for raw in &result.messages {
            match decode_record(raw, true).expect("valid record") {
                DecodedRecord::Message(record, _) => {
                    out.push(String::from_utf8(record.body.to_vec()).expect("utf8"))
                }
                DecodedRecord::Blank(_) => panic!("blank in a pull"),
            }
        }
        offset = result.next_begin_offset;
    }
}

#[test]
fn put_get_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bodies: Vec<String> = (0..500)
        .map(|i| format!("message-{i}-{}", "x".repeat(i % 300)))
        .collect();
    {
        let store = DefaultMessageStore::open(config(dir.path())).expect("open");
        for body in &bodies {
            store.put(vec![message("TopicTest", 1, body)]).expect("put");
        }
        assert!(store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(5)));
        assert_eq!(store.max_offset("TopicTest", 1), 500);
        assert_eq!(read_all(&store, "TopicTest", 1), bodies);
        assert!(
            store.inner_segments() > 1,
            "the test spans several segments"
        );
        store.shutdown().expect("shutdown");
    }
    let store = DefaultMessageStore::open(config(dir.path())).expect("reopen");
    let recovered = store.recovered();
    assert!(!recovered.torn_tail);
    // After a clean shutdown everything was dispatched: nothing is dispatched again,
    // though the last segment is still verified.
    assert_eq!(recovered.dispatch_from, recovered.end);
    assert!(recovered.scan_start < recovered.end);
    assert_eq!(store.max_offset("TopicTest", 1), 500);
    assert_eq!(read_all(&store, "TopicTest", 1), bodies);
    let put = store
        .put(vec![message("TopicTest", 1, "after restart")])
        .expect("put");
    assert_eq!(put.queue_offset, 500);
}

#[test]
fn records_carry_a_valid_crc_property_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DefaultMessageStore::open(config(dir.path())).expect("open");
    let put = store
        .put(vec![message("TopicTest", 0, "sealed")])
        .expect("put");
    let raw = store
        .message_at(put.physical_offset)
        .expect("read")
        .expect("present");
    assert_eq!(soyuz_model::record::verify_properties_crc(&raw), Some(true));
    match decode_record(&raw, true).expect("valid") {
        DecodedRecord::Message(record, _) => {
            let properties = soyuz_model::properties::decode_properties(&record.properties);
            assert_eq!(properties.get("TAGS").map(String::as_str), Some("TagA"));
            assert!(properties.contains_key("__CRC32#"));
        }
        DecodedRecord::Blank(_) => panic!("blank"),
    }
}

#[test]
fn a_full_disk_refuses_writes_from_open_until_space_is_freed() {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use soyuz_model::SystemClock;
    use soyuz_store::io::{FaultConfig, FaultyFs, OsFs};
    use soyuz_store::StoreError;

    let dir = tempfile::tempdir().expect("tempdir");
    let faults = FaultConfig::healthy();
    faults.disk_used_percent.store(95, Ordering::SeqCst);
    let fs = Arc::new(FaultyFs::new(OsFs, faults.clone()));
    let mut config = config(dir.path());
    config.disk_space_warning_level_ratio = 90;
    let store = DefaultMessageStore::open_with(config, fs, Arc::new(SystemClock)).expect("open");
    assert!(
        matches!(
            store.put(vec![message("T", 0, "refused")]),
            Err(StoreError::DiskFull)
        ),
        "a disk at 95% (limit 90%) refuses the first put, before any cleaner round"
    );
    faults.disk_used_percent.store(60, Ordering::SeqCst);
    let report = store.clean_expired_files(0, false).expect("cleaner round");
    assert_eq!((report.disk_used_percent, report.disk_full), (60, false));
    store
        .put(vec![message("T", 0, "accepted")])
        .expect("space freed: writes resume");
    assert!(store.wait_dispatched(store.commit_log_max_offset(), Duration::from_secs(5)));
    assert_eq!(read_all(&store, "T", 0), ["accepted"]);
}
