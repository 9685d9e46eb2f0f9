//! Orderly push consumers against a real in-process NameServer and broker: queue locks,
//! per-key order across a rebalance, suspending a queue, and the DLQ after the attempts.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Cluster};
use parking_lot::Mutex;
use soyuz_client::{
    ConsumeFromWhere, Message, MessageExt, MessageQueue, OrderlyResult, Producer, ProducerOptions,
    PullConsumer, PullConsumerOptions, PullStatus, PushConsumer, PushConsumerOptions,
    SelectMessageQueueByHash,
};

const KEYS: usize = 20;
const PER_KEY: usize = 50;

fn producer_options(cluster: &Cluster, group: &str) -> ProducerOptions {
    ProducerOptions {
        client: cluster.client_config(),
        ..ProducerOptions::new(cluster.namesrv.clone(), group)
    }
}

fn consumer_options(cluster: &Cluster, group: &str) -> PushConsumerOptions {
    PushConsumerOptions {
        client: cluster.client_config(),
        consume_from_where: ConsumeFromWhere::FirstOffset,
        pull_delay_when_exception: Duration::from_millis(200),
        suspend_current_queue_time: Duration::from_millis(200),
        lock_interval: Duration::from_secs(1),
        offset_store_dir: cluster.scratch.path().join("offsets"),
        ..PushConsumerOptions::new(cluster.namesrv.clone(), group)
    }
}

fn text(message: &MessageExt) -> String {
    String::from_utf8_lossy(&message.body).into_owned()
}

/// What both orderly consumers saw: `(key, seq)` in consumption order, and whether two
/// calls ever overlapped on one queue.
#[derive(Default)]
struct Log {
    seen: Mutex<Vec<(usize, usize, &'static str)>>,
    in_flight: Mutex<HashSet<i32>>,
    overlaps: Mutex<usize>,
}

impl Log {
    fn listener(
        self: &Arc<Self>,
        who: &'static str,
    ) -> impl Fn(&[MessageExt]) -> OrderlyResult + Send + Sync + 'static {
        let log = self.clone();
        move |messages: &[MessageExt]| {
            let queue = messages[0].queue_id;
            if !log.in_flight.lock().insert(queue) {
                *log.overlaps.lock() += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
            for m in messages {
                let body = text(m);
                let (key, seq) = body.split_once(':').expect("key:seq");
                log.seen
                    .lock()
                    .push((key.parse().expect("key"), seq.parse().expect("seq"), who));
            }
            log.in_flight.lock().remove(&queue);
            OrderlyResult::Success
        }
    }

    fn distinct(&self) -> usize {
        self.seen
            .lock()
            .iter()
            .map(|(k, s, _)| (*k, *s))
            .collect::<BTreeSet<_>>()
            .len()
    }
}

async fn send_range(producer: &Producer, seqs: std::ops::Range<usize>) {
    for seq in seqs {
        for key in 0..KEYS {
            producer
                .send_with_selector(
                    Message::new("OrderlyKeys", format!("{key}:{seq}"))
                        .with_keys([key.to_string()]),
                    &SelectMessageQueueByHash,
                    &key.to_string(),
                )
                .await
                .expect("ordered send");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_stays_in_order_across_a_rebalance() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-orderly"))
        .await
        .expect("producer starts");
    send_range(&producer, 0..PER_KEY / 2).await;
    cluster.wait_for_route("OrderlyKeys").await;

    let log = Arc::new(Log::default());
    let first =
        PushConsumer::new_orderly(consumer_options(&cluster, "CG-orderly"), log.listener("a"));
    first.subscribe("OrderlyKeys", "*").expect("subscribes");
    first.start().await.expect("starts");
    eventually("the first consumer consuming", || async {
        (log.distinct() >= 100).then_some(())
    })
    .await;

    // A second member: the queues are split, each handed over under the broker's locks.
    let second =
        PushConsumer::new_orderly(consumer_options(&cluster, "CG-orderly"), log.listener("b"));
    second.subscribe("OrderlyKeys", "*").expect("subscribes");
    second.start().await.expect("starts");
    send_range(&producer, PER_KEY / 2..PER_KEY).await;

    let of_topic = |c: &PushConsumer| -> BTreeSet<i32> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == "OrderlyKeys")
            .map(|q| q.queue_id)
            .collect()
    };
    eventually("both consumers holding queues", || async {
        let (a, b) = (of_topic(&first), of_topic(&second));
        (!a.is_empty() && !b.is_empty() && a.is_disjoint(&b)).then_some(())
    })
    .await;
    eventually("every message consumed", || async {
        (log.distinct() == KEYS * PER_KEY).then_some(())
    })
    .await;

    let seen = log.seen.lock().clone();
    let mut by_key: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (key, seq, _) in &seen {
        by_key.entry(*key).or_default().push(*seq);
    }
    assert_eq!(by_key.len(), KEYS);
    for (key, seqs) in &by_key {
        // In order; a re-delivery restarts at an earlier message and goes on in order.
        assert_eq!(seqs[0], 0, "key {key}: {seqs:?}");
        let mut max = 0;
        for seq in &seqs[1..] {
            assert!(*seq <= max + 1, "key {key} out of order: {seqs:?}");
            max = max.max(*seq);
        }
    }
    assert!(
        seen.iter().any(|(_, _, who)| *who == "b"),
        "the second consumer got messages"
    );
    assert_eq!(*log.overlaps.lock(), 0, "one call at a time per queue");

    second.shutdown().await;
    first.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_queue_gets_the_same_message_again_then_the_dlq() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-suspend"))
        .await
        .expect("producer starts");
    let topic = "OrderlySuspend";
    producer
        .send(Message::new(topic, "creates the topic"))
        .await
        .expect("send");
    let queues = producer
        .fetch_publish_message_queues(topic)
        .await
        .expect("queues");
    let target: MessageQueue = queues
        .iter()
        .find(|q| q.queue_id == 0)
        .expect("queue 0")
        .clone();
    let mut last_offset = 0;
    for body in ["m0", "m1", "m2"] {
        last_offset = producer
            .send_to_queue(Message::new(topic, body), &target)
            .await
            .expect("send")
            .queue_offset;
    }
    cluster.wait_for_route(topic).await;

    let deliveries: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
    let suspends: Arc<Mutex<usize>> = Arc::default();
    let listener = {
        let (deliveries, suspends) = (deliveries.clone(), suspends.clone());
        move |messages: &[MessageExt]| {
            let m = &messages[0];
            let body = text(m);
            if m.queue_id != 0 || !body.starts_with('m') {
                return OrderlyResult::Success;
            }
            deliveries.lock().push((body.clone(), m.reconsume_times));
            let suspend = match body.as_str() {
                "m0" => m.reconsume_times < 2,
                "m1" => true,
                _ => false,
            };
            if suspend {
                *suspends.lock() += 1;
                OrderlyResult::SuspendCurrentQueueAMoment
            } else {
                OrderlyResult::Success
            }
        }
    };
    let group = "CG-suspend";
    let consumer = PushConsumer::new_orderly(
        PushConsumerOptions {
            max_reconsume_times: 3,
            ..consumer_options(&cluster, group)
        },
        listener,
    );
    consumer.subscribe(topic, "*").expect("subscribes");
    consumer.start().await.expect("starts");

    eventually("m2 consumed", || async {
        deliveries
            .lock()
            .iter()
            .any(|(b, _)| b == "m2")
            .then_some(())
    })
    .await;
    let got = deliveries.lock().clone();
    let expected: Vec<(String, i32)> = [
        ("m0", 0),
        ("m0", 1),
        ("m0", 2),
        ("m1", 0),
        ("m1", 1),
        ("m1", 2),
        ("m1", 3),
        ("m2", 0),
    ]
    .iter()
    .map(|(b, r)| ((*b).to_owned(), *r))
    .collect();
    assert_eq!(got, expected, "suspended messages come again, in place");
    assert_eq!(*suspends.lock(), 6);
    eventually("the queue's offset past m2", || async {
        let offset = consumer.consumed_offsets().get(&target).copied()?;
        (offset == last_offset + 1).then_some(())
    })
    .await;

    // m1 used up its attempts: it is in the group's DLQ.
    let dlq = format!("%DLQ%{group}");
    let puller = PullConsumer::start(PullConsumerOptions {
        client: cluster.client_config(),
        ..PullConsumerOptions::new(cluster.namesrv.clone(), "CG-dlq-reader")
    })
    .await
    .expect("pull consumer starts");
    let dlq_queue = MessageQueue::new(dlq.clone(), cluster.broker_name.clone(), 0);
    let found = eventually("m1 in the DLQ", || async {
        let result = puller.pull(&dlq_queue, 0, 32).await.ok()?;
        (result.status == PullStatus::Found).then_some(result.messages)
    })
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(text(&found[0]), "m1");

    puller.shutdown().await;
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}
