//! Transactional messages against a real in-process NameServer and broker: committed and
//! rolled back by the local transaction, and left unknown then resolved by the broker's
//! check (CHECK_TRANSACTION_STATE answered by the producer's checker).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Cluster, Received};
use parking_lot::Mutex;
use soyuz_client::{
    ConsumeFromWhere, LocalTransactionState, Message, MessageExt, ProducerOptions, PullConsumer,
    PullConsumerOptions, PullStatus, PushConsumer, PushConsumerOptions, SendStatus,
    TransactionProducer,
};

/// How long an absent message is given to turn up after the present ones have arrived.
const GRACE: Duration = Duration::from_secs(2);

/// The four cases: body, what the local transaction says, what the checker says.
const CASES: [(&str, LocalTransactionState, LocalTransactionState); 4] = [
    (
        "committed",
        LocalTransactionState::Commit,
        LocalTransactionState::Commit,
    ),
    (
        "rolled-back",
        LocalTransactionState::Rollback,
        LocalTransactionState::Rollback,
    ),
    (
        "unknown-then-committed",
        LocalTransactionState::Unknown,
        LocalTransactionState::Commit,
    ),
    (
        "unknown-then-rolled-back",
        LocalTransactionState::Unknown,
        LocalTransactionState::Rollback,
    ),
];

/// The bodies consumers must see, sorted.
fn expected_present() -> Vec<String> {
    vec!["committed".to_owned(), "unknown-then-committed".to_owned()]
}

async fn fast_checking_cluster() -> Cluster {
    Cluster::start_with(|config| {
        config.transaction_check_interval = 200;
        config.transaction_time_out = 0;
    })
    .await
}

fn text(message: &MessageExt) -> String {
    String::from_utf8_lossy(&message.body).into_owned()
}

/// Bodies the checker was asked about, with how many times.
#[derive(Clone, Default)]
struct Checked(Arc<Mutex<BTreeMap<String, usize>>>);

impl Checked {
    fn count(&self, body: &str) -> usize {
        self.0.lock().get(body).copied().unwrap_or(0)
    }
}

/// Starts a transaction producer whose checker answers each case's final state (the same
/// answer however often it is asked) and sends the four cases to `topic`.
async fn send_the_four_cases(
    cluster: &Cluster,
    group: &str,
    topic: &str,
) -> (TransactionProducer, Checked) {
    let checked = Checked::default();
    let seen = checked.clone();
    let checker = move |half: &MessageExt| {
        let body = text(half);
        *seen.0.lock().entry(body.clone()).or_default() += 1;
        CASES
            .iter()
            .find(|(b, _, _)| *b == body)
            .map(|(_, _, checked)| *checked)
            .unwrap_or(LocalTransactionState::Rollback)
    };
    let options = ProducerOptions {
        client: cluster.client_config(),
        ..ProducerOptions::new(cluster.namesrv.clone(), group)
    };
    let producer = TransactionProducer::start(options, checker)
        .await
        .expect("transaction producer starts");
    for (body, local, _) in CASES {
        let message = Message::new(topic, body).with_keys([body]);
        let result = producer
            .send_in_transaction(message, |m: &Message| {
                assert_eq!(m.body.as_ref(), body.as_bytes());
                assert_eq!(m.property("TRAN_MSG"), Some("true"));
                local
            })
            .await
            .expect("half message sent");
        assert_eq!(result.send_result.status, SendStatus::SendOk, "{body}");
        assert_eq!(result.local_state, local, "{body}");
    }
    (producer, checked)
}

/// The unknown ones were resolved by the checker, and the consumer's view holds exactly
/// the committed ones.
fn assert_resolved(checked: &Checked, bodies: Vec<String>) {
    assert!(checked.count("unknown-then-committed") >= 1);
    assert!(checked.count("unknown-then-rolled-back") >= 1);
    assert_eq!(bodies, expected_present());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_consumer_sees_committed_and_checked_commits_only() {
    let cluster = fast_checking_cluster().await;
    let topic = "TxPush";
    let (producer, checked) = send_the_four_cases(&cluster, "PG-tx-push", topic).await;

    let received = Received::default();
    let options = PushConsumerOptions {
        client: cluster.client_config(),
        consume_from_where: ConsumeFromWhere::FirstOffset,
        local_retry_delay: Duration::from_millis(100),
        pull_delay_when_exception: Duration::from_millis(200),
        offset_store_dir: cluster.scratch.path().join("offsets"),
        ..PushConsumerOptions::new(cluster.namesrv.clone(), "CG-tx-push")
    };
    let consumer = PushConsumer::new(options, received.listener());
    consumer.subscribe(topic, "*").expect("subscribes");
    consumer.start().await.expect("starts");

    // The committed one at once, the unknown-then-committed one after a check.
    eventually("both commits delivered", || async {
        let bodies: BTreeSet<String> = received.bodies().into_iter().collect();
        (bodies.contains("committed") && bodies.contains("unknown-then-committed")).then_some(())
    })
    .await;
    // The rolled-back ones are checked too (or already gone); give them a grace to turn up.
    eventually("the unknown rollback checked", || async {
        (checked.count("unknown-then-rolled-back") >= 1).then_some(())
    })
    .await;
    tokio::time::sleep(GRACE).await;
    for message in received.all() {
        assert_eq!(message.topic, topic, "delivered on the real topic");
        assert!(
            message.property("TRAN_MSG").is_some(),
            "a committed half message keeps TRAN_MSG"
        );
    }
    assert_resolved(&checked, received.bodies());

    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_sees_committed_and_checked_commits_only() {
    let cluster = fast_checking_cluster().await;
    let topic = "TxPull";
    let (producer, checked) = send_the_four_cases(&cluster, "PG-tx-pull", topic).await;

    let options = PullConsumerOptions {
        client: cluster.client_config(),
        ..PullConsumerOptions::new(cluster.namesrv.clone(), "CG-tx-pull")
    };
    let consumer = PullConsumer::start(options)
        .await
        .expect("pull consumer starts");
    let queues = eventually("the topic's queues", || async {
        consumer
            .fetch_message_queues(topic)
            .await
            .ok()
            .filter(|queues| !queues.is_empty())
    })
    .await;

    // Pull every queue from the start each time: what is there now, sorted.
    let pull_all = || async {
        let mut bodies = Vec::new();
        for queue in &queues {
            let result = consumer.pull(queue, 0, 32).await.expect("pull answers");
            if result.status == PullStatus::Found {
                bodies.extend(result.messages.iter().map(text));
            }
        }
        bodies.sort();
        bodies
    };
    eventually("both commits pullable", || async {
        let bodies = pull_all().await;
        (bodies.contains(&"committed".to_owned())
            && bodies.contains(&"unknown-then-committed".to_owned()))
        .then_some(())
    })
    .await;
    eventually("the unknown rollback checked", || async {
        (checked.count("unknown-then-rolled-back") >= 1).then_some(())
    })
    .await;
    tokio::time::sleep(GRACE).await;
    assert_resolved(&checked, pull_all().await);

    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}
