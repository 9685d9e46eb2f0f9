//! Store benchmark: the file store alone (no network, no protocol), set against the raw
//! disk it runs on, every figure and ratio measured in the same run.
//!
//! ```sh
//! cargo bench -p soyuz-store --bench store
//! cargo bench -p soyuz-store --bench store -- --dir /data/tmp --seconds 10 --mb 256
//! ```
//!
//! Options (after `--`; unknown flags such as cargo's `--bench` are ignored):
//!
//! * `--dir DIR`: where the scratch directory goes (default: the system temp dir). The
//!   bench works in `DIR/soyuz-store-bench-<pid>/` and deletes it at the end. Put it on
//!   the disk you want to measure.
//! * `--seconds N`: time cap of each throughput phase (default 10). A phase also stops
//!   after `--mb` of data, whichever comes first.
//! * `--mb N`: data volume of the raw write and of each ASYNC_FLUSH phase, in MB
//!   (default 256).
//! * `--sync-seconds N`: length of each SYNC_FLUSH phase (default 4).
//! * `--keep`: leave the scratch directory in place.
//!
//! With the defaults the whole run takes about 30-40 s (the phases are capped so it
//! stays under a minute even on a slow disk). MB are 10^6 bytes; every message has a
//! 1 KiB body, a topic, a TAGS property and a 32-hex-digit UNIQ_KEY like a Java
//! producer's, so a record is about 1.1 KB.
//!
//! The figures:
//!
//! * **(a) raw disk**: 1 KiB `pwrite`s at increasing offsets into a pre-sized (sparse)
//!   file, as the store's segments are, then one `fdatasync`; MB/s over the writes plus
//!   that final sync, and separately the write part alone (page-cache speed) and the
//!   sync alone. Then the raw fsync rate: a 1 KiB write plus `fdatasync`, in a loop for
//!   2 s: syncs per second and the latency of each write + sync. These are the ceilings
//!   the store is compared against.
//! * **(b) ASYNC_FLUSH append** (`MessageStoreConfig::with_root` defaults: 1 GiB
//!   segments, background flush every 500 ms): one thread putting one message per `put`,
//!   then four threads (one queue each). "acked" is the time until the last put returned
//!   (the data is in the OS, not yet durable); "durable" adds the wait until
//!   `flushed_offset` covers everything (up to one flush interval late by design). MB/s
//!   counts record bytes. The ratios set acked MB/s against (a) with its final sync and
//!   against (a)'s write part alone; durable MB/s against (a) with the sync.
//!   "dispatch lag" is how long the ConsumeQueues took to catch up after the last put.
//! * **(c) SYNC_FLUSH** with 1, 16 and 64 threads, each `put` waiting for the group
//!   commit that makes it durable: msgs/s, fsyncs/s and messages per fsync (messages
//!   divided by the growth of `flush_rounds()`), and put latency percentiles. One thread
//!   cannot beat the raw fsync rate; more threads share each fsync.
//! * **(d) reads** (after (b), data in the page cache): the one-thread queue of (b) read
//!   back with `get()` in batches of 32 from one thread (ConsumeQueue lookup + CommitLog
//!   read), msgs/s and MB/s of record bytes; then the bare ConsumeQueue scan (20-byte
//!   units, 32 per read, the queue opened directly) in units/s.

// A benchmark's output is its report.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bytes::Bytes;
use soyuz_model::record::MessageRecord;
use soyuz_store::consume_queue::ConsumeQueue;
use soyuz_store::io::OsFs;
use soyuz_store::{
    DefaultMessageStore, FlushDiskType, GetRequest, GetStatus, MessageStore, MessageStoreConfig,
    PutStatus, TagFilter,
};

type Res<T> = Result<T, Box<dyn Error>>;

const KIB: usize = 1024;
const MB: f64 = 1_000_000.0;
const BODY_LEN: usize = KIB;
const GET_BATCH: usize = 32;

struct Args {
    dir: PathBuf,
    seconds: f64,
    mb: u64,
    sync_seconds: f64,
    keep: bool,
}

fn parse_args() -> Res<Args> {
    let mut args = Args {
        dir: std::env::temp_dir(),
        seconds: 10.0,
        mb: 256,
        sync_seconds: 4.0,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--dir" => args.dir = PathBuf::from(value("--dir")?),
            "--seconds" => args.seconds = value("--seconds")?.parse()?,
            "--mb" => args.mb = value("--mb")?.parse()?,
            "--sync-seconds" => args.sync_seconds = value("--sync-seconds")?.parse()?,
            "--keep" => args.keep = true,
            _ => {} // `--bench` from cargo, or anything else: ignored
        }
    }
    if args.seconds <= 0.0 || args.sync_seconds <= 0.0 || args.mb == 0 {
        return Err("--seconds, --sync-seconds and --mb must be positive".into());
    }
    Ok(args)
}

/// Latency percentiles of a sample.
struct Latency {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let at = |q: f64| {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i]
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }

    fn line(&self) -> String {
        format!(
            "p50 {} / p99 {} / max {}",
            fmt_dur(self.p50),
            fmt_dur(self.p99),
            fmt_dur(self.max)
        )
    }
}

fn fmt_dur(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} us")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn rate(n: f64, elapsed: Duration) -> f64 {
    n / elapsed.as_secs_f64().max(1e-9)
}

fn mb_s(bytes: u64, elapsed: Duration) -> f64 {
    rate(bytes as f64, elapsed) / MB
}

// ---------------------------------------------------------------------------------------
// (a) the raw disk

struct RawDisk {
    /// MB/s of the writes plus the final fdatasync.
    with_sync_mb_s: f64,
    /// MB/s of the writes alone.
    write_only_mb_s: f64,
    fsync_per_s: f64,
}

fn raw_disk(dir: &Path, args: &Args) -> Res<RawDisk> {
    println!("(a) raw disk");
    let path = dir.join("raw-write.dat");
    let total = args.mb * 1_000_000 / KIB as u64 * KIB as u64;
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    file.set_len(total)?;
    let chunk = vec![0xA5u8; KIB];
    let limit = Duration::from_secs_f64(args.seconds);
    let start = Instant::now();
    let mut written = 0u64;
    while written < total {
        file.write_all_at(&chunk, written)?;
        written += KIB as u64;
        if written.is_multiple_of(1 << 20) && start.elapsed() >= limit {
            break;
        }
    }
    let writes_done = start.elapsed();
    file.sync_data()?;
    let elapsed = start.elapsed();
    let sync_time = elapsed - writes_done;
    drop(file);
    std::fs::remove_file(&path)?;
    let with_sync_mb_s = mb_s(written, elapsed);
    let write_only_mb_s = mb_s(written, writes_done);
    println!(
        "  sequential 1 KiB pwrite + final fdatasync: {:.0} MB in {:.2} s = {with_sync_mb_s:.1} MB/s",
        written as f64 / MB,
        elapsed.as_secs_f64()
    );
    println!(
        "    of which writes {:.2} s ({write_only_mb_s:.1} MB/s, page cache), final fdatasync {:.2} s",
        writes_done.as_secs_f64(),
        sync_time.as_secs_f64()
    );

    // fsync rate: small write + fdatasync, appending like a SYNC_FLUSH CommitLog.
    let path = dir.join("raw-fsync.dat");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let span = 64 * 1024 * 1024u64;
    file.set_len(span)?;
    file.sync_all()?;
    let mut latencies = Vec::new();
    let start = Instant::now();
    let mut offset = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        let t = Instant::now();
        file.write_all_at(&chunk, offset)?;
        file.sync_data()?;
        latencies.push(t.elapsed());
        offset = (offset + KIB as u64) % span;
    }
    let elapsed = start.elapsed();
    drop(file);
    std::fs::remove_file(&path)?;
    let fsync_per_s = rate(latencies.len() as f64, elapsed);
    let count = latencies.len();
    let latency = Latency::of(latencies);
    println!(
        "  1 KiB write + fdatasync loop: {count} in {:.2} s = {fsync_per_s:.0} fsyncs/s; {}",
        elapsed.as_secs_f64(),
        latency.line()
    );
    Ok(RawDisk {
        with_sync_mb_s,
        write_only_mb_s,
        fsync_per_s,
    })
}

// ---------------------------------------------------------------------------------------
// Messages and appenders

fn host() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 10911))
}

fn message(topic: &str, queue_id: i32, body: &Bytes, seq: u64) -> MessageRecord {
    MessageRecord {
        topic: topic.to_owned(),
        queue_id,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: host(),
        store_timestamp: 0,
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: body.clone(),
        properties: format!(
            "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}{:016X}{seq:016X}\u{2}WAIT\u{1}true\u{2}",
            queue_id as u64
        ),
    }
}

/// What the appender threads of one phase did.
struct Appended {
    messages: u64,
    bytes: u64,
    timeouts: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Runs `threads` appenders on `topic` (thread `i` on queue `i`) until `deadline_after`
/// passes or, if given, `byte_target` record bytes are stored.
fn append(
    store: &DefaultMessageStore,
    topic: &str,
    threads: usize,
    deadline_after: Duration,
    byte_target: Option<u64>,
) -> Res<Appended> {
    let body = Bytes::from(vec![b'x'; BODY_LEN]);
    let bytes = AtomicU64::new(0);
    let barrier = Barrier::new(threads + 1);
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (body, bytes, barrier) = (&body, &bytes, &barrier);
                scope.spawn(move || -> Result<(u64, u64, Vec<Duration>), String> {
                    let mut latencies = Vec::with_capacity(1 << 16);
                    let mut timeouts = 0;
                    barrier.wait();
                    let start = Instant::now();
                    let mut seq = 0u64;
                    loop {
                        let msg = message(topic, i as i32, body, seq);
                        let t = Instant::now();
                        let put = store.put(vec![msg]).map_err(|e| e.to_string())?;
                        latencies.push(t.elapsed());
                        if put.status == PutStatus::FlushDiskTimeout {
                            timeouts += 1;
                        }
                        seq += 1;
                        let total =
                            bytes.fetch_add(put.wrote_bytes, Ordering::Relaxed) + put.wrote_bytes;
                        if byte_target.is_some_and(|target| total >= target)
                            || start.elapsed() >= deadline_after
                        {
                            return Ok((seq, timeouts, latencies));
                        }
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let joined: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("an appender thread panicked"))
            .collect();
        (start.elapsed(), joined)
    });
    let (elapsed, joined) = results;
    let mut out = Appended {
        messages: 0,
        bytes: bytes.load(Ordering::Relaxed),
        timeouts: 0,
        elapsed,
        latencies: Vec::new(),
    };
    for result in joined {
        let (messages, timeouts, latencies) = result?;
        out.messages += messages;
        out.timeouts += timeouts;
        out.latencies.extend(latencies);
    }
    Ok(out)
}

/// Polls until `done` holds; returns how long it took, or `None` after `timeout`.
fn wait_until(timeout: Duration, done: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    Some(start.elapsed())
}

// ---------------------------------------------------------------------------------------
// (b) ASYNC_FLUSH and (d) reads

fn async_phase(
    store: &DefaultMessageStore,
    raw: &RawDisk,
    args: &Args,
    topic: &str,
    threads: usize,
) -> Res<u64> {
    let target = args.mb * 1_000_000;
    let run = append(
        store,
        topic,
        threads,
        Duration::from_secs_f64(args.seconds),
        Some(target),
    )?;
    let end = store.commit_log_max_offset();
    let flush_wait =
        wait_until(Duration::from_secs(30), || store.flushed_offset() >= end).unwrap_or_default();
    let dispatch_lag = wait_until(Duration::from_secs(30), || store.dispatched_offset() >= end)
        .ok_or("dispatch did not catch up within 30 s")?;
    let acked = mb_s(run.bytes, run.elapsed);
    let durable_time = run.elapsed + flush_wait;
    let durable = mb_s(run.bytes, durable_time);
    println!(
        "  {threads} thread{}: {} msgs, {:.0} MB of records in {:.2} s",
        if threads == 1 { "" } else { "s" },
        run.messages,
        run.bytes as f64 / MB,
        run.elapsed.as_secs_f64()
    );
    println!(
        "    acked:   {:.0} msgs/s, {acked:.1} MB/s = {:.2} x raw (a) incl. fsync, {:.2} x raw writes alone",
        rate(run.messages as f64, run.elapsed),
        acked / raw.with_sync_mb_s,
        acked / raw.write_only_mb_s
    );
    println!(
        "    durable: {:.1} MB/s = {:.2} x raw (a) incl. fsync (flushed {} after the last put)",
        durable,
        durable / raw.with_sync_mb_s,
        fmt_dur(flush_wait)
    );
    println!(
        "    put latency {}; dispatch lag after the last put {}",
        Latency::of(run.latencies).line(),
        fmt_dur(dispatch_lag)
    );
    Ok(run.messages)
}

fn read_phase(store: &DefaultMessageStore, topic: &str, expected: u64) -> Res<()> {
    let mut offset = 0i64;
    let mut messages = 0u64;
    let mut bytes = 0u64;
    let start = Instant::now();
    loop {
        let result = store.get(&GetRequest {
            topic: topic.to_owned(),
            queue_id: 0,
            offset,
            max_count: GET_BATCH,
            max_bytes: 4 * 1024 * 1024,
            filter: TagFilter::All,
        })?;
        if result.status != GetStatus::Found {
            break;
        }
        for raw in &result.messages {
            // Cheap sanity check: each record starts with its own length.
            let size = raw
                .get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            if size != Some(raw.len() as u32) {
                return Err(format!("bad record at queue offset {offset}").into());
            }
            bytes += raw.len() as u64;
        }
        messages += result.messages.len() as u64;
        offset = result.next_begin_offset;
    }
    let elapsed = start.elapsed();
    if messages != expected {
        return Err(format!("read back {messages} messages, wrote {expected}").into());
    }
    println!(
        "  get() x{GET_BATCH}, 1 thread: {messages} msgs in {:.2} s = {:.0} msgs/s, {:.1} MB/s",
        elapsed.as_secs_f64(),
        rate(messages as f64, elapsed),
        mb_s(bytes, elapsed)
    );
    Ok(())
}

fn cq_scan(config: &MessageStoreConfig, topic: &str, expected: u64) -> Res<()> {
    let queue = ConsumeQueue::open(
        Arc::new(OsFs),
        &config.consume_queue_dir(),
        topic,
        0,
        config.mapped_file_size_consume_queue,
    )?;
    let start = Instant::now();
    let mut offset = 0i64;
    let mut units = 0u64;
    let mut checksum = 0u64;
    loop {
        let batch = queue.units_from(offset, GET_BATCH)?;
        if batch.is_empty() {
            break;
        }
        for unit in &batch {
            checksum = checksum.wrapping_add(unit.commit_log_offset);
        }
        units += batch.len() as u64;
        offset += batch.len() as i64;
    }
    let elapsed = start.elapsed();
    if units != expected || checksum == 0 && units > 1 {
        return Err(format!("scanned {units} ConsumeQueue units, expected {expected}").into());
    }
    println!(
        "  ConsumeQueue scan x{GET_BATCH} (units_from): {units} units in {:.3} s = {:.0} units/s, {:.1} MB/s of units",
        elapsed.as_secs_f64(),
        rate(units as f64, elapsed),
        mb_s(units * 20, elapsed)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// (c) SYNC_FLUSH

fn sync_phase(store: &DefaultMessageStore, raw: &RawDisk, args: &Args, threads: usize) -> Res<()> {
    let rounds_before = store.flush_rounds();
    let run = append(
        store,
        &format!("BenchSync{threads}"),
        threads,
        Duration::from_secs_f64(args.sync_seconds),
        None,
    )?;
    let rounds = store.flush_rounds() - rounds_before;
    let fsyncs_per_s = rate(rounds as f64, run.elapsed);
    println!(
        "  {threads:>2} thread{}: {} msgs in {:.2} s = {:.0} msgs/s, {:.1} MB/s; {rounds} fsyncs = {fsyncs_per_s:.0}/s ({:.2} x raw fsync rate), {:.1} msgs/fsync{}",
        if threads == 1 { " " } else { "s" },
        run.messages,
        run.elapsed.as_secs_f64(),
        rate(run.messages as f64, run.elapsed),
        mb_s(run.bytes, run.elapsed),
        fsyncs_per_s / raw.fsync_per_s,
        run.messages as f64 / rounds.max(1) as f64,
        if run.timeouts > 0 {
            format!(", {} FLUSH_DISK_TIMEOUT", run.timeouts)
        } else {
            String::new()
        }
    );
    println!("      put latency {}", Latency::of(run.latencies).line());
    Ok(())
}

// ---------------------------------------------------------------------------------------

fn run(dir: &Path, args: &Args) -> Res<()> {
    let raw = raw_disk(dir, args)?;

    println!("(b) ASYNC_FLUSH append, 1 KiB bodies, one message per put");
    let config = MessageStoreConfig::with_root(dir.join("async"));
    let store = DefaultMessageStore::open(config.clone())?;
    let one = async_phase(&store, &raw, args, "BenchAsync1", 1)?;
    async_phase(&store, &raw, args, "BenchAsync4", 4)?;

    println!("(d) reads of the 1-thread queue of (b), from the page cache");
    read_phase(&store, "BenchAsync1", one)?;
    store.shutdown()?;
    drop(store);
    cq_scan(&config, "BenchAsync1", one)?;
    std::fs::remove_dir_all(dir.join("async"))?;

    println!("(c) SYNC_FLUSH append, each put waiting for its group commit");
    let mut config = MessageStoreConfig::with_root(dir.join("sync"));
    config.flush_disk_type = FlushDiskType::Sync;
    let store = DefaultMessageStore::open(config)?;
    for threads in [1, 16, 64] {
        sync_phase(&store, &raw, args, threads)?;
    }
    store.shutdown()?;
    drop(store);
    std::fs::remove_dir_all(dir.join("sync"))?;
    Ok(())
}

fn main() -> Res<()> {
    let args = parse_args()?;
    let dir = args
        .dir
        .join(format!("soyuz-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "soyuz-store bench: dir {}, {} CPUs, phases capped at {} s / {} MB, SYNC_FLUSH phases {} s",
        dir.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.seconds,
        args.mb,
        args.sync_seconds
    );
    let started = Instant::now();
    let result = run(&dir, &args);
    if args.keep {
        println!("kept {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        println!("could not remove {}: {e}", dir.display());
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    result
}
