//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): queue locks of orderly consumers, and
//! the DLQ redirect of retries while a group holds locks.

mod common;

use common::*;
use soyuz_remoting::body::{
    decode_json, encode_json, LockBatchRequestBody, LockBatchResponseBody, MessageQueue,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};

fn lock_request(code: i32, group: &str, client: &str, queues: &[i32]) -> RemotingCommand {
    let body = LockBatchRequestBody {
        consumer_group: group.to_owned(),
        client_id: client.to_owned(),
        only_this_broker: true,
        mq_set: queues
            .iter()
            .map(|&id| MessageQueue::new("Ordered", BROKER_NAME, id))
            .collect(),
    };
    RemotingCommand::request(code).with_body(encode_json(&body))
}

async fn lock(env: &Env, client: &str, queues: &[i32]) -> Vec<i32> {
    let response = env
        .ask(lock_request(
            request_code::LOCK_BATCH_MQ,
            "orderly",
            client,
            queues,
        ))
        .await;
    assert_code(&response, response_code::SUCCESS);
    let body: LockBatchResponseBody = decode_json(&response.body).expect("lock answer");
    let mut ids: Vec<i32> = body.lock_ok_mq_set.iter().map(|q| q.queue_id).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_locked_queue_is_refused_to_others_until_unlocked() {
    let env = Env::start().await;
    assert_eq!(lock(&env, "a", &[0, 1]).await, [0, 1]);
    assert_eq!(lock(&env, "b", &[1, 2]).await, [2]);
    assert_eq!(
        lock(&env, "a", &[0, 1]).await,
        [0, 1],
        "renewal by the holder"
    );
    let unlocked = env
        .ask(lock_request(
            request_code::UNLOCK_BATCH_MQ,
            "orderly",
            "a",
            &[1],
        ))
        .await;
    assert_code(&unlocked, response_code::SUCCESS);
    assert_eq!(lock(&env, "b", &[1]).await, [1]);
}

#[tokio::test]
async fn a_bad_lock_body_is_a_system_error_and_the_broker_keeps_serving() {
    let env = Env::start().await;
    let response = env
        .ask(RemotingCommand::request(request_code::LOCK_BATCH_MQ).with_body(&b"{not json"[..]))
        .await;
    assert_code(&response, response_code::SYSTEM_ERROR);
    assert_eq!(lock(&env, "a", &[3]).await, [3]);
}

#[tokio::test]
async fn a_retry_of_a_group_holding_queue_locks_goes_to_the_dlq() {
    let env = Env::start().await;
    assert_eq!(lock(&env, "a", &[0]).await, [0]);
    let mut retry = Message::new("%RETRY%orderly", "out-of-order").queue(-1);
    retry.reconsume_times = Some(1);
    let header = env.send(&retry).await;
    let offset = soyuz_model::msg_id::decode_offset_msg_id(&header.msg_id)
        .expect("msg id")
        .commit_log_offset;
    let record = one_record(&env.ask(view_message(offset)).await);
    assert_eq!(record.topic, "%DLQ%orderly");
}
