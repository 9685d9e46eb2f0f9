//! Tag filtering with the stock `rocketmq-client-rust` 1.0.0 against a real
//! `soyuz standalone`.
//!
//! The client splits `TagA || TagB` on `||` and puts the trimmed tags in `tagsSet`, but
//! hashes the untrimmed pieces (`"TagA "`, `" TagB"`) into `codeSet`
//! (rocketmq-protocol 1.0.0, `FilterAPI::build_subscription_data`). A broker that filters
//! ConsumeQueue units by those codes would deliver nothing; the broker must derive the
//! codes from the trimmed tags. A push consumer (subscription from its heartbeat) and a
//! lite pull consumer (subscription in each pull request) must both receive exactly the
//! TagA and TagB messages.

mod common;

use std::time::Duration;

use common::clients::{self, Inbox, PushOptions, Sent};
use common::standalone::Standalone;

const TOPIC: &str = "TagFilterTopic";

#[test]
fn tag_expressions_select_exactly_the_matching_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "tag_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let (mut a_or_b, inbox_ab) = clients::push_consumer(
            &rt,
            &namesrv,
            "tag_ab_group",
            TOPIC,
            "TagA || TagB",
            PushOptions::clustering("tag-ab"),
        )
        .await;
        let (mut only_c, inbox_c) = clients::push_consumer(
            &rt,
            &namesrv,
            "tag_c_group",
            TOPIC,
            "TagC",
            PushOptions::clustering("tag-c"),
        )
        .await;

        let tags = ["TagA", "TagB", "TagC"];
        // Ends with eight TagA messages, so every queue's last message is one the
        // consumers wait for, and any TagC before it would have been delivered by then.
        let sent: Vec<Sent> = (0..308)
            .map(|i| {
                Sent::numbered(
                    &format!("tag-{i:04}"),
                    tags[(i % 3) * usize::from(i < 300)],
                    30,
                )
            })
            .collect();
        clients::send_all(&producer, TOPIC, &sent).await;
        let (ab, c): (Vec<Sent>, Vec<Sent>) = sent.iter().cloned().partition(|s| s.tag != "TagC");

        let lite =
            clients::lite_pull_consumer(&rt, &namesrv, "tag_ab_lite_group", TOPIC, "TagA || TagB")
                .await;
        let inbox_lite = Inbox::default();
        let lite_done = clients::poll_until(&lite, &inbox_lite, Duration::from_secs(30), |i| {
            i.has_all(ab.iter().map(|s| &s.body))
        })
        .await;
        let push_done = clients::wait_until(Duration::from_secs(30), || {
            inbox_ab.has_all(ab.iter().map(|s| &s.body))
                && inbox_c.has_all(c.iter().map(|s| &s.body))
        })
        .await;

        // Every TagA and TagB message, and nothing else (the priming message is tagged
        // `Prime`, so it must not arrive either).
        let only = |expected: &[Sent], inbox: &Inbox, what: &str| {
            let got = inbox.snapshot();
            let delivery = clients::check_delivery(expected, &got);
            println!(
                "tag_filter {what}: {} of {} expected, {} others, {} duplicates",
                delivery.unique,
                expected.len(),
                delivery.unexpected_count,
                delivery.duplicates
            );
            assert!(
                got.iter().all(|g| g.body != clients::PRIME_BODY),
                "{what}: the Prime-tagged message passed the filter"
            );
            delivery.assert_complete(what);
        };
        only(&ab, &inbox_ab, "push `TagA || TagB`");
        only(&c, &inbox_c, "push `TagC`");
        only(&ab, &inbox_lite, "lite pull `TagA || TagB`");
        assert!(push_done && lite_done, "incomplete within 30 s");

        a_or_b.shutdown().await;
        only_c.shutdown().await;
        lite.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
