//! The `kill -9` loop (reliability ladder, step 5, for the store alone): a child process
//! appends under SYNC_FLUSH from four threads and logs every acknowledged put; the parent
//! SIGKILLs it at a random moment, reopens the store itself and checks that every
//! acknowledged message is there exactly once, intact and in order. The store carries
//! over from cycle to cycle, so later cycles also recover after earlier ones.
//!
//! The child is this test binary run again with `--exact kill_loop_child`; the child test
//! does nothing unless `SOYUZ_KILL_LOOP_DIR` is set. `SOYUZ_KILL_LOOP_CYCLES` sets the
//! number of cycles (default 50) and `SOYUZ_KILL_LOOP_SEED` replays a run's kill times.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use soyuz_model::record::{verify_properties_crc, view_record, MessageRecord, RecordRef};
use soyuz_store::{
    DefaultMessageStore, FlushDiskType, GetRequest, GetStatus, MessageStore, MessageStoreConfig,
    PutStatus, TagFilter,
};

const DIR_ENV: &str = "SOYUZ_KILL_LOOP_DIR";
const CYCLE_ENV: &str = "SOYUZ_KILL_LOOP_CYCLE";
const CYCLES_ENV: &str = "SOYUZ_KILL_LOOP_CYCLES";
const SEED_ENV: &str = "SOYUZ_KILL_LOOP_SEED";
const TOPIC: &str = "KillLoopTopic";
/// Appending threads in the child; thread `t` writes queue `t`.
const THREADS: usize = 4;
/// Sequence numbers of cycle `c` start at `c * SEQ_STRIDE`, so they rise across cycles.
const SEQ_STRIDE: u64 = 1_000_000_000;
/// A child that was never killed stops by itself after this long.
const CHILD_LIFETIME: Duration = Duration::from_secs(30);

fn config(root: &Path) -> MessageStoreConfig {
    let mut config = MessageStoreConfig::with_root(root);
    // About the store, not this machine's disk: refusing writes at 90% full is tested
    // with an injected disk use (smoke.rs); CI disks have been seen 95% full.
    config.disk_space_warning_level_ratio = 99;
    config.disk_space_clean_forcibly_ratio = 99;
    // Small segments: rolls happen inside the loop.
    config.mapped_file_size_commit_log = 64 * 1024;
    config.mapped_file_size_consume_queue = 2000;
    config.max_message_size = 16 * 1024;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    config.flush_disk_type = FlushDiskType::Sync;
    config.clean_resource_interval = 3_600_000;
    config
}

/// The body of message `seq` of `thread`: its identity, repeated to a length derived
/// from it.
fn body(thread: usize, seq: u64) -> String {
    let head = format!("kill-loop thread={thread} seq={seq} ");
    let len = 40 + ((seq % 997) as usize * 31 + thread * 17) % 300;
    let mut body = head.repeat(len / head.len() + 1);
    body.truncate(len);
    body
}

/// `(thread, seq)` from a body written by [`body`].
fn parse_body(body: &str) -> Option<(usize, u64)> {
    let mut words = body.split(' ');
    (words.next()? == "kill-loop").then_some(())?;
    let thread = words.next()?.strip_prefix("thread=")?.parse().ok()?;
    let seq = words.next()?.strip_prefix("seq=")?.parse().ok()?;
    Some((thread, seq))
}

fn message(thread: usize, seq: u64) -> MessageRecord {
    let host: SocketAddr = "127.0.0.1:10911".parse().expect("addr");
    MessageRecord {
        topic: TOPIC.into(),
        queue_id: thread as i32,
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
        body: Bytes::from(body(thread, seq)),
        properties: format!("KEYS\u{1}t{thread}-s{seq}\u{2}"),
    }
}

/// The child: appends from [`THREADS`] threads until killed, logging each acknowledged
/// put as `thread seq queue_offset`.
#[test]
#[ignore = "the child of kill_loop: runs only when kill_loop re-executes this binary"]
fn kill_loop_child() {
    let Some(dir) = std::env::var_os(DIR_ENV).map(PathBuf::from) else {
        return;
    };
    let cycle: u64 = std::env::var(CYCLE_ENV)
        .ok()
        .and_then(|c| c.parse().ok())
        .expect("cycle number");
    let store = Arc::new(DefaultMessageStore::open(config(&dir.join("store"))).expect("open"));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acks.log"))
        .expect("ack log");
    let log = Arc::new(Mutex::new(log));
    let deadline = Instant::now() + CHILD_LIFETIME;
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let store = store.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                let mut seq = cycle * SEQ_STRIDE;
                while Instant::now() < deadline {
                    let put = store.put(vec![message(thread, seq)]).expect("put");
                    if put.status == PutStatus::PutOk {
                        let line = format!("{thread} {seq} {}\n", put.queue_offset);
                        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                        log.write_all(line.as_bytes()).expect("ack log write");
                        log.flush().expect("ack log flush");
                    }
                    seq += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
}

/// One acknowledged put from the ack log.
#[derive(Debug, Clone, Copy)]
struct Ack {
    thread: usize,
    seq: u64,
    queue_offset: i64,
}

/// Complete lines of the ack log; a torn last line (the child died writing it) is
/// ignored.
fn read_acks(path: &Path) -> Vec<Ack> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let parse = || -> Option<Ack> {
                Some(Ack {
                    thread: fields.first()?.parse().ok()?,
                    seq: fields.get(1)?.parse().ok()?,
                    queue_offset: fields.get(2)?.parse().ok()?,
                })
            };
            match (fields.len(), parse()) {
                (3, Some(ack)) if ack.thread < THREADS => ack,
                _ => panic!("malformed ack line {line:?}"),
            }
        })
        .collect()
}

/// What the parent has verified so far: per thread, the raw record and sequence number
/// at each queue offset. The parent shuts the store down cleanly after each check, so
/// these records are durable and must never change.
type Verified = Vec<Vec<(Bytes, u64)>>;

/// Every message of queue `thread`, as `(queue_offset, seq)`. A record verified in an
/// earlier cycle must be byte-for-byte the same; a new one is checked in full (structure,
/// body CRC, `__CRC32#` property, topic, queue, offsets, body) and remembered.
fn read_queue(
    store: &DefaultMessageStore,
    thread: usize,
    known: &mut Vec<(Bytes, u64)>,
    cycle: u64,
) -> Vec<(i64, u64)> {
    let queue_id = thread as i32;
    let max = store.max_offset(TOPIC, queue_id);
    let mut offset = store.min_offset(TOPIC, queue_id);
    assert_eq!(offset, 0, "nothing is deleted in this test");
    assert!(
        max >= known.len() as i64,
        "cycle {cycle}: queue {thread} shrank from {} to {max} messages",
        known.len()
    );
    let mut out = Vec::new();
    while offset < max {
        let result = store
            .get(&GetRequest {
                topic: TOPIC.into(),
                queue_id,
                offset,
                max_count: 256,
                max_bytes: 4 * 1024 * 1024,
                filter: TagFilter::All,
            })
            .expect("get");
        assert_eq!(
            result.status,
            GetStatus::Found,
            "cycle {cycle}: queue {thread} @{offset} (max {max})"
        );
        for (raw, queue_offset) in result.messages.iter().zip(&result.queue_offsets) {
            let at = *queue_offset as usize;
            if let Some((before, seq)) = known.get(at) {
                assert!(
                    raw == before,
                    "cycle {cycle}: queue {thread} @{queue_offset} changed since it was verified"
                );
                out.push((*queue_offset, *seq));
                continue;
            }
            let what = format!("cycle {cycle}: queue {thread} @{queue_offset}");
            let record = match view_record(raw, true) {
                Ok(RecordRef::Message(record)) => record,
                other => panic!("{what}: not a valid record: {other:?}"),
            };
            assert_ne!(verify_properties_crc(raw), Some(false), "{what}: __CRC32#");
            assert_eq!(record.topic, TOPIC.as_bytes(), "{what}");
            assert_eq!(record.queue_id, queue_id, "{what}");
            assert_eq!(record.queue_offset, *queue_offset, "{what}");
            let text = String::from_utf8_lossy(record.body);
            let (body_thread, seq) =
                parse_body(&text).unwrap_or_else(|| panic!("{what}: body {text:?}"));
            assert_eq!(body_thread, thread, "{what}");
            assert_eq!(text, body(thread, seq), "{what}: body damaged");
            assert_eq!(known.len(), at, "{what}: verified in order");
            known.push((raw.clone(), seq));
            out.push((*queue_offset, seq));
        }
        assert!(result.next_begin_offset > offset);
        offset = result.next_begin_offset;
    }
    out
}

/// Reopens the store, checks every acknowledged message, shuts down cleanly; returns
/// the number of acknowledged messages checked and whether recovery cut a torn tail.
fn verify(dir: &Path, cycle: u64, verified: &mut Verified) -> (usize, bool) {
    let acks = read_acks(&dir.join("acks.log"));
    let store = DefaultMessageStore::open(config(&dir.join("store")))
        .unwrap_or_else(|e| panic!("cycle {cycle}: reopen after SIGKILL failed: {e}"));
    let torn = store.recovered().torn_tail;
    for (thread, known) in verified.iter_mut().enumerate() {
        let stored = read_queue(&store, thread, known, cycle);
        // In order, and each message at most once.
        for pair in stored.windows(2) {
            assert!(
                pair[0].1 < pair[1].1,
                "cycle {cycle}: queue {thread} out of order or duplicated: {pair:?}"
            );
        }
        let by_offset: HashMap<i64, u64> = stored.iter().copied().collect();
        for ack in acks.iter().filter(|a| a.thread == thread) {
            match by_offset.get(&ack.queue_offset) {
                Some(seq) if *seq == ack.seq => {}
                found => panic!(
                    "cycle {cycle}: acknowledged {ack:?} lost: queue offset {} holds {found:?}",
                    ack.queue_offset
                ),
            }
        }
    }
    store.shutdown().expect("shutdown");
    (acks.len(), torn)
}

/// SplitMix64.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn kill_loop() {
    let cycles: u64 = std::env::var(CYCLES_ENV)
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x5eed, |d| d.as_nanos() as u64)
        });
    println!("kill_loop: {cycles} cycles, seed {seed} (replay with {SEED_ENV}={seed})");
    let mut rng = seed;
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let started = Instant::now();
    let mut verified: Verified = vec![Vec::new(); THREADS];
    let (mut acked, mut checks, mut torn_tails, mut early) = (0, 0, 0, 0);
    for cycle in 0..cycles {
        let stderr_path = dir.path().join("child-stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_loop_child",
                "--nocapture",
                "--include-ignored",
            ])
            .env(DIR_ENV, dir.path())
            .env(CYCLE_ENV, cycle.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn child");
        let wait = Duration::from_millis(20 + next_random(&mut rng) % 281);
        std::thread::sleep(wait);
        if let Some(status) = child.try_wait().expect("try_wait") {
            let output = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("cycle {cycle}: the child exited by itself ({status}):\n{output}");
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        if status.success() {
            early += 1;
        }
        let (count, torn) = verify(dir.path(), cycle, &mut verified);
        acked = count;
        checks += count;
        torn_tails += usize::from(torn);
    }
    let segments = std::fs::read_dir(dir.path().join("store").join("commitlog"))
        .map(|d| d.count())
        .unwrap_or(0);
    println!(
        "kill_loop: {cycles} cycles in {:?}: {acked} acknowledged messages, all present \
         exactly once and intact ({checks} checks over all cycles); {torn_tails} torn tails \
         cut; {segments} CommitLog segments; {early} children had already exited",
        started.elapsed()
    );
    assert!(acked > 0, "the children acknowledged nothing");
}
