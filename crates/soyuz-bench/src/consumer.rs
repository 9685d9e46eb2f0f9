//! `soyuz bench consumer`: drains a topic's queues as fast as the broker serves them,
//! one puller per queue over one connection per broker, and reports messages per second
//! and the per-pull latency. It pulls with a subscription in the request (no heartbeat
//! needed) and never commits offsets, so it can be rerun on the same backlog.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use soyuz_model::record::{view_record, RecordRef};
use soyuz_remoting::headers::consumer::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::RemotingClient;
use tokio::task::JoinSet;

use crate::route::{queues, BenchQueue};
use crate::stats::{Latencies, Report, WorkerLatencies};
use crate::BenchError;

/// Consumer load settings.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// NameServer address.
    pub namesrv: String,
    /// Topic.
    pub topic: String,
    /// Consumer group named in the pulls.
    pub group: String,
    /// Messages asked for per pull.
    pub batch: i32,
    /// Stop after this many messages (0 = until the backlog is drained or `duration`).
    pub quantity: u64,
    /// Longest run.
    pub duration: Duration,
}

fn count_records(body: &[u8]) -> u64 {
    let mut rest = body;
    let mut count = 0;
    while let Ok(RecordRef::Message(view)) = view_record(rest, false) {
        count += 1;
        rest = &rest[view.size.min(rest.len())..];
    }
    count
}

async fn drain_queue(
    client: Arc<RemotingClient>,
    options: Arc<ConsumerOptions>,
    queue: BenchQueue,
    received: Arc<AtomicU64>,
    latencies: Arc<Latencies>,
    deadline: Instant,
) {
    let mut mine = WorkerLatencies::default();
    let mut offset = 0;
    let flag = pull_sys_flag::build(false, false, true, false, false);
    while Instant::now() < deadline
        && (options.quantity == 0 || received.load(Ordering::Relaxed) < options.quantity)
    {
        let header = PullMessageRequestHeader {
            consumer_group: options.group.clone(),
            topic: options.topic.clone(),
            queue_id: queue.queue_id,
            queue_offset: offset,
            max_msg_nums: options.batch,
            sys_flag: flag,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".to_owned()),
            sub_version: 0,
            expression_type: Some("TAG".to_owned()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: None,
        };
        let request = RemotingCommand::request_with_header(request_code::PULL_MESSAGE, &header);
        let started = Instant::now();
        let Ok(response) = client
            .invoke(&queue.broker_addr, request, Duration::from_secs(10))
            .await
        else {
            break;
        };
        let Ok(answer) = response.decode_header::<PullMessageResponseHeader>() else {
            break;
        };
        match response.code {
            response_code::SUCCESS => {
                let n = count_records(&response.body);
                mine.record_n(started.elapsed(), n.max(1));
                received.fetch_add(n, Ordering::Relaxed);
                offset = answer.next_begin_offset;
            }
            response_code::PULL_RETRY_IMMEDIATELY | response_code::PULL_OFFSET_MOVED => {
                offset = answer.next_begin_offset
            }
            // The backlog of this queue is drained.
            _ => break,
        }
    }
    latencies.merge(mine);
}

/// Drains the topic and reports messages received.
pub async fn run(options: ConsumerOptions) -> Result<Report, BenchError> {
    let client = Arc::new(RemotingClient::with_defaults());
    let queues = queues(&client, &options.namesrv, &options.topic, true).await?;
    let options = Arc::new(options);
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Latencies::default());
    let started = Instant::now();
    let deadline = started + options.duration;
    let mut pullers = JoinSet::new();
    for queue in queues {
        pullers.spawn(drain_queue(
            client.clone(),
            options.clone(),
            queue,
            received.clone(),
            latencies.clone(),
            deadline,
        ));
    }
    while pullers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    client.shutdown();
    Ok(latencies.report(
        "consumer (per pulled message: pull round trip)",
        received.load(Ordering::Relaxed),
        0,
        elapsed,
    ))
}
