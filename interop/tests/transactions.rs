//! Transactions: a `TransactionMQProducer` sends four half messages. The committed one
//! arrives, the rolled-back one never does, and of the two left UNKNOWN the broker's
//! check-back (CHECK_TRANSACTION_STATE, answered by the producer's checker) commits one,
//! which then arrives, and rolls back the other, which never does.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{LocalTransactionState, TransactionListener, TransactionMQProducer};
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageTrait;

use common::clients::{self, PushOptions};
use common::standalone::Standalone;

const TOPIC: &str = "TxTopic";
const CASES: [&str; 4] = ["commit", "rollback", "unknown-commit", "unknown-rollback"];

/// Decides by body; counts the checker's calls per body.
#[derive(Clone, Default)]
struct Listener {
    checks: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl TransactionListener for Listener {
    fn execute_local_transaction(
        &self,
        msg: &dyn MessageTrait,
        _arg: Option<&(dyn std::any::Any + Send + Sync)>,
    ) -> LocalTransactionState {
        let keys = msg.get_keys().map(|k| k.to_string()).unwrap_or_default();
        match keys.as_str() {
            "tx-commit" => LocalTransactionState::CommitMessage,
            "tx-rollback" => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let body = msg.body().map(|b| b.to_vec()).unwrap_or_default();
        let body = String::from_utf8_lossy(&body).into_owned();
        *self
            .checks
            .lock()
            .expect("checks")
            .entry(body.clone())
            .or_default() += 1;
        match body.as_str() {
            "unknown-commit" => LocalTransactionState::CommitMessage,
            "unknown-rollback" => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }
}

#[test]
fn commit_rollback_and_checked_back_transactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let soyuz = Standalone::start_in(
        dir.path(),
        "transactionCheckInterval=1000\ntransactionTimeOut=1000\n",
    );
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let plain = clients::producer(&rt, &namesrv, "tx_plain_producer").await;
        clients::prime_topic(&rt, &namesrv, &plain, TOPIC).await;
        let (mut consumer, inbox) = clients::push_consumer(
            &rt,
            &namesrv,
            "tx_consumer",
            TOPIC,
            "Tx",
            PushOptions::clustering("tx-consumer"),
        )
        .await;

        let listener = Listener::default();
        let mut producer: TransactionMQProducer = TransactionMQProducer::builder(rt.clone())
            .producer_group("tx_producer")
            .name_server_addr(namesrv.as_str())
            .transaction_listener(listener.clone())
            .build();
        producer.start().await.expect("transaction producer start");

        for case in CASES {
            let message = Message::builder()
                .topic(TOPIC)
                .tags("Tx")
                .key(format!("tx-{case}").as_str())
                .body_slice(case.as_bytes())
                .build_unchecked();
            let result = producer
                .send_message_in_transaction::<(), _>(message, None)
                .await
                .unwrap_or_else(|e| panic!("transactional send {case}: {e:?}"));
            println!("tx {case}: {result:?}");
        }

        let body = |s: &str| s.as_bytes().to_vec();
        let committed = [body("commit"), body("unknown-commit")];
        let arrived =
            clients::wait_until(Duration::from_secs(30), || inbox.has_all(committed.iter())).await;
        let checks = listener.checks.lock().expect("checks").clone();
        assert!(
            arrived,
            "committed messages missing; got {:?}, checks {checks:?}",
            inbox
                .snapshot()
                .iter()
                .map(|g| String::from_utf8_lossy(&g.body).into_owned())
                .collect::<Vec<_>>()
        );
        // The checker must also have settled the other unknown one.
        assert!(
            clients::wait_until(Duration::from_secs(15), || {
                listener
                    .checks
                    .lock()
                    .expect("checks")
                    .contains_key("unknown-rollback")
            })
            .await,
            "no check-back for unknown-rollback: {:?}",
            listener.checks.lock().expect("checks")
        );
        // Give a wrongly committed message time to show up (a negative: a fixed wait).
        tokio::time::sleep(Duration::from_secs(4)).await;
        let got = inbox.snapshot();
        let bodies: Vec<String> = got
            .iter()
            .filter(|g| g.body != clients::PRIME_BODY)
            .map(|g| String::from_utf8_lossy(&g.body).into_owned())
            .collect();
        let checks = listener.checks.lock().expect("checks").clone();
        println!("tx: delivered {bodies:?}, checks {checks:?}");
        assert!(!bodies.iter().any(|b| b.contains("rollback")), "{bodies:?}");
        assert!(
            !checks.contains_key("commit") && !checks.contains_key("rollback"),
            "{checks:?}"
        );
        for case in ["commit", "unknown-commit"] {
            let g = got
                .iter()
                .find(|g| g.body == case.as_bytes())
                .expect("arrived");
            assert_eq!(g.keys.as_deref(), Some(format!("tx-{case}").as_str()));
            assert_eq!(g.tags.as_deref(), Some("Tx"));
        }
        // Once settled, a transaction is not checked again and the message stays single.
        let settled = listener.checks.lock().expect("checks").clone();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            *listener.checks.lock().expect("checks"),
            settled,
            "checked after settling"
        );
        assert_eq!(
            inbox
                .snapshot()
                .iter()
                .filter(|g| g.body == b"unknown-commit")
                .count(),
            1
        );

        consumer.shutdown().await;
        producer.shutdown().await;
        let mut plain = plain;
        plain.shutdown().await;
    });
    soyuz.stop();
}
