//! Consumer offsets with the stock `rocketmq-client-rust` 1.0.0 push consumer against a
//! real `soyuz standalone`: a group resumes where it left off after the consumer
//! restarts, and after the broker restarts (offsets persisted by the broker across a
//! clean stop), while a consumer that stays connected through the restart carries on.

mod common;

use std::time::Duration;

use common::clients::{self, Inbox, PushOptions, Sent};
use common::standalone::Standalone;

/// Messages consumed before the restart.
const N: usize = 300;
/// Messages sent while the group is down.
const M: usize = 200;
/// Old messages a resumed group may see again. A clean shutdown commits every consumed
/// offset, so none should come back; the allowance covers one in-flight pull batch (32)
/// per queue (4) whose commit could race the shutdown.
const REDELIVERY_BOUND: usize = 128;

fn numbered(prefix: &str, n: usize) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent::numbered(&format!("{prefix}-{i:04}"), "TagA", 25))
        .collect()
}

async fn wait_all(inbox: &Inbox, sent: &[Sent], what: &str) {
    let done = clients::wait_until(Duration::from_secs(30), || {
        inbox.has_all(sent.iter().map(|s| &s.body))
    })
    .await;
    assert!(
        done,
        "{what}: {:#?}",
        clients::check_delivery(sent, &inbox.snapshot())
    );
}

#[test]
fn a_group_resumes_from_its_committed_offsets_after_a_consumer_restart() {
    const TOPIC: &str = "ResumeTopic";
    const GROUP: &str = "resume_group";
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "resume_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let (mut first, inbox) = clients::push_consumer(
            &rt,
            &namesrv,
            GROUP,
            TOPIC,
            "*",
            PushOptions::clustering("resume-1"),
        )
        .await;
        let old = numbered("resume-old", N);
        clients::send_all(&producer, TOPIC, &old).await;
        wait_all(&inbox, &old, "first consumer").await;
        first.shutdown().await;

        let new = numbered("resume-new", M);
        clients::send_all(&producer, TOPIC, &new).await;
        let (mut second, resumed) = clients::push_consumer(
            &rt,
            &namesrv,
            GROUP,
            TOPIC,
            "*",
            PushOptions::clustering("resume-2"),
        )
        .await;
        wait_all(&resumed, &new, "resumed consumer").await;
        let got = resumed.snapshot();
        let redelivered = clients::check_delivery(&old, &got).unique;
        let fresh = clients::check_delivery(&new, &got);
        println!(
            "offsets (consumer restart): {} of {M} new received, {redelivered} of {N} old \
             redelivered (bound {REDELIVERY_BOUND})",
            fresh.unique
        );
        assert!(fresh.mismatched.is_empty(), "{fresh:#?}");
        assert!(
            redelivered <= REDELIVERY_BOUND,
            "{redelivered} of {N} old messages redelivered"
        );
        second.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}

#[test]
fn a_group_resumes_after_a_broker_restart_and_a_live_consumer_reconnects() {
    const TOPIC: &str = "RestartTopic";
    const GROUP: &str = "restart_group";
    const LIVE_GROUP: &str = "restart_live_group";
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    let soyuz = clients::with_clients(move |rt| async move {
        let producer = clients::producer(&rt, &namesrv, "restart_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let (mut first, inbox) = clients::push_consumer(
            &rt,
            &namesrv,
            GROUP,
            TOPIC,
            "*",
            PushOptions::clustering("restart-1"),
        )
        .await;
        // Another group's consumer stays up through the restart: a lite pull consumer,
        // whose pulls the broker holds for one second. (A push consumer's held pull is
        // not failed when the broker's process exits; the client waits out its 30 s
        // pull timeout, which would only slow this test down.)
        let live = clients::lite_pull_consumer(&rt, &namesrv, LIVE_GROUP, TOPIC, "*").await;
        let live_inbox = Inbox::default();
        let old = numbered("restart-old", N);
        clients::send_all(&producer, TOPIC, &old).await;
        wait_all(&inbox, &old, "first consumer").await;
        let live_done = clients::poll_until(&live, &live_inbox, Duration::from_secs(30), |i| {
            i.has_all(old.iter().map(|s| &s.body))
        })
        .await;
        assert!(live_done, "live consumer: not all old messages");
        first.shutdown().await;

        // SIGTERM, wait for a clean exit, start again on the same data and ports.
        let soyuz = tokio::task::spawn_blocking(move || soyuz.stop_and_restart())
            .await
            .expect("restart");

        let new = numbered("restart-new", M);
        clients::send_all(&producer, TOPIC, &new).await;
        let (mut second, resumed) = clients::push_consumer(
            &rt,
            &namesrv,
            GROUP,
            TOPIC,
            "*",
            PushOptions::clustering("restart-2"),
        )
        .await;
        wait_all(&resumed, &new, "group resumed after the broker restart").await;
        let live_done = clients::poll_until(&live, &live_inbox, Duration::from_secs(30), |i| {
            i.has_all(new.iter().map(|s| &s.body))
        })
        .await;
        assert!(
            live_done,
            "consumer that lived through the restart: {:#?}",
            clients::check_delivery(&new, &live_inbox.snapshot())
        );
        let got = resumed.snapshot();
        let redelivered = clients::check_delivery(&old, &got).unique;
        let fresh = clients::check_delivery(&new, &got);
        let live_old = clients::check_delivery(&old, &live_inbox.snapshot());
        println!(
            "offsets (broker restart): {} of {M} new received, {redelivered} of {N} old \
             redelivered (bound {REDELIVERY_BOUND}); the live consumer got all new messages, \
             {} old ones twice",
            fresh.unique, live_old.duplicates
        );
        assert!(fresh.mismatched.is_empty(), "{fresh:#?}");
        assert!(
            redelivered <= REDELIVERY_BOUND,
            "{redelivered} of {N} old messages redelivered"
        );
        second.shutdown().await;
        live.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
        soyuz
    });
    soyuz.stop();
}
