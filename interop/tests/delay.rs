//! Delay levels: a message sent with DELAY=3 (10 s under the default
//! `messageDelayLevel`) is parked in SCHEDULE_TOPIC_XXXX and reaches a push consumer no
//! earlier than 10 s after it was stored and at most 1 s late (the scheduling
//! slack); a DELAY=1 (1 s) message sent alongside likewise.

mod common;

use std::time::{Duration, Instant};

use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;

use common::clients;
use common::standalone::Standalone;

const TOPIC: &str = "DelayTopic";

#[test]
fn a_delay_level_3_message_arrives_10_s_after_it_was_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "delay_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        // The push listener stamps each delivery with its arrival time.
        let (mut consumer, inbox) =
            clients::primed_push_consumer(&rt, &namesrv, "delay_consumer", TOPIC, "delay-consumer")
                .await;

        let mut sent = Vec::new();
        for (level, delay_ms) in [(3, 10_000i64), (1, 1_000)] {
            let body = format!("delay-level-{level}").into_bytes();
            let message = Message::builder()
                .topic(TOPIC)
                .tags("Delayed")
                .key(format!("delay-{level}").as_str())
                .delay_level(level)
                .body(body.clone())
                .build_unchecked();
            let before = clients::now_ms();
            let result = producer
                .send(message)
                .await
                .expect("send")
                .expect("send result");
            let after = clients::now_ms();
            assert_eq!(result.send_status, SendStatus::SendOk, "{result:?}");
            println!("delay level {level} sent at {after}: {result:?}");
            sent.push((body, level, delay_ms, before, after));
        }
        let started = Instant::now();
        let all = clients::wait_until(Duration::from_secs(25), || {
            inbox.has_all(sent.iter().map(|s| &s.0))
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            all,
            "not all delayed messages within {:?} (now {}); received: {:#?}",
            started.elapsed(),
            clients::now_ms(),
            inbox.snapshot()
        );
        let got = inbox.snapshot();
        for (body, _, _, before, after) in &sent {
            let g = got.iter().find(|g| &g.body == body);
            let at = g.map(|g| g.received_ms);
            println!(
                "delay: {} sent {before}..{after}, arrived {:?} ms after the send returned; {:?}",
                String::from_utf8_lossy(body),
                at.map(|at| at - after),
                g
            );
        }
        for (body, level, delay_ms, before, after) in &sent {
            let g = got.iter().find(|g| &g.body == body).expect("delivered");
            let at = &g.received_ms;
            // The broker's store time of the original send (property or a bound).
            let stored = *before..=*after;
            println!(
                "delay level {level}: sent {before}..{after}, received {at} \
                 ({} ms after the send began, {} ms after it returned), props {:?}",
                at - before,
                at - after,
                g.props.get("DELAY")
            );
            assert!(
                at - stored.start() >= *delay_ms,
                "level {level} delivered {} ms after sending began, before {delay_ms} ms",
                at - stored.start()
            );
            assert!(
                at - stored.end() <= delay_ms + 1_000,
                "level {level} delivered {} ms after the send returned, more than 1 s late",
                at - stored.end()
            );
            assert_eq!(g.tags.as_deref(), Some("Delayed"));
            assert_eq!(g.keys.as_deref(), Some(format!("delay-{level}").as_str()));
        }

        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
