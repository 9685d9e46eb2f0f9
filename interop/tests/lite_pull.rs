//! The stock `rocketmq-client-rust` 1.0.0 lite pull consumer (LITE_PULL_MESSAGE, the
//! subscription carried in each pull) against a real `soyuz standalone`: it receives
//! everything sent, intact, and a new consumer of the same group resumes where the first
//! one's committed offsets say.

mod common;

use std::time::{Duration, Instant};

use common::clients::{self, Inbox, Sent};
use common::standalone::Standalone;

const TOPIC: &str = "LitePullTopic";
const GROUP: &str = "lite_pull_group";

#[test]
fn lite_pull_consumer_receives_everything_and_resumes_from_committed_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "lite_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let tags = ["TagA", "TagB", "TagC"];
        let first: Vec<Sent> = (0..500)
            .map(|i| Sent::numbered(&format!("lite1-{i:04}"), tags[i % 3], (i * 13) % 200))
            .collect();
        clients::send_all(&producer, TOPIC, &first).await;

        let started = Instant::now();
        let consumer = clients::lite_pull_consumer(&rt, &namesrv, GROUP, TOPIC, "*").await;
        let inbox = Inbox::default();
        let complete = clients::poll_until(&consumer, &inbox, Duration::from_secs(30), |i| {
            i.has_all(first.iter().map(|s| &s.body))
        })
        .await;
        let delivery = clients::check_delivery(&first, &inbox.snapshot());
        println!(
            "lite_pull: {} of {} in {:?}, {} duplicates",
            delivery.unique,
            first.len(),
            started.elapsed(),
            delivery.duplicates
        );
        assert!(complete, "not all polled within 30 s: {delivery:#?}");
        delivery.assert_complete("lite pull");
        // Commit what was polled and persist it to the broker now. (Shutting down would
        // not: the client's shutdown drops its assigned queues, and their offsets, before
        // its final commit, which then logs "Consume offset is -1 ..., skip commit".)
        let assigned = consumer.assignment().await.expect("assignment");
        assert!(!assigned.is_empty(), "no queues assigned");
        consumer.commit_with_set(assigned, true).await;
        consumer.shutdown().await;

        let second: Vec<Sent> = (0..100)
            .map(|i| Sent::numbered(&format!("lite2-{i:04}"), "TagA", 20))
            .collect();
        clients::send_all(&producer, TOPIC, &second).await;
        let consumer = clients::lite_pull_consumer(&rt, &namesrv, GROUP, TOPIC, "*").await;
        let resumed = Inbox::default();
        let complete = clients::poll_until(&consumer, &resumed, Duration::from_secs(30), |i| {
            i.has_all(second.iter().map(|s| &s.body))
        })
        .await;
        let got = resumed.snapshot();
        let new = clients::check_delivery(&second, &got);
        let old = clients::check_delivery(&first, &got);
        println!(
            "lite_pull resumed: {} of {} new, {} of the {} old redelivered",
            new.unique,
            second.len(),
            old.unique,
            first.len()
        );
        assert!(
            complete,
            "not all new messages polled within 30 s: {new:#?}"
        );
        assert!(new.mismatched.is_empty(), "{new:#?}");
        // The first consumer committed everything it polled before shutting down.
        assert_eq!(
            old.unique, 0,
            "the resumed consumer re-read old messages: {old:#?}"
        );
        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
