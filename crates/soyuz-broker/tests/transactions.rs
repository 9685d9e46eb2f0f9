//! Transactional messages: half messages invisible until END_TRANSACTION (37) commits
//! them, rollback, the check-back with CHECK_TRANSACTION_STATE (39) to a live producer,
//! and the discard after `transactionCheckMax` unanswered checks.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::*;
use parking_lot::Mutex;
use soyuz_model::msg_id::decode_offset_msg_id;
use soyuz_remoting::headers::producer::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, SendMessageResponseHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::{ClientConfig, RemotingClient, Router};

const COMMIT: i32 = 8;
const ROLLBACK: i32 = 12;

fn prepared(topic: &str, body: &str) -> Message {
    Message::new(topic, body)
        .property("TRAN_MSG", "true")
        .property("PGROUP", PRODUCER_GROUP)
}

fn end(sent: &SendMessageResponseHeader, decision: i32, from_check: bool) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::END_TRANSACTION,
        &EndTransactionRequestHeader {
            topic: None,
            producer_group: PRODUCER_GROUP.to_owned(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset: decode_offset_msg_id(&sent.msg_id)
                .expect("msg id")
                .commit_log_offset,
            commit_or_rollback: decision,
            from_transaction_check: Some(from_check),
            msg_id: sent.transaction_id.clone().unwrap_or_default(),
            transaction_id: sent.transaction_id.clone(),
            bname: None,
        },
    )
}

async fn visible(env: &Env, topic: &str) -> Vec<String> {
    let response = env
        .ask(Pull::new("reader", topic, 0, 0).subscribe("*").request())
        .await;
    if response.code == response_code::SUCCESS {
        bodies(&response)
    } else {
        Vec::new()
    }
}

#[tokio::test]
async fn a_committed_half_message_appears_and_a_rolled_back_one_never_does() {
    let env = Env::start().await;
    let kept = env.send(&prepared("Tx", "kept")).await;
    let dropped = env.send(&prepared("Tx", "dropped")).await;
    assert!(
        visible(&env, "Tx").await.is_empty(),
        "half messages are invisible"
    );

    assert_code(
        &env.ask(end(&kept, COMMIT, false)).await,
        response_code::SUCCESS,
    );
    assert_code(
        &env.ask(end(&dropped, ROLLBACK, false)).await,
        response_code::SUCCESS,
    );
    let seen = eventually("the committed message", || async {
        let seen = visible(&env, "Tx").await;
        (!seen.is_empty()).then_some(seen)
    })
    .await;
    assert_eq!(seen, ["kept"]);
    // A repeated commit stores nothing more.
    assert_code(
        &env.ask(end(&kept, COMMIT, false)).await,
        response_code::SUCCESS,
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(visible(&env, "Tx").await, ["kept"]);
}

#[tokio::test]
async fn end_transaction_with_the_wrong_group_or_offset_is_refused() {
    let env = Env::start().await;
    let sent = env.send(&prepared("TxBad", "x")).await;
    let mut wrong_group = end(&sent, COMMIT, false);
    wrong_group
        .ext_fields
        .insert("producerGroup", "someone-else");
    assert_code(&env.ask(wrong_group).await, response_code::SYSTEM_ERROR);
    let mut wrong_offset = end(&sent, COMMIT, false);
    wrong_offset.ext_fields.insert("tranStateTableOffset", "99");
    assert_code(&env.ask(wrong_offset).await, response_code::SYSTEM_ERROR);
    let mut nowhere = end(&sent, COMMIT, false);
    nowhere.ext_fields.insert("commitLogOffset", "123456789");
    assert_code(&env.ask(nowhere).await, response_code::SYSTEM_ERROR);
}

/// A producer connected to `broker` that answers checks with `decision` (over its own
/// connection, as a Java producer does), recording the bodies it was asked about.
fn checking_producer(
    broker: &str,
    decision: i32,
    asked: Arc<Mutex<Vec<String>>>,
) -> Arc<RemotingClient> {
    let me: Arc<OnceLock<Arc<RemotingClient>>> = Arc::new(OnceLock::new());
    let hook = me.clone();
    let broker_addr = broker.to_owned();
    let router =
        Router::new().route_sync(request_code::CHECK_TRANSACTION_STATE, move |_, request| {
            let header: CheckTransactionStateRequestHeader =
                request.decode_header().expect("check header");
            let checked = records(&request.body);
            asked
                .lock()
                .push(String::from_utf8_lossy(&checked[0].body).into_owned());
            let answer = RemotingCommand::request_with_header(
                request_code::END_TRANSACTION,
                &EndTransactionRequestHeader {
                    topic: header.topic.clone(),
                    producer_group: PRODUCER_GROUP.to_owned(),
                    tran_state_table_offset: header.tran_state_table_offset,
                    commit_log_offset: header.commit_log_offset,
                    commit_or_rollback: decision,
                    from_transaction_check: Some(true),
                    msg_id: header.msg_id.clone().unwrap_or_default(),
                    transaction_id: header.transaction_id.clone(),
                    bname: None,
                },
            );
            if let Some(client) = hook.get().cloned() {
                let broker = broker_addr.clone();
                tokio::spawn(async move {
                    let _ = client.invoke_oneway(&broker, answer).await;
                });
            }
            None
        });
    let client = Arc::new(RemotingClient::new(
        ClientConfig::default(),
        Arc::new(router),
    ));
    let _ = me.set(client.clone());
    client
}

/// A half message left unknown, then resolved by a producer answering checks with
/// `decision`: what the producer was asked about, and what consumers then see.
async fn resolved_by_check(decision: i32) -> (Vec<String>, Vec<String>) {
    let env = Env::start_with(|c| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 0;
    })
    .await;
    let asked = Arc::new(Mutex::new(Vec::new()));
    let producer = checking_producer(&env.broker.addr, decision, asked.clone());
    let heartbeat = producer
        .invoke(
            &env.broker.addr,
            producer_heartbeat("127.0.0.1@tx", PRODUCER_GROUP),
            TIMEOUT,
        )
        .await
        .expect("heartbeat");
    assert_code(&heartbeat, response_code::SUCCESS);
    let sent = env.send(&prepared("TxCheck", "unknown-at-first")).await;
    assert_code(&env.ask(end(&sent, 0, false)).await, response_code::SUCCESS);
    eventually("a check", || async {
        (!asked.lock().is_empty()).then_some(())
    })
    .await;
    let seen = if decision == COMMIT {
        eventually("the commit made after the check", || async {
            let seen = visible(&env, "TxCheck").await;
            (!seen.is_empty()).then_some(seen)
        })
        .await
    } else {
        // Give a wrong commit time to show up; the check loop runs every 100 ms.
        tokio::time::sleep(Duration::from_millis(500)).await;
        visible(&env, "TxCheck").await
    };
    let asked = asked.lock().clone();
    (asked, seen)
}

#[tokio::test]
async fn an_unknown_transaction_committed_by_the_checker_appears() {
    let (asked, seen) = resolved_by_check(COMMIT).await;
    assert_eq!(asked[0], "unknown-at-first");
    assert_eq!(seen, ["unknown-at-first"]);
}

#[tokio::test]
async fn an_unknown_transaction_rolled_back_by_the_checker_never_appears() {
    let (asked, seen) = resolved_by_check(ROLLBACK).await;
    assert_eq!(asked[0], "unknown-at-first");
    assert!(seen.is_empty());
}

#[tokio::test]
async fn a_transaction_nobody_answers_for_is_discarded_after_check_max() {
    let env = Env::start_with(|c| {
        c.transaction_check_interval = 50;
        c.transaction_time_out = 0;
        c.transaction_check_max = 2;
    })
    .await;
    env.send(&prepared("TxLost", "orphan")).await;
    let discarded = eventually("the discarded half message", || async {
        let seen = visible(&env, "TRANS_CHECK_MAX_TIME_TOPIC").await;
        (!seen.is_empty()).then_some(seen)
    })
    .await;
    assert_eq!(discarded, ["orphan"]);
    assert!(visible(&env, "TxLost").await.is_empty());
}
