//! QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15), GET_MAX_OFFSET (30),
//! GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32) and SEARCH_OFFSET_BY_TIMESTAMP
//! (29).

mod common;

use std::sync::Arc;

use common::*;
use soyuz_model::ManualClock;
use soyuz_remoting::response_code;

#[tokio::test]
async fn new_group_on_an_empty_queue_is_query_not_found() {
    let env = Env::start().await;
    env.send_all(&[Message::new("OffsetTopic", "x")]).await;
    let response = env.ask(query_offset("fresh", "OffsetTopic", 1)).await;
    assert_code(&response, response_code::QUERY_NOT_FOUND);
    let response = env.ask(query_offset("fresh", "NoSuchTopic", 0)).await;
    assert_code(&response, response_code::QUERY_NOT_FOUND);
}

#[tokio::test]
async fn new_group_on_a_queue_holding_messages_from_zero_is_told_zero() {
    let env = Env::start().await;
    env.send_all(&[
        Message::new("OffsetTopic", "x"),
        Message::new("OffsetTopic", "y"),
    ])
    .await;
    let offset = offset_of(&env.ask(query_offset("fresh", "OffsetTopic", 0)).await);
    assert_eq!(offset, 0);
    // Unless the client asks not to be given zero.
    let mut request = query_offset("fresh", "OffsetTopic", 0);
    request.ext_fields.insert("setZeroIfNotFound", "false");
    assert_code(&env.ask(request).await, response_code::QUERY_NOT_FOUND);
}

#[tokio::test]
async fn updated_offset_is_what_query_returns() {
    let env = Env::start().await;
    env.send_all(&[Message::new("OffsetTopic", "x").queue(3)])
        .await;
    env.know_group("committer", "OffsetTopic").await;
    for committed in [1, 7, 3] {
        let response = env
            .ask(update_offset("committer", "OffsetTopic", 3, committed))
            .await;
        assert_code(&response, response_code::SUCCESS);
        let offset = offset_of(&env.ask(query_offset("committer", "OffsetTopic", 3)).await);
        assert_eq!(offset, committed);
    }
    // Other queues and groups are untouched.
    let other = env.ask(query_offset("committer", "OffsetTopic", 2)).await;
    assert_code(&other, response_code::QUERY_NOT_FOUND);
    // Another group has committed nothing: it is told to start at 0 (Java's rule for
    // a queue that still holds its first message).
    let other = env
        .ask(query_offset("someone-else", "OffsetTopic", 3))
        .await;
    assert_eq!(offset_of(&other), 0);
}

#[tokio::test]
async fn oneway_update_is_stored() {
    let env = Env::start().await;
    env.send_all(&[Message::new("OffsetTopic", "x")]).await;
    env.know_group("oneway", "OffsetTopic").await;
    let mut request = update_offset("oneway", "OffsetTopic", 0, 1);
    request.mark_oneway();
    env.client
        .invoke_oneway(&env.broker.addr, request)
        .await
        .expect("sent");
    eventually("the oneway commit", || async {
        let response = env.ask(query_offset("oneway", "OffsetTopic", 0)).await;
        (offset_of(&response) == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn update_offset_of_an_unknown_topic_is_topic_not_exist() {
    let env = Env::start().await;
    env.send_all(&[Message::new("OffsetTopic", "x")]).await;
    env.know_group("committer", "OffsetTopic").await;
    let response = env
        .ask(update_offset("committer", "NoSuchTopic", 0, 5))
        .await;
    assert_code(&response, response_code::TOPIC_NOT_EXIST);
}

#[tokio::test]
async fn update_offset_of_an_unknown_group_is_subscription_group_not_exist() {
    let env = Env::start().await;
    env.send_all(&[Message::new("OffsetTopic", "x")]).await;
    let response = env
        .ask(update_offset("never-seen-group", "OffsetTopic", 0, 1))
        .await;
    assert_code(&response, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
}

#[tokio::test]
async fn offset_requests_missing_a_required_field_are_system_error() {
    let env = Env::start().await;
    let cases = [
        (query_offset("g", "T", 0), "queueId"),
        (update_offset("g", "T", 0, 1), "commitOffset"),
        (max_offset("T", 0), "topic"),
        (min_offset("T", 0), "queueId"),
        (earliest_store_time("T", 0), "topic"),
        (search_offset("T", 0, 1, "lower"), "timestamp"),
    ];
    for (request, field) in cases {
        let response = env.ask(without_field(request, field)).await;
        assert_code(&response, response_code::SYSTEM_ERROR);
    }
}

#[tokio::test]
async fn offsets_survive_a_broker_restart() {
    let mut env = Env::start().await;
    env.send_all(&[
        Message::new("Durable", "x"),
        Message::new("Durable", "y").queue(1),
    ])
    .await;
    env.know_group("keeper", "Durable").await;
    assert_code(
        &env.ask(update_offset("keeper", "Durable", 0, 1)).await,
        response_code::SUCCESS,
    );
    let pulled = env
        .ask(
            Pull::new("keeper", "Durable", 1, 0)
                .subscribe("*")
                .commit(1)
                .request(),
        )
        .await;
    assert_code(&pulled, response_code::SUCCESS);
    env.restart_with(|_| {}).await;
    assert_eq!(
        offset_of(&env.ask(query_offset("keeper", "Durable", 0)).await),
        1
    );
    assert_eq!(
        offset_of(&env.ask(query_offset("keeper", "Durable", 1)).await),
        1
    );
    // The messages are still there too.
    assert_eq!(offset_of(&env.ask(max_offset("Durable", 0)).await), 1);
}

#[tokio::test]
async fn max_and_min_offsets_bound_each_queue() {
    let env = Env::start().await;
    let messages: Vec<Message> = (0..3)
        .map(|i| Message::new("Bounds", &i.to_string()))
        .collect();
    env.send_all(&messages).await;
    assert_eq!(offset_of(&env.ask(max_offset("Bounds", 0)).await), 3);
    assert_eq!(offset_of(&env.ask(min_offset("Bounds", 0)).await), 0);
    // Queues and topics with nothing in them.
    assert_eq!(offset_of(&env.ask(max_offset("Bounds", 1)).await), 0);
    assert_eq!(offset_of(&env.ask(min_offset("Bounds", 1)).await), 0);
    assert_eq!(offset_of(&env.ask(max_offset("Nowhere", 0)).await), 0);
}

const T0: i64 = 1_700_000_000_000;

/// A broker whose store times are T0+10, T0+20 and T0+30 for messages 0, 1 and 2 of
/// queue 0 of `Timed`.
async fn timed_messages() -> Env {
    let clock = ManualClock::new(T0);
    let env = Env::start_with_clock(Arc::new(clock.clone())).await;
    for (i, at) in [10, 20, 30].into_iter().enumerate() {
        clock.set(T0 + at);
        env.send(&Message::new("Timed", &i.to_string())).await;
    }
    env.wait_max_offset("Timed", 0, 3).await;
    env
}

#[tokio::test]
async fn earliest_msg_store_time_is_the_oldest_messages_store_time() {
    let env = timed_messages().await;
    let response = env.ask(earliest_store_time("Timed", 0)).await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(
        response.ext("timestamp"),
        Some((T0 + 10).to_string().as_str())
    );
    let empty = env.ask(earliest_store_time("Timed", 1)).await;
    assert_code(&empty, response_code::SUCCESS);
    assert_eq!(empty.ext("timestamp"), Some("-1"));
}

#[tokio::test]
async fn search_offset_by_timestamp_honours_the_boundary() {
    let env = timed_messages().await;
    let search = |at: i64, boundary: &'static str| {
        let env = &env;
        async move { offset_of(&env.ask(search_offset("Timed", 0, T0 + at, boundary)).await) }
    };
    // Lower: the first message stored at or after the time; the max past the last one.
    for (at, expected) in [(0, 0), (10, 0), (15, 1), (20, 1), (30, 2), (31, 3)] {
        assert_eq!(search(at, "lower").await, expected, "lower at +{at}");
    }
    // Upper: the last message stored at or before the time; the min before the first.
    for (at, expected) in [(0, 0), (10, 0), (15, 0), (20, 1), (29, 1), (31, 2)] {
        assert_eq!(search(at, "upper").await, expected, "upper at +{at}");
    }
    // No boundary given means lower.
    let mut request = search_offset("Timed", 0, T0 + 15, "lower");
    request.ext_fields.remove("boundaryType");
    assert_eq!(offset_of(&env.ask(request).await), 1);
    assert_eq!(
        offset_of(&env.ask(search_offset("Nowhere", 0, T0, "lower")).await),
        0
    );
}
