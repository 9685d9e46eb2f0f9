//! `soyuz bench producer`: like RocketMQ's benchmark `Producer` / `BatchProducer`.
//! `workers` callers each send and wait (sync), or keep a window of sends in flight
//! (async), with single messages or batches, round-robin over the topic's queues, over one
//! connection per broker as RocketMQ clients do.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use soyuz_model::properties::{encode_properties, keys};
use soyuz_model::record::{encode_batch, BatchItem};
use soyuz_remoting::headers::producer::SendMessageRequestHeaderV2;
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::RemotingClient;
use tokio::task::JoinSet;

use crate::route::{queues, BenchQueue};
use crate::stats::{Latencies, Report, WorkerLatencies};
use crate::BenchError;

/// Producer load settings.
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// NameServer address.
    pub namesrv: String,
    /// Topic.
    pub topic: String,
    /// Concurrent callers.
    pub workers: usize,
    /// Body bytes per message.
    pub size: usize,
    /// Messages per request (1 = SEND_MESSAGE_V2, more = SEND_BATCH_MESSAGE).
    pub batch: usize,
    /// Sends each caller keeps in flight (1 = sync sends).
    pub in_flight: usize,
    /// Set a unique key on every message.
    pub keys: bool,
    /// Stop after this many messages (0 = run for `duration`).
    pub quantity: u64,
    /// How long to run when `quantity` is 0.
    pub duration: Duration,
    /// Ordered traffic: each sender keeps to one queue (its sharding key's), so each
    /// queue receives one sender's messages in order.
    pub ordered: bool,
    /// Delay level of every message (0 = none).
    pub delay_level: i32,
}

struct Shared {
    options: ProducerOptions,
    client: RemotingClient,
    queues: Vec<BenchQueue>,
    next_queue: AtomicU64,
    sent: AtomicU64,
    errors: AtomicU64,
    claimed: AtomicU64,
    deadline: Instant,
    /// The properties every message carries, when they do not vary per message.
    fixed_properties: Option<String>,
    latencies: Latencies,
}

impl Shared {
    /// Claims `n` messages of the quantity; false when the run is over.
    fn claim(&self, n: u64) -> bool {
        if self.options.quantity > 0 {
            self.claimed.fetch_add(n, Ordering::Relaxed) < self.options.quantity
        } else {
            Instant::now() < self.deadline
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The properties of message `i` of request `seq`: WAIT=true as the Java client sets, a
/// key when asked for, the delay level.
fn properties(options: &ProducerOptions, seq: u64, i: u64) -> String {
    let mut map = std::collections::BTreeMap::new();
    map.insert(keys::WAIT_STORE_MSG_OK.to_owned(), "true".to_owned());
    if options.keys {
        map.insert(keys::KEYS.to_owned(), format!("bench-{seq}-{i}"));
    }
    if options.delay_level > 0 {
        map.insert(
            keys::DELAY_TIME_LEVEL.to_owned(),
            options.delay_level.to_string(),
        );
    }
    encode_properties(&map)
}

fn request(shared: &Shared, queue: &BenchQueue, body: &Bytes, seq: u64) -> RemotingCommand {
    let options = &shared.options;
    // Without per-message keys every message's properties are the same string.
    let properties = |i: u64| match &shared.fixed_properties {
        Some(fixed) => fixed.clone(),
        None => properties(options, seq, i),
    };
    let batch = options.batch > 1;
    let header = SendMessageRequestHeaderV2 {
        a: "benchmark_producer".to_owned(),
        b: options.topic.clone(),
        c: "TBW102".to_owned(),
        d: 4,
        e: queue.queue_id,
        f: 0,
        g: now_millis(),
        h: 0,
        i: (!batch).then(|| properties(0)),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(batch),
        n: None,
    };
    if batch {
        let items: Vec<BatchItem> = (0..options.batch as u64)
            .map(|i| BatchItem {
                flag: 0,
                body: body.clone(),
                properties: properties(i),
            })
            .collect();
        RemotingCommand::request_with_header(request_code::SEND_BATCH_MESSAGE, &header)
            .with_body(encode_batch(&items))
    } else {
        RemotingCommand::request_with_header(request_code::SEND_MESSAGE_V2, &header)
            .with_body(body.clone())
    }
}

async fn send_one(shared: &Shared, body: &Bytes, sender: usize) -> (Duration, bool) {
    let seq = shared.next_queue.fetch_add(1, Ordering::Relaxed);
    let pick = if shared.options.ordered {
        sender as u64
    } else {
        seq
    };
    let queue = &shared.queues[(pick % shared.queues.len() as u64) as usize];
    let request = request(shared, queue, body, seq);
    let started = Instant::now();
    let ok = matches!(
        shared.client.invoke(&queue.broker_addr, request, Duration::from_secs(10)).await,
        Ok(response) if response.code == response_code::SUCCESS
    );
    (started.elapsed(), ok)
}

async fn worker(shared: Arc<Shared>, sender: usize) {
    let body = Bytes::from(vec![b'a'; shared.options.size]);
    let per_request = shared.options.batch.max(1) as u64;
    let mut mine = WorkerLatencies::default();
    let mut in_flight = JoinSet::new();
    // An ordered sender waits for each send before the next, like a producer that must
    // keep its key's order.
    let window = if shared.options.ordered {
        1
    } else {
        shared.options.in_flight.max(1)
    };
    if window == 1 {
        // One send at a time: call it here, as the echo baseline does, instead of paying
        // a task per send.
        while shared.claim(per_request) {
            let (latency, ok) = send_one(&shared, &body, sender).await;
            record(&shared, &mut mine, latency, ok, per_request);
        }
        shared.latencies.merge(mine);
        return;
    }
    loop {
        while in_flight.len() < window && shared.claim(per_request) {
            let (shared, body) = (shared.clone(), body.clone());
            in_flight.spawn(async move { send_one(&shared, &body, sender).await });
        }
        let Some(finished) = in_flight.join_next().await else {
            break;
        };
        if let Ok((latency, ok)) = finished {
            record(&shared, &mut mine, latency, ok, per_request);
        }
    }
    shared.latencies.merge(mine);
}

fn record(shared: &Shared, mine: &mut WorkerLatencies, latency: Duration, ok: bool, n: u64) {
    if ok {
        mine.record_n(latency, n);
        shared.sent.fetch_add(n, Ordering::Relaxed);
    } else {
        shared.errors.fetch_add(n, Ordering::Relaxed);
    }
}

/// Runs the producer load and reports messages sent.
pub async fn run(options: ProducerOptions) -> Result<Report, BenchError> {
    let client = RemotingClient::with_defaults();
    let queues = queues(&client, &options.namesrv, &options.topic, false).await?;
    let fixed_properties = (!options.keys).then(|| properties(&options, 0, 0));
    let shared = Arc::new(Shared {
        deadline: Instant::now() + options.duration,
        fixed_properties,
        client,
        queues,
        next_queue: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        claimed: AtomicU64::new(0),
        latencies: Latencies::default(),
        options,
    });
    // Warm up: the first send creates the topic and opens the connection.
    let (_, ok) = send_one(&shared, &Bytes::from(vec![b'a'; shared.options.size]), 0).await;
    if !ok {
        return Err(BenchError::Protocol(
            "the first send failed; is the broker up and the topic writable?".into(),
        ));
    }
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for sender in 0..shared.options.workers.max(1) {
        workers.spawn(worker(shared.clone(), sender));
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    shared.client.shutdown();
    let mut label = match (shared.options.batch > 1, shared.options.in_flight > 1) {
        (true, _) => format!("producer (batches of {})", shared.options.batch),
        (false, true) => "producer (async)".to_owned(),
        (false, false) => "producer (sync)".to_owned(),
    };
    if shared.options.ordered {
        label.push_str(", ordered: one queue per sender");
    }
    if shared.options.delay_level > 0 {
        label.push_str(&format!(", delay level {}", shared.options.delay_level));
    }
    Ok(shared.latencies.report(
        &label,
        shared.sent.load(Ordering::Relaxed),
        shared.errors.load(Ordering::Relaxed),
        elapsed,
    ))
}
