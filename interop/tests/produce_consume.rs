//! The stock `rocketmq-client-rust` 1.0.0 producer and push consumer against a real
//! `soyuz standalone`: 10,000 messages sent four ways (sync, async with a callback,
//! oneway, batch) all reach a clustering push consumer with body, key, tag and user
//! properties intact.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use rocketmq_client_rust::{ClientError, DefaultMQProducer};
use rocketmq_model::result::{SendResult, SendStatus};

use common::clients::{self, Got, PushOptions, Sent};
use common::standalone::Standalone;

const TOPIC: &str = "PcTopic";
const PER_MODE: usize = 2_500;
const BATCH: usize = 50;

/// Where the broker said it stored a message: (UNIQ_KEY, queue id, queue offset).
type Placement = (String, i32, i64);

fn placement(result: &SendResult) -> Placement {
    (
        result
            .msg_id
            .as_ref()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        result
            .message_queue
            .as_ref()
            .map(|q| q.queue_id())
            .unwrap_or(-1),
        result.queue_offset as i64,
    )
}

fn batch_of(mode: &str, tags: &[&str]) -> Vec<Sent> {
    (0..PER_MODE)
        .map(|i| {
            // Every 250th sync message is over the client's 4 KiB compression threshold.
            let len = if mode == "sync" && i % 250 == 0 {
                6_000
            } else {
                (i * 37) % 300
            };
            Sent::numbered(&format!("{mode}-{i:05}"), tags[i % tags.len()], len)
        })
        .collect()
}

/// Sends `share` synchronously, one message at a time; where each one went.
async fn send_sync(producer: &DefaultMQProducer, share: &[Sent]) -> Vec<(Vec<u8>, Placement)> {
    let mut placements = Vec::new();
    for s in share {
        let result = producer
            .send(s.message(TOPIC))
            .await
            .expect("sync send")
            .expect("sync send result");
        assert_eq!(result.send_status, SendStatus::SendOk, "{result:?}");
        placements.push((s.body.clone(), placement(&result)));
    }
    placements
}

#[test]
fn sync_async_oneway_and_batch_sends_reach_a_push_consumer_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "pc_producer").await;
        let queues = clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        assert!(queues > 1, "{TOPIC} has {queues} queues");
        let (mut consumer, inbox) = clients::push_consumer(
            &rt,
            &namesrv,
            "pc_consumer",
            TOPIC,
            "*",
            PushOptions::clustering("pc-consumer"),
        )
        .await;

        let tags = ["TagA", "TagB", "TagC"];
        let sync = batch_of("sync", &tags);
        let asynchronous = batch_of("async", &tags);
        let oneway = batch_of("oneway", &tags);
        let batched = batch_of("batch", &tags);
        let started = Instant::now();

        // Four senders, each sending its share one message at a time.
        let shares: Vec<&[Sent]> = sync.chunks(PER_MODE / 4).collect();
        let (a, b, c, d) = tokio::join!(
            send_sync(&producer, shares[0]),
            send_sync(&producer, shares[1]),
            send_sync(&producer, shares[2]),
            send_sync(&producer, shares[3])
        );
        let mut placements: HashMap<Vec<u8>, Placement> =
            [a, b, c, d].into_iter().flatten().collect();
        let sync_time = started.elapsed();

        type Outcome = (usize, Result<Placement, String>);
        let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
        // The client refuses requests beyond its per-connection queue
        // (`transport.admission.queue_saturated`), so keep at most 128 in flight.
        let in_flight = Arc::new(Semaphore::new(128));
        for (i, s) in asynchronous.iter().enumerate() {
            let outcomes = outcomes.clone();
            let permit =
                tokio::time::timeout(Duration::from_secs(60), in_flight.clone().acquire_owned())
                    .await
                    .expect("async send callbacks stopped coming")
                    .expect("semaphore");
            let permit = Mutex::new(Some(permit));
            producer
                .send_with_callback(
                    s.message(TOPIC),
                    move |result: Option<&SendResult>, error: Option<&ClientError>| {
                        drop(permit.lock().expect("permit").take());
                        let outcome = match (result, error) {
                            (Some(r), None) if r.send_status == SendStatus::SendOk => {
                                Ok(placement(r))
                            }
                            other => Err(format!("{other:?}")),
                        };
                        outcomes.lock().expect("outcomes").push((i, outcome));
                    },
                )
                .await
                .expect("async send queued");
        }
        assert!(
            clients::wait_until(Duration::from_secs(60), || {
                outcomes.lock().expect("outcomes").len() >= PER_MODE
            })
            .await,
            "only {} of {PER_MODE} async callbacks within 60 s",
            outcomes.lock().expect("outcomes").len()
        );
        for (i, outcome) in outcomes.lock().expect("outcomes").drain(..) {
            let placement = outcome.unwrap_or_else(|e| panic!("async send {i}: {e}"));
            placements.insert(asynchronous[i].body.clone(), placement);
        }
        assert_eq!(placements.len(), 2 * PER_MODE, "one result per message");

        for s in &oneway {
            producer
                .send_oneway(s.message(TOPIC))
                .await
                .expect("oneway send");
        }

        for chunk in batched.chunks(BATCH) {
            let messages = chunk.iter().map(|s| s.message(TOPIC)).collect();
            let result = producer.send_batch(messages).await.expect("batch send");
            assert_eq!(result.send_status, SendStatus::SendOk, "{result:?}");
        }
        let send_time = started.elapsed();

        let all: Vec<Sent> = [&sync, &asynchronous, &oneway, &batched]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        assert_eq!(all.len(), 10_000);
        let arrived = clients::wait_until(Duration::from_secs(90), || {
            inbox.has_all(all.iter().map(|s| &s.body))
        })
        .await;
        let consume_time = started.elapsed();
        let got = inbox.snapshot();
        let delivery = clients::check_delivery(&all, &got);
        println!(
            "produce_consume: sent 10000 (sync {sync_time:?}, all sends {send_time:?}), \
             all received after {consume_time:?}: {} unique, {} duplicates, {} missing",
            delivery.unique, delivery.duplicates, delivery.missing_count
        );
        assert!(
            arrived,
            "not everything arrived within 90 s of sending: {delivery:#?}"
        );
        delivery.assert_complete("produce_consume");

        // The broker's answers name where each message went; the delivered copy must
        // come from exactly there, with the producer's unique key.
        let mut checked = 0;
        for g in got.iter().filter(|g| placements.contains_key(&g.body)) {
            let (uniq_key, queue_id, offset) = &placements[&g.body];
            assert_eq!(
                (g.uniq_key(), g.queue_id, g.queue_offset),
                (Some(uniq_key.as_str()), *queue_id, *offset),
                "delivered copy of {:?} vs the send result",
                String::from_utf8_lossy(&g.body[..12])
            );
            checked += 1;
        }
        assert!(checked >= 2 * PER_MODE);
        // Every queue was used, and offsets in each queue are dense from 0: each
        // (queue, offset) holds exactly one message.
        let mut slots: HashMap<(i32, i64), &Got> = HashMap::new();
        for g in &got {
            if let Some(other) = slots.insert((g.queue_id, g.queue_offset), g) {
                assert_eq!(other.body, g.body, "two messages at one queue offset");
            }
        }
        assert_eq!(slots.len(), 10_001, "10,000 messages plus the priming one");
        for queue in 0..queues as i32 {
            let n = slots.keys().filter(|(q, _)| *q == queue).count() as i64;
            assert!(n > 0, "queue {queue} unused");
            assert!(
                (0..n).all(|o| slots.contains_key(&(queue, o))),
                "queue {queue}: offsets not dense"
            );
        }

        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
