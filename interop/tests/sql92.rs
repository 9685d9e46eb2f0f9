//! SQL92 filtering with the stock `rocketmq-client-rust` 1.0.0 against a real
//! `soyuz standalone` with `enablePropertyFilter=true`: a lite pull consumer subscribed
//! with `MessageSelector::by_sql` receives exactly the matching half of a stream.

mod common;

use std::time::Duration;

use common::clients::{self, Inbox, Sent};
use common::standalone::Standalone;
use rocketmq_client_rust::{DefaultLitePullConsumer, MessageSelector};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;

const TOPIC: &str = "Sql92Topic";

#[test]
fn only_the_matching_half_of_a_stream_arrives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "enablePropertyFilter=true\n");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "sql_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let sent: Vec<Sent> = (0..200)
            .map(|i| {
                let mut message = Sent::numbered(&format!("sql-{i:04}"), "TagA", 20);
                message.props.insert("n".to_owned(), i.to_string());
                message.props.insert(
                    "parity".to_owned(),
                    if i % 2 == 0 { "even" } else { "odd" }.to_owned(),
                );
                message
            })
            .collect();
        clients::send_all(&producer, TOPIC, &sent).await;
        // Numbers compare numerically (Java converts the property); half the stream.
        let wanted: Vec<Sent> = sent
            .iter()
            .filter(|s| s.props["n"].parse::<i32>().expect("n") >= 100)
            .cloned()
            .collect();

        let consumer = DefaultLitePullConsumer::builder(rt.clone())
            .consumer_group("sql_group")
            .name_server_addr(namesrv.as_str())
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .auto_commit(true)
            .broker_suspend_max_time_millis(1_000)
            .consumer_timeout_millis_when_suspend(5_000)
            .build()
            .expect("lite pull consumer");
        consumer
            .subscribe_with_selector(
                TOPIC,
                Some(MessageSelector::by_sql("n >= 100 AND parity IS NOT NULL")),
            )
            .await
            .expect("subscribe with SQL92");
        consumer.start().await.expect("start");
        let inbox = Inbox::default();
        let done = clients::poll_until(&consumer, &inbox, Duration::from_secs(30), |i| {
            i.has_all(wanted.iter().map(|s| &s.body))
        })
        .await;
        // Everything wanted has arrived; anything else would have arrived with it,
        // since the unwanted messages are interleaved in the same queues.
        let got = inbox.snapshot();
        let delivery = clients::check_delivery(&wanted, &got);
        println!(
            "sql92: {} of {} expected, {} others, {} duplicates",
            delivery.unique,
            wanted.len(),
            delivery.unexpected_count,
            delivery.duplicates
        );
        delivery.assert_complete("lite pull `n >= 100`");
        assert!(done, "incomplete within 30 s");
        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
