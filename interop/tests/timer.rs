//! 5.x timer messages: one due 5 s ahead (TIMER_DELIVER_MS, an absolute time), one 6 s
//! ahead (TIMER_DELAY_MS) and one 65 s ahead (TIMER_DELAY_SEC) each reach a push consumer
//! within 1 s of due (the timer's precision), and a clean broker restart while the 65 s
//! one waits does not lose it.

mod common;

use std::time::Duration;

use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;

use common::clients;
use common::standalone::Standalone;

const TOPIC: &str = "TimerTopic";

#[test]
fn timer_messages_arrive_on_time_and_survive_a_broker_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    let soyuz = clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "timer_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let (mut consumer, inbox) =
            clients::primed_push_consumer(&rt, &namesrv, "timer_consumer", TOPIC, "timer-consumer")
                .await;

        // (body, due time in ms since the epoch)
        let mut sent: Vec<(Vec<u8>, i64)> = Vec::new();
        for (name, ahead_ms) in [
            ("deliver-ms", 5_000i64),
            ("delay-ms", 6_000),
            ("delay-sec", 65_000),
        ] {
            let body = format!("timer-{name}").into_bytes();
            let builder = Message::builder()
                .topic(TOPIC)
                .tags("Timed")
                .key(format!("timer-{name}").as_str())
                .body(body.clone());
            let now = clients::now_ms();
            let (builder, due) = match name {
                "deliver-ms" => (
                    builder.deliver_time_ms((now + ahead_ms) as u64),
                    now + ahead_ms,
                ),
                "delay-ms" => (builder.delay_millis(ahead_ms as u64), now + ahead_ms),
                _ => (
                    builder.delay_secs((ahead_ms / 1_000) as u64),
                    now + ahead_ms,
                ),
            };
            let result = producer
                .send(builder.build_unchecked())
                .await
                .expect("send")
                .expect("send result");
            assert_eq!(result.send_status, SendStatus::SendOk, "{result:?}");
            sent.push((body, due));
        }
        let check = |body: &[u8], due: i64| {
            let got = inbox.snapshot();
            let at = got
                .iter()
                .find(|g| g.body == body)
                .map(|g| g.received_ms)
                .unwrap_or_else(|| panic!("{} not delivered", String::from_utf8_lossy(body)));
            println!(
                "timer: {} delivered {} ms after due",
                String::from_utf8_lossy(body),
                at - due
            );
            assert!(
                (at - due).abs() <= 1_000,
                "{} delivered {} ms from due",
                String::from_utf8_lossy(body),
                at - due
            );
        };

        let short = clients::wait_until(Duration::from_secs(15), || {
            inbox.has_all(sent[..2].iter().map(|s| &s.0))
        })
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(short, "the 5 s and 6 s timer messages not delivered");
        for (body, due) in &sent[..2] {
            check(body, *due);
        }
        assert!(!inbox.has_all([&sent[2].0]), "the 65 s message came early");

        let soyuz = tokio::task::spawn_blocking(move || soyuz.stop_and_restart())
            .await
            .expect("stop and restart");

        let long =
            clients::wait_until(Duration::from_secs(75), || inbox.has_all([&sent[2].0])).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !long {
            // Is it in the topic at all? A fresh group reads the topic from the start.
            let reader =
                clients::lite_pull_consumer(&rt, &namesrv, "timer_reader", TOPIC, "*").await;
            let fresh = clients::Inbox::default();
            clients::poll_until(&reader, &fresh, Duration::from_secs(10), |i| {
                i.has_all([&sent[2].0])
            })
            .await;
            let bodies: Vec<String> = fresh
                .snapshot()
                .iter()
                .map(|g| String::from_utf8_lossy(&g.body).into_owned())
                .collect();
            println!("timer: a fresh group reads {TOPIC} as {bodies:?}");
            reader.shutdown().await;
        }
        assert!(long, "the 65 s timer message was lost across the restart");
        check(&sent[2].0, sent[2].1);
        let got = inbox.snapshot();
        let g = got.iter().find(|g| g.body == sent[2].0).expect("delivered");
        assert_eq!(g.keys.as_deref(), Some("timer-delay-sec"));
        assert_eq!(g.tags.as_deref(), Some("Timed"));

        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
        soyuz
    });
    soyuz.stop();
}
