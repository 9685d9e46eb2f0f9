//! Producers and consumers against a real in-process NameServer and broker.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Cluster, Received};
use parking_lot::Mutex;
use soyuz_client::{
    ConsumeFromWhere, ConsumeResult, Message, MessageExt, MessageModel, Producer, ProducerOptions,
    PushConsumer, PushConsumerOptions, SelectMessageQueueByHash, SendResult, SendStatus,
};

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
        local_retry_delay: Duration::from_millis(100),
        pull_delay_when_exception: Duration::from_millis(200),
        offset_store_dir: cluster.scratch.path().join("offsets"),
        ..PushConsumerOptions::new(cluster.namesrv.clone(), group)
    }
}

async fn start_consumer(
    cluster: &Cluster,
    options: PushConsumerOptions,
    topic: &str,
    expression: &str,
    received: &Received,
) -> PushConsumer {
    let _ = cluster;
    let consumer = PushConsumer::new(options, received.listener());
    consumer.subscribe(topic, expression).expect("subscribes");
    consumer.start().await.expect("starts");
    consumer
}

fn text(message: &MessageExt) -> String {
    String::from_utf8_lossy(&message.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_send_arrives_intact() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-kinds"))
        .await
        .expect("producer starts");
    let topic = "Kinds";

    // Sync sends with tags, keys, user properties and flags; one body big enough to be
    // compressed on the wire.
    let big = "z".repeat(10_000);
    let mut expected: BTreeMap<String, Message> = BTreeMap::new();
    let mut results: Vec<SendResult> = Vec::new();
    for i in 0..3 {
        let body = if i == 2 {
            big.clone()
        } else {
            format!("sync-{i}")
        };
        let message = Message::new(topic, body)
            .with_tags(format!("tag{i}"))
            .with_keys([format!("key{i}"), format!("alt{i}")])
            .with_property("color", format!("c{i}"))
            .with_flag(100 + i);
        let result = producer.send(message.clone()).await.expect("sync send");
        assert_eq!(result.status, SendStatus::SendOk);
        assert_eq!(result.msg_id.len(), 32, "a UNIQ_KEY: {}", result.msg_id);
        assert_eq!(result.offset_msg_id.len(), 32);
        assert_eq!(result.message_queue.topic, topic);
        assert_eq!(result.message_queue.broker_name, cluster.broker_name);
        expected.insert(result.msg_id.clone(), message);
        results.push(result);
    }

    // Callback sends: the call returns at once, the callback gets the result.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..2 {
        let message = Message::new(topic, format!("async-{i}")).with_tags("async");
        let tx = tx.clone();
        let kept = message.clone();
        producer.send_with_callback(message, move |result| {
            let _ = tx.send((kept, result));
        });
    }
    for _ in 0..2 {
        let (message, result) = rx.recv().await.expect("callback called");
        let result = result.expect("async send succeeds");
        expected.insert(result.msg_id.clone(), message);
    }

    // Oneway sends: no answer, found by body.
    for i in 0..2 {
        producer
            .send_oneway(Message::new(topic, format!("oneway-{i}")).with_tags("oneway"))
            .await
            .expect("oneway send");
    }

    // A batch: one request, consecutive offsets in one queue, a key per message.
    let batch: Vec<Message> = (0..3)
        .map(|i| {
            Message::new(topic, format!("batch-{i}"))
                .with_tags("batch")
                .with_keys([format!("bk{i}")])
                .with_property("n", i.to_string())
        })
        .collect();
    let batch_result = producer
        .send_batch(batch.clone())
        .await
        .expect("batch send");
    let batch_ids: Vec<&str> = batch_result.msg_id.split(',').collect();
    assert_eq!(batch_ids.len(), 3);
    assert_eq!(batch_result.offset_msg_id.split(',').count(), 3);
    for (id, message) in batch_ids.iter().zip(&batch) {
        expected.insert((*id).to_owned(), message.clone());
    }

    let received = Received::default();
    let consumer = start_consumer(
        &cluster,
        consumer_options(&cluster, "CG-kinds"),
        topic,
        "*",
        &received,
    )
    .await;
    let total = 3 + 2 + 2 + 3;
    let got = received.wait_for(total).await;
    assert_eq!(got.len(), total, "no duplicates");

    let by_id: HashMap<String, &MessageExt> = got.iter().map(|m| (m.msg_id(), m)).collect();
    for (id, sent) in &expected {
        let m = by_id
            .get(id)
            .unwrap_or_else(|| panic!("message {id} not consumed"));
        assert_eq!(m.topic, topic);
        assert_eq!(m.body, sent.body, "body of {id}");
        assert_eq!(m.tags(), sent.tags());
        assert_eq!(m.keys(), sent.keys());
        assert_eq!(m.flag, sent.flag);
        for (name, value) in &sent.properties {
            assert_eq!(
                m.property(name),
                Some(value.as_str()),
                "property {name} of {id}"
            );
        }
        assert_eq!(m.broker_name, cluster.broker_name);
        assert!(m.property("MAX_OFFSET").is_some());
    }
    for result in &results {
        let m = by_id[&result.msg_id];
        assert_eq!(m.queue_id, result.message_queue.queue_id);
        assert_eq!(m.queue_offset, result.queue_offset);
        assert_eq!(m.offset_msg_id(), result.offset_msg_id);
    }
    // The batch sits in one queue at consecutive offsets, in order.
    let batch_msgs: Vec<&MessageExt> = batch_ids.iter().map(|id| by_id[*id]).collect();
    for (i, m) in batch_msgs.iter().enumerate() {
        assert_eq!(m.queue_id, batch_result.message_queue.queue_id);
        assert_eq!(m.queue_offset, batch_result.queue_offset + i as i64);
        assert_eq!(m.property("n"), Some(i.to_string().as_str()));
    }
    let oneway: BTreeSet<String> = got
        .iter()
        .filter(|m| m.tags() == Some("oneway"))
        .map(text)
        .collect();
    assert_eq!(oneway, ["oneway-0", "oneway-1"].map(String::from).into());

    consumer.shutdown().await;
    producer.shutdown().await;
    assert!(matches!(
        producer.send(Message::new(topic, "late")).await,
        Err(soyuz_client::ClientError::NotRunning)
    ));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_expression_filters_on_broker_and_client() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-tags"))
        .await
        .expect("producer starts");
    for (i, tag) in ["A", "B", "C", "", "A", "AB"].iter().enumerate() {
        let mut message = Message::new("Tagged", format!("{i}-{tag}"));
        if !tag.is_empty() {
            message.set_tags(*tag);
        }
        producer.send(message).await.expect("send");
    }
    let received = Received::default();
    let consumer = start_consumer(
        &cluster,
        consumer_options(&cluster, "CG-tags"),
        "Tagged",
        "A || C",
        &received,
    )
    .await;
    received.wait_for(3).await;
    // Everything else was sent before; a sentinel sent last proves the queue drained.
    producer
        .send(Message::new("Tagged", "6-C").with_tags("C"))
        .await
        .expect("send");
    received.wait_for(4).await;
    assert_eq!(received.bodies(), ["0-A", "2-C", "4-A", "6-C"]);
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_split_the_queues_and_one_takes_all_when_the_other_leaves() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-split"))
        .await
        .expect("producer starts");
    let topic = "Split";
    producer
        .send(Message::new(topic, "creates the topic"))
        .await
        .expect("send");
    let queues = producer
        .fetch_publish_message_queues(topic)
        .await
        .expect("queues");
    assert_eq!(queues.len(), 4, "auto-created with min(4, TBW102) queues");
    cluster.wait_for_route(topic).await;

    let first = Received::default();
    let second = Received::default();
    let c1 = start_consumer(
        &cluster,
        consumer_options(&cluster, "CG-split"),
        topic,
        "*",
        &first,
    )
    .await;
    let c2 = start_consumer(
        &cluster,
        consumer_options(&cluster, "CG-split"),
        topic,
        "*",
        &second,
    )
    .await;
    assert_ne!(c1.client_id(), c2.client_id());

    let of_topic = |c: &PushConsumer| -> BTreeSet<i32> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .map(|q| q.queue_id)
            .collect()
    };
    eventually("two consumers holding two queues each", || async {
        let (a, b) = (of_topic(&c1), of_topic(&c2));
        (a.len() == 2 && b.len() == 2 && a.is_disjoint(&b)).then_some(())
    })
    .await;
    // Averagely: the smaller client id takes queues 0 and 1.
    let (low, high) = if c1.client_id() < c2.client_id() {
        (&c1, &c2)
    } else {
        (&c2, &c1)
    };
    assert_eq!(of_topic(low), [0, 1].into());
    assert_eq!(of_topic(high), [2, 3].into());

    // Each message is consumed by exactly one of them.
    for i in 0..20 {
        producer
            .send(Message::new(topic, format!("m{i}")))
            .await
            .expect("send");
    }
    let distinct = || {
        let mut all: Vec<String> = first.bodies();
        all.extend(second.bodies());
        all
    };
    eventually("21 distinct messages between the two", || async {
        let mut all = distinct();
        all.sort();
        all.dedup();
        (all.len() == 21).then_some(())
    })
    .await;
    // Sent after the split, each went to exactly one consumer exactly once. (The first
    // message may be seen twice: it was consumed while one consumer held every queue,
    // and the handover of its queue races with the commit of its offset, as in Java.)
    let mut all = distinct();
    all.sort();
    for i in 0..20 {
        let body = format!("m{i}");
        assert_eq!(
            all.iter().filter(|b| **b == body).count(),
            1,
            "{body}: {all:?}"
        );
    }

    // c2 leaves: the broker tells c1, which takes every queue.
    c2.shutdown().await;
    eventually("the remaining consumer holding all four queues", || async {
        (of_topic(&c1).len() == 4).then_some(())
    })
    .await;
    let before = first.len();
    for i in 0..8 {
        producer
            .send(Message::new(topic, format!("after-{i}")))
            .await
            .expect("send");
    }
    eventually("the remaining consumer gets every new message", || async {
        (first.len() == before + 8).then_some(())
    })
    .await;
    c1.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_delivers_every_message_to_every_member() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-bc"))
        .await
        .expect("producer starts");
    producer
        .send(Message::new("Broadcast", "m0"))
        .await
        .expect("send");
    cluster.wait_for_route("Broadcast").await;
    let broadcast = |name: &str| {
        let mut options = consumer_options(&cluster, "CG-bc");
        options.message_model = MessageModel::Broadcasting;
        options.client.instance_name = name.to_owned();
        options
    };
    let a = Received::default();
    let b = Received::default();
    let ca = start_consumer(&cluster, broadcast("bc-a"), "Broadcast", "*", &a).await;
    let cb = start_consumer(&cluster, broadcast("bc-b"), "Broadcast", "*", &b).await;
    assert_eq!(ca.assigned_queues().len(), 4, "every queue, no retry topic");
    for i in 1..10 {
        producer
            .send(Message::new("Broadcast", format!("m{i}")))
            .await
            .expect("send");
    }
    a.wait_for(10).await;
    b.wait_for(10).await;
    let expected: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(a.bodies(), expected);
    assert_eq!(b.bodies(), expected);
    let a_id = ca.client_id();
    ca.shutdown().await;
    cb.shutdown().await;
    // Offsets were written to the local file, keyed by client id and group.
    let file = cluster
        .scratch
        .path()
        .join("offsets")
        .join(&a_id)
        .join("CG-bc")
        .join("offsets.json");
    let text = std::fs::read_to_string(&file).expect("local offsets written");
    assert!(text.contains("\"topic\":\"Broadcast\""), "{text}");

    // A restarted member with the same instance name resumes from the file.
    let again = Received::default();
    let restarted = start_consumer(&cluster, broadcast("bc-a"), "Broadcast", "*", &again).await;
    producer
        .send(Message::new("Broadcast", "m10"))
        .await
        .expect("send");
    again.wait_for(1).await;
    assert_eq!(again.bodies(), ["m10"]);
    restarted.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_resume_after_a_consumer_restart() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-resume"))
        .await
        .expect("producer starts");
    for i in 0..10 {
        producer
            .send(Message::new("Resume", format!("old-{i}")))
            .await
            .expect("send");
    }
    cluster.wait_for_route("Resume").await;
    let first = Received::default();
    let consumer = start_consumer(
        &cluster,
        consumer_options(&cluster, "CG-resume"),
        "Resume",
        "*",
        &first,
    )
    .await;
    first.wait_for(10).await;
    consumer.shutdown().await;

    for i in 0..5 {
        producer
            .send(Message::new("Resume", format!("new-{i}")))
            .await
            .expect("send");
    }
    let second = Received::default();
    let restarted = start_consumer(
        &cluster,
        consumer_options(&cluster, "CG-resume"),
        "Resume",
        "*",
        &second,
    )
    .await;
    second.wait_for(5).await;
    // One more, sent last: once it arrives, anything redelivered would have too.
    producer
        .send(Message::new("Resume", "new-5"))
        .await
        .expect("send");
    second.wait_for(6).await;
    assert_eq!(
        second.bodies(),
        (0..6).map(|i| format!("new-{i}")).collect::<Vec<_>>()
    );
    restarted.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_sends_keep_each_key_in_one_queue_in_order() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-order"))
        .await
        .expect("producer starts");
    let mut placed: BTreeMap<String, Vec<(i32, i64)>> = BTreeMap::new();
    for step in 0..4 {
        for order in ["o-1", "o-2", "o-3"] {
            let result = producer
                .send_with_selector(
                    Message::new("Ordered", format!("{order}:{step}")).with_keys([order]),
                    &SelectMessageQueueByHash,
                    order,
                )
                .await
                .expect("ordered send");
            placed
                .entry(order.to_owned())
                .or_default()
                .push((result.message_queue.queue_id, result.queue_offset));
        }
    }
    let queues = producer
        .fetch_publish_message_queues("Ordered")
        .await
        .expect("queues");
    for (order, places) in &placed {
        let queue = places[0].0;
        let expected = (soyuz_model::java_string_hash(order) % queues.len() as i32).abs();
        assert_eq!(queue, expected, "{order} goes where Java would put it");
        assert!(
            places.iter().all(|(q, _)| *q == queue),
            "{order}: {places:?}"
        );
        assert!(
            places.windows(2).all(|w| w[0].1 < w[1].1),
            "{order} in order"
        );
    }
    // Sending to a chosen queue.
    let target = queues[1].clone();
    let result = producer
        .send_to_queue(Message::new("Ordered", "direct"), &target)
        .await
        .expect("send to queue");
    assert_eq!(result.message_queue, target);
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconsume_later_delivers_the_message_again() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(producer_options(&cluster, "PG-retry"))
        .await
        .expect("producer starts");
    producer
        .send(Message::new("Retry", "flaky").with_tags("t"))
        .await
        .expect("send");
    producer
        .send(Message::new("Retry", "fine"))
        .await
        .expect("send");
    cluster.wait_for_route("Retry").await;

    let attempts: Arc<Mutex<Vec<(String, i32, String)>>> = Arc::default();
    let seen = attempts.clone();
    let consumer = PushConsumer::new(
        consumer_options(&cluster, "CG-retry"),
        move |messages: &[MessageExt]| {
            let mut seen = seen.lock();
            let m = &messages[0];
            seen.push((text(m), m.reconsume_times, m.topic.clone()));
            let tries = seen.iter().filter(|(b, _, _)| b == "flaky").count();
            if text(m) == "flaky" && tries == 1 {
                ConsumeResult::ReconsumeLater
            } else {
                ConsumeResult::Success
            }
        },
    );
    consumer.subscribe("Retry", "*").expect("subscribes");
    consumer.start().await.expect("starts");
    let flaky = eventually("the flaky message twice", || async {
        let seen = attempts.lock();
        let flaky: Vec<_> = seen
            .iter()
            .filter(|(b, _, _)| b == "flaky")
            .cloned()
            .collect();
        (flaky.len() >= 2).then_some(flaky)
    })
    .await;
    assert_eq!(flaky[0].1, 0);
    assert_eq!(flaky[1].1, 1, "the second delivery counts one reconsume");
    assert_eq!(flaky[1].2, "Retry", "shown with its original topic");
    // Its offset was held back until it succeeded, then moved past both messages.
    eventually("offsets past both messages", || async {
        let offsets = consumer.consumed_offsets();
        let total: i64 = offsets
            .iter()
            .filter(|(q, _)| q.topic == "Retry")
            .map(|(_, o)| *o)
            .sum();
        (total == 2).then_some(())
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}
