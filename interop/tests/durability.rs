//! Durability with the stock `rocketmq-client-rust` 1.0.0 against a real
//! `soyuz standalone` with `flushDiskType=SYNC_FLUSH`: producers send synchronously in a
//! loop, the broker is killed with SIGKILL mid-stream and restarted on the same data, and
//! every message that was acknowledged with SEND_OK is then read back by a new consumer
//! group from the first offset.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_model::result::SendStatus;

use common::clients::{self, PushOptions, Sent};
use common::standalone::Standalone;

const TOPIC: &str = "DurableTopic";
const SENDERS: usize = 4;
/// Acknowledged messages to collect before the kill, and again after the restart.
const ACKED_EACH_SIDE: usize = 400;

#[derive(Default)]
struct Outcomes {
    /// Acknowledged with SEND_OK.
    acked: Mutex<Vec<Sent>>,
    /// Every message a send was attempted for.
    attempted: Mutex<Vec<Sent>>,
    /// Sends that failed or were not SEND_OK, with the first few reasons.
    failed: AtomicUsize,
    reasons: Mutex<Vec<String>>,
}

impl Outcomes {
    fn acked(&self) -> usize {
        self.acked.lock().expect("acked").len()
    }
}

#[test]
fn every_message_acknowledged_with_send_ok_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(dir.path(), "flushDiskType=SYNC_FLUSH");
    let namesrv = soyuz.namesrv.clone();
    let soyuz = clients::with_clients(move |rt| async move {
        let producer = clients::producer(&rt, &namesrv, "durable_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;
        let producer = Arc::new(producer);
        let outcomes = Arc::new(Outcomes::default());
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let (producer, outcomes) = (producer.clone(), outcomes.clone());
                let (stop, next) = (stop.clone(), next.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let sent = Sent::numbered(&format!("durable-{i:06}"), "TagA", 64);
                        outcomes
                            .attempted
                            .lock()
                            .expect("attempted")
                            .push(sent.clone());
                        match producer.send(sent.message(TOPIC)).await {
                            Ok(Some(result)) if result.send_status == SendStatus::SendOk => {
                                outcomes.acked.lock().expect("acked").push(sent);
                            }
                            other => {
                                outcomes.failed.fetch_add(1, Ordering::Relaxed);
                                let mut reasons = outcomes.reasons.lock().expect("reasons");
                                if reasons.len() < 3 {
                                    reasons.push(format!("{other:?}").chars().take(300).collect());
                                }
                            }
                        }
                    }
                })
            })
            .collect();

        assert!(
            clients::wait_until(Duration::from_secs(60), || outcomes.acked()
                >= ACKED_EACH_SIDE)
            .await,
            "only {} acknowledged before the kill",
            outcomes.acked()
        );
        let acked_before_kill = outcomes.acked();
        let killed = Instant::now();
        let soyuz = tokio::task::spawn_blocking(move || soyuz.kill_and_restart())
            .await
            .expect("kill -9 and restart");
        let restarted_after = killed.elapsed();
        let acked_at_restart = outcomes.acked();
        let resumed = clients::wait_until(Duration::from_secs(60), || {
            outcomes.acked() > acked_at_restart
        })
        .await;
        assert!(resumed, "no send succeeded within 60 s of the restart");
        let first_ack_after_restart = killed.elapsed();
        assert!(
            clients::wait_until(Duration::from_secs(60), || outcomes.acked()
                >= acked_at_restart + ACKED_EACH_SIDE)
            .await,
            "only {} acknowledged after the restart",
            outcomes.acked() - acked_at_restart
        );
        stop.store(true, Ordering::Relaxed);
        for sender in senders {
            sender.await.expect("sender task");
        }

        let acked = outcomes.acked.lock().expect("acked").clone();
        let attempted = outcomes.attempted.lock().expect("attempted").clone();
        let (mut consumer, inbox) = clients::push_consumer(
            &rt,
            &namesrv,
            "durable_reader",
            TOPIC,
            "*",
            PushOptions::clustering("durable-reader"),
        )
        .await;
        let read_all = clients::wait_until(Duration::from_secs(60), || {
            inbox.has_all(acked.iter().map(|s| &s.body))
        })
        .await;
        let got = inbox.snapshot();
        let of_acked = clients::check_delivery(&acked, &got);
        let of_attempted = clients::check_delivery(&attempted, &got);
        println!(
            "durability: {} attempted, {} acknowledged ({acked_before_kill} before the kill), \
             {} failed; restart took {restarted_after:?}, first ack {first_ack_after_restart:?} \
             after the kill; read back {} of {} acknowledged, plus {} stored without an \
             acknowledgement, {} duplicates; first failures: {:?}",
            attempted.len(),
            acked.len(),
            outcomes.failed.load(Ordering::Relaxed),
            of_acked.unique,
            acked.len(),
            of_attempted.unique - of_acked.unique,
            of_attempted.duplicates,
            outcomes.reasons.lock().expect("reasons")
        );
        assert!(
            read_all && of_acked.missing_count == 0,
            "acknowledged messages lost: {of_acked:#?}"
        );
        assert!(
            of_attempted.unexpected_count == 0 && of_attempted.mismatched.is_empty(),
            "{of_attempted:#?}"
        );

        consumer.shutdown().await;
        let mut producer = Arc::try_unwrap(producer)
            .ok()
            .expect("senders finished, producer unshared");
        producer.shutdown().await;
        soyuz
    });
    soyuz.stop();
}
