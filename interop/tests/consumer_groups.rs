//! A consumer group with the stock `rocketmq-client-rust` 1.0.0 push consumer against a
//! real `soyuz standalone`: two clustering consumers split a topic's queues and one takes
//! over when the other leaves (the broker's consumer list and NOTIFY_CONSUMER_IDS_CHANGED
//! drive the rebalance, committed offsets the hand-over).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::clients::{self, Inbox, PushOptions, RecordingAllocator, Sent};
use common::standalone::Standalone;

fn numbered(prefix: &str, n: usize) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent::numbered(&format!("{prefix}-{i:04}"), "TagA", 40))
        .collect()
}

fn bodies(sent: &[Sent]) -> BTreeSet<Vec<u8>> {
    sent.iter().map(|s| s.body.clone()).collect()
}

/// Queue ids `inbox` received any of `of` from.
fn queues_of(inbox: &Inbox, of: &BTreeSet<Vec<u8>>) -> BTreeSet<i32> {
    inbox
        .snapshot()
        .iter()
        .filter(|g| of.contains(&g.body))
        .map(|g| g.queue_id)
        .collect()
}

#[test]
fn two_clustering_consumers_split_the_queues_and_the_survivor_takes_over() {
    const TOPIC: &str = "SplitTopic";
    const GROUP: &str = "split_group";
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "");
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "split_producer").await;
        let queues = clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        assert!(queues >= 2, "{TOPIC} has {queues} queues");
        let allocator = Arc::new(RecordingAllocator::new(TOPIC));
        let options = |instance: &str| PushOptions {
            allocator: Some(allocator.clone()),
            ..PushOptions::clustering(instance)
        };
        let (mut a, inbox_a) =
            clients::push_consumer(&rt, &namesrv, GROUP, TOPIC, "*", options("split-a")).await;
        let (mut b, inbox_b) =
            clients::push_consumer(&rt, &namesrv, GROUP, TOPIC, "*", options("split-b")).await;
        let joined = Instant::now();
        assert!(
            clients::wait_until(Duration::from_secs(30), || allocator.settled(2, queues)).await,
            "the group did not settle on two members sharing {queues} queues within 30 s: {:?}",
            allocator.latest()
        );
        let settle_time = joined.elapsed();

        // Both running: each gets some, together all, and no queue is served twice.
        let phase1 = numbered("split1", 200);
        clients::send_all(&producer, TOPIC, &phase1).await;
        let phase1_bodies = bodies(&phase1);
        let together = || {
            let mut union = inbox_a.snapshot();
            union.extend(inbox_b.snapshot());
            union
        };
        assert!(
            clients::wait_until(Duration::from_secs(30), || {
                let seen: BTreeSet<Vec<u8>> = together().into_iter().map(|g| g.body).collect();
                phase1_bodies.is_subset(&seen)
            })
            .await,
            "phase 1 incomplete: a has {}, b has {} of {}",
            inbox_a.count_of(&phase1_bodies),
            inbox_b.count_of(&phase1_bodies),
            phase1.len()
        );
        clients::check_delivery(&phase1, &together()).assert_complete("phase 1, a and b");
        let (got_a, got_b) = (
            inbox_a.count_of(&phase1_bodies),
            inbox_b.count_of(&phase1_bodies),
        );
        assert!(got_a > 0 && got_b > 0, "a got {got_a}, b got {got_b}");
        let (queues_a, queues_b) = (
            queues_of(&inbox_a, &phase1_bodies),
            queues_of(&inbox_b, &phase1_bodies),
        );
        assert!(
            queues_a.is_disjoint(&queues_b),
            "both consumed queues {:?}",
            queues_a.intersection(&queues_b).collect::<Vec<_>>()
        );

        // a leaves (committing its offsets); everything sent from then on reaches b.
        a.shutdown().await;
        let left = Instant::now();
        let phase2 = numbered("split2", 200);
        clients::send_all(&producer, TOPIC, &phase2).await;
        let phase2_bodies = bodies(&phase2);
        assert!(
            clients::wait_until(Duration::from_secs(40), || inbox_b.has_all(&phase2_bodies)).await,
            "b received only {} of the {} messages sent after a left; allocations {:?}",
            inbox_b.count_of(&phase2_bodies),
            phase2.len(),
            allocator.latest()
        );
        let takeover_time = left.elapsed();
        assert_eq!(
            inbox_a.count_of(&phase2_bodies),
            0,
            "a consumed after shutdown"
        );
        let all_b = clients::check_delivery(
            &phase1.iter().chain(&phase2).cloned().collect::<Vec<_>>(),
            &inbox_b.snapshot(),
        );
        assert!(
            all_b.mismatched.is_empty() && all_b.unexpected_count == 0,
            "{all_b:#?}"
        );
        println!(
            "consumer_groups split: settled in {settle_time:?} (a {queues_a:?}, b {queues_b:?}; \
             phase 1: a {got_a}, b {got_b}); b had all of phase 2 {takeover_time:?} after a left; \
             b redelivered {} of a's phase-1 messages",
            all_b.unique.saturating_sub(got_b + phase2.len())
        );

        b.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
