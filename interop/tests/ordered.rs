//! Ordered messages: a producer spreads 10,000 messages over 100 sharding keys with a
//! `MessageQueueSelector` (key index mod queue count), and orderly push consumers
//! (LOCK_BATCH_MQ per queue) see each key's messages in send order, also while a second
//! consumer joins the group mid-stream (rebalance) and the first one leaves.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientConfig, ClientRuntime, ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQProducer,
    DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;

use common::clients;
use common::standalone::Standalone;

const TOPIC: &str = "OrderedTopic";
const GROUP: &str = "ordered_consumer";
const KEYS: usize = 100;
const PER_KEY: usize = 100;
/// Sender tasks; each owns `KEYS / SENDERS` keys and sends each key's messages in order.
const SENDERS: usize = 4;

/// (consumer, key index, sequence number) in the order the listeners saw them.
type Log = Arc<Mutex<Vec<(&'static str, usize, usize)>>>;

fn message(key: usize, seq: usize) -> Message {
    Message::builder()
        .topic(TOPIC)
        .tags("Ordered")
        .key(format!("order-{key:03}").as_str())
        .raw_property("seq", seq.to_string().as_str())
        .expect("property")
        .raw_property("k", key.to_string().as_str())
        .expect("property")
        .body(format!("order-{key:03}-{seq:03}").into_bytes())
        .build_unchecked()
}

/// Sends sequence numbers `seqs` of each key `k` with `k % SENDERS == sender`, each key
/// in order, choosing the queue by key index mod queue count. Returns (key, queue id).
async fn send_share(
    producer: &DefaultMQProducer,
    sender: usize,
    seqs: std::ops::Range<usize>,
) -> Vec<(usize, i32)> {
    let mut placed = Vec::new();
    for seq in seqs {
        for key in (0..KEYS).filter(|k| k % SENDERS == sender) {
            let result = producer
                .send_with_selector(
                    message(key, seq),
                    |mqs: &[MessageQueue], _: &Message, key: &usize| {
                        mqs.get(key % mqs.len()).cloned()
                    },
                    key,
                )
                .await
                .unwrap_or_else(|e| panic!("send key {key} seq {seq}: {e:?}"))
                .expect("sync send result");
            assert_eq!(result.send_status, SendStatus::SendOk, "{result:?}");
            let queue = result.message_queue.as_ref().map(|q| q.queue_id());
            placed.push((key, queue.expect("queue in the result")));
        }
    }
    placed
}

async fn send_range(producer: &DefaultMQProducer, seqs: std::ops::Range<usize>) {
    // One task per sender (the client's send futures are too deep for `join!` on the
    // test thread's stack).
    let tasks: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let producer = producer.clone();
            let seqs = seqs.clone();
            tokio::spawn(async move { Box::pin(send_share(&producer, sender, seqs)).await })
        })
        .collect();
    // The selector put every message of one key on one queue.
    let mut queue_of: BTreeMap<usize, i32> = BTreeMap::new();
    for task in tasks {
        for (key, queue) in task.await.expect("sender task") {
            assert_eq!(*queue_of.entry(key).or_insert(queue), queue, "key {key}");
        }
    }
}

async fn orderly_consumer(
    rt: &Arc<ClientRuntime>,
    namesrv: &str,
    name: &'static str,
    log: Log,
) -> DefaultMQPushConsumer {
    let config = ClientConfig::builder()
        .namesrv_addr(namesrv)
        .instance_name(name)
        .build()
        .expect("client config");
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config)
        .consumer_group(GROUP)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe(TOPIC, "*").await.expect("subscribe");
    consumer.register_message_listener_orderly(
        move |messages: &[&MessageExt], _: &mut ConsumeOrderlyContext| {
            let mut log = log.lock().expect("log");
            for m in messages {
                let prop = |name: &str| {
                    m.properties()
                        .iter()
                        .find(|(k, _)| k.as_str() == name)
                        .map(|(_, v)| v.parse::<usize>().expect("number"))
                };
                if let (Some(key), Some(seq)) = (prop("k"), prop("seq")) {
                    log.push((name, key, seq));
                }
            }
            Ok(ConsumeOrderlyStatus::Success)
        },
    );
    consumer.start().await.expect("orderly consumer start");
    consumer
}

/// Per key, the sequence numbers in first-delivery order, and how many deliveries were
/// repeats.
fn first_deliveries(log: &[(&str, usize, usize)]) -> (BTreeMap<usize, Vec<usize>>, usize) {
    let mut firsts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut repeats = 0;
    for &(_, key, seq) in log {
        if seen.insert((key, seq)) {
            firsts.entry(key).or_default().push(seq);
        } else {
            repeats += 1;
        }
    }
    (firsts, repeats)
}

fn assert_in_order(log: &[(&str, usize, usize)], upto: usize, what: &str) {
    let (firsts, repeats) = first_deliveries(log);
    for key in 0..KEYS {
        let got = firsts.get(&key).cloned().unwrap_or_default();
        assert_eq!(
            got,
            (0..upto).collect::<Vec<_>>(),
            "{what}: key {key}: first deliveries out of order or missing ({repeats} repeats)"
        );
    }
}

#[test]
fn orderly_consumers_see_each_key_in_send_order_across_a_rebalance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "ordered_producer").await;
        let queues = clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        assert!(queues > 1, "{TOPIC} has {queues} queues");
        let log: Log = Arc::default();
        let mut first = orderly_consumer(&rt, &namesrv, "ordered-a", log.clone()).await;

        // Phase 1: one consumer holds every queue.
        send_range(&producer, 0..PER_KEY / 2).await;
        eprintln!("ordered: phase 1 sent");
        let half = KEYS * PER_KEY / 2;
        let done = clients::wait_until(Duration::from_secs(90), || {
            first_deliveries(&log.lock().expect("log"))
                .0
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= half
        })
        .await;
        let snapshot = log.lock().expect("log").clone();
        assert!(done, "phase 1: {} of {half} delivered", snapshot.len());
        // A single consumer with no rebalance delivers each key exactly in order, once.
        for key in 0..KEYS {
            let seqs: Vec<usize> = snapshot
                .iter()
                .filter(|(_, k, _)| *k == key)
                .map(|(_, _, s)| *s)
                .collect();
            assert_eq!(seqs, (0..PER_KEY / 2).collect::<Vec<_>>(), "key {key}");
        }

        // Phase 2: a second consumer joins while the rest is sent; then the first leaves.
        let joined = tokio::spawn({
            let rt = rt.clone();
            let namesrv = namesrv.clone();
            let log = log.clone();
            async move { orderly_consumer(&rt, &namesrv, "ordered-b", log).await }
        });
        send_range(&producer, PER_KEY / 2..PER_KEY * 3 / 4).await;
        let mut second = joined.await.expect("second consumer");
        first.shutdown().await;
        send_range(&producer, PER_KEY * 3 / 4..PER_KEY).await;

        let all = KEYS * PER_KEY;
        let done = clients::wait_until(Duration::from_secs(150), || {
            first_deliveries(&log.lock().expect("log"))
                .0
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= all
        })
        .await;
        let snapshot = log.lock().expect("log").clone();
        let (firsts, repeats) = first_deliveries(&snapshot);
        let by: BTreeMap<&str, usize> = snapshot.iter().fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e.0).or_default() += 1;
            m
        });
        println!(
            "ordered: {} deliveries ({repeats} repeats) of {all}, per consumer {by:?}",
            snapshot.len()
        );
        assert!(
            done,
            "phase 2: {} of {all} delivered",
            firsts.values().map(Vec::len).sum::<usize>()
        );
        assert_in_order(&snapshot, PER_KEY, "after the rebalance");
        assert!(
            by.get("ordered-b").copied().unwrap_or(0) > 0,
            "the second consumer got nothing: {by:?}"
        );

        second.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
