//! Delay levels and CONSUMER_SEND_MSG_BACK (36): a delayed message is invisible until
//! it is due, then delivered to its own topic and queue; a message sent back is retried
//! through `%RETRY%group` with one more reconsume count, or lands in `%DLQ%group` once
//! its attempts are used up.

mod common;

use std::time::{Duration, Instant};

use common::*;
use soyuz_model::msg_id::decode_offset_msg_id;
use soyuz_remoting::headers::consumer::ConsumerSendMsgBackRequestHeader;
use soyuz_remoting::{request_code, response_code, RemotingCommand};

/// Level 1 is one second.
const LEVEL_1: Duration = Duration::from_secs(1);

async fn pull_one(
    env: &Env,
    topic: &str,
    queue_id: i32,
) -> Option<soyuz_model::record::MessageRecord> {
    let response = env
        .ask(
            Pull::new("watcher", topic, queue_id, 0)
                .subscribe("*")
                .request(),
        )
        .await;
    (response.code == response_code::SUCCESS).then(|| one_record(&response))
}

#[tokio::test]
async fn a_delayed_message_arrives_at_its_queue_only_when_due() {
    let env = Env::start().await;
    let sent_at = Instant::now();
    env.send(
        &Message::new("Later", "after a second")
            .queue(1)
            .property("DELAY", "1")
            .property("KEYS", "k1"),
    )
    .await;
    assert!(
        pull_one(&env, "Later", 1).await.is_none(),
        "not before its time"
    );
    let delivered = eventually("the delayed message", || async {
        pull_one(&env, "Later", 1).await
    })
    .await;
    assert!(
        sent_at.elapsed() >= LEVEL_1,
        "delivered after {:?}",
        sent_at.elapsed()
    );
    assert_eq!(delivered.body.as_ref(), b"after a second");
    let props = properties(&delivered);
    assert_eq!(props.get("KEYS").map(String::as_str), Some("k1"));
    assert_eq!(props.get("REAL_TOPIC").map(String::as_str), Some("Later"));
    assert!(!props.contains_key("DELAY"));
}

fn send_back(offset: i64, group: &str, delay_level: i32, max: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset,
            group: group.to_owned(),
            delay_level,
            origin_msg_id: None,
            origin_topic: Some("Work".to_owned()),
            unit_mode: Some(false),
            max_reconsume_times: Some(max),
            bname: None,
        },
    )
}

#[tokio::test]
async fn a_message_sent_back_is_retried_then_dead_lettered() {
    let env = Env::start().await;
    let header = env
        .send(&Message::new("Work", "fails").property("KEYS", "job-7"))
        .await;
    let offset = decode_offset_msg_id(&header.msg_id)
        .expect("msg id")
        .commit_log_offset;

    let back = env.ask(send_back(offset, "workers", 1, 2)).await;
    assert_code(&back, response_code::SUCCESS);
    let retried = eventually("the retry", || async {
        pull_one(&env, "%RETRY%workers", 0).await
    })
    .await;
    assert_eq!(retried.reconsume_times, 1);
    assert_eq!(retried.body.as_ref(), b"fails");
    let props = properties(&retried);
    assert_eq!(props.get("RETRY_TOPIC").map(String::as_str), Some("Work"));
    assert_eq!(props.get("KEYS").map(String::as_str), Some("job-7"));
    assert!(props.contains_key("ORIGIN_MESSAGE_ID"));

    // The retry fails twice more: at the limit it goes to the DLQ, at once.
    let mut current = retried;
    for _ in 0..1 {
        let back = env
            .ask(send_back(current.physical_offset, "workers", 1, 2))
            .await;
        assert_code(&back, response_code::SUCCESS);
        let offset = current.queue_offset + 1;
        current = eventually("the next retry", || async {
            let response = env
                .ask(
                    Pull::new("watcher", "%RETRY%workers", 0, offset)
                        .subscribe("*")
                        .request(),
                )
                .await;
            (response.code == response_code::SUCCESS).then(|| one_record(&response))
        })
        .await;
    }
    assert_eq!(current.reconsume_times, 2);
    let back = env
        .ask(send_back(current.physical_offset, "workers", 1, 2))
        .await;
    assert_code(&back, response_code::SUCCESS);
    let dead = eventually("the dead letter", || async {
        pull_one(&env, "%DLQ%workers", 0).await
    })
    .await;
    assert_eq!(dead.reconsume_times, 3);
    assert_eq!(dead.body.as_ref(), b"fails");
    env.route_eventually("%DLQ%workers").await;
}

#[tokio::test]
async fn sending_back_an_offset_that_holds_no_message_is_a_system_error() {
    let env = Env::start().await;
    env.send(&Message::new("Work", "x")).await;
    let back = env.ask(send_back(123_456_789, "workers", 0, 16)).await;
    assert_code(&back, response_code::SYSTEM_ERROR);
}
