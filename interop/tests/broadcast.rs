//! Broadcasting with the stock `rocketmq-client-rust` 1.0.0 push consumer against a real
//! `soyuz standalone`: two consumers of one broadcasting group each receive every
//! message. Its own test binary, because it sets an environment variable the client
//! reads once per process.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

use common::clients::{self, PushOptions, Sent};
use common::standalone::Standalone;

#[test]
fn two_broadcasting_consumers_each_receive_every_message() {
    const TOPIC: &str = "BroadcastTopic";
    const GROUP: &str = "broadcast_group";
    // Broadcasting consumers keep offsets in local files; keep them out of $HOME (and
    // away from earlier runs). Set before any client exists; this binary has no other
    // test running concurrently.
    let offsets = tempfile::tempdir().expect("tempdir");
    std::env::set_var("rocketmq.client.localOffsetStoreDir", offsets.path());
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "broadcast_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let options = |instance: &str| PushOptions {
            model: MessageModel::Broadcasting,
            from: ConsumeFromWhere::ConsumeFromFirstOffset,
            ..PushOptions::clustering(instance)
        };
        let (mut one, inbox_one) =
            clients::push_consumer(&rt, &namesrv, GROUP, TOPIC, "*", options("bc-1")).await;
        let (mut two, inbox_two) =
            clients::push_consumer(&rt, &namesrv, GROUP, TOPIC, "*", options("bc-2")).await;

        let sent: Vec<Sent> = (0..300)
            .map(|i| Sent::numbered(&format!("bc-{i:04}"), "TagA", 40))
            .collect();
        clients::send_all(&producer, TOPIC, &sent).await;
        let sent_bodies: BTreeSet<Vec<u8>> = sent.iter().map(|s| s.body.clone()).collect();
        let both = clients::wait_until(Duration::from_secs(30), || {
            inbox_one.has_all(&sent_bodies) && inbox_two.has_all(&sent_bodies)
        })
        .await;
        let (d1, d2) = (
            clients::check_delivery(&sent, &inbox_one.snapshot()),
            clients::check_delivery(&sent, &inbox_two.snapshot()),
        );
        println!(
            "consumer_groups broadcast: consumer 1 {} unique ({} duplicates), consumer 2 {} \
             unique ({} duplicates) of {}",
            d1.unique,
            d1.duplicates,
            d2.unique,
            d2.duplicates,
            sent.len()
        );
        assert!(both, "not both complete within 30 s: {d1:#?} {d2:#?}");
        d1.assert_complete("broadcast consumer 1");
        d2.assert_complete("broadcast consumer 2");

        one.shutdown().await;
        two.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
