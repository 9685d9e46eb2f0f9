//! VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12): a message by the CommitLog offset in
//! its offset message id, and messages by key or unique key through the index.

mod common;

use common::*;
use soyuz_model::msg_id::decode_offset_msg_id;
use soyuz_model::properties::keys;
use soyuz_remoting::{response_code, RemotingCommand};

/// The CommitLog offset inside a send answer's msg id.
fn commit_log_offset(header: &soyuz_remoting::headers::producer::SendMessageResponseHeader) -> i64 {
    decode_offset_msg_id(&header.msg_id)
        .expect("offset msg id")
        .commit_log_offset
}

/// Asks until the index has caught up and the query finds something.
async fn query_found(env: &Env, request: RemotingCommand) -> RemotingCommand {
    eventually("the index to answer", || {
        let request = request.clone();
        async move {
            let response = env.ask(request).await;
            (response.code == response_code::SUCCESS).then_some(response)
        }
    })
    .await
}

#[tokio::test]
async fn view_message_by_id_returns_the_stored_record() {
    let env = Env::start().await;
    env.send(&Message::new("Viewed", "first")).await;
    let sent = env
        .send(&Message::new("Viewed", "second").queue(1).tag("TagV"))
        .await;
    let record = one_record(&env.ask(view_message(commit_log_offset(&sent))).await);
    assert_eq!(record.topic, "Viewed");
    assert_eq!((record.queue_id, record.queue_offset), (1, 0));
    assert_eq!(record.physical_offset, commit_log_offset(&sent));
    assert_eq!(&record.body[..], b"second");
    assert_eq!(record.store_host.to_string(), env.broker.addr);
    assert_eq!(record.born_timestamp, 1_700_000_000_000);
    let props = properties(&record);
    assert_eq!(props.get(keys::TAGS).map(String::as_str), Some("TagV"));
    assert_eq!(
        props.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
        sent.transaction_id.as_ref()
    );
}

#[tokio::test]
async fn view_message_with_a_bad_offset_is_system_error() {
    let env = Env::start().await;
    let sent = env.send(&Message::new("Viewed", "only")).await;
    let offset = commit_log_offset(&sent);
    for bad in [-1, offset + 1, 1 << 40, i64::MAX] {
        let response = env.ask(view_message(bad)).await;
        assert_code(&response, response_code::SYSTEM_ERROR);
        assert!(response.body.is_empty(), "no body at {bad}");
    }
    let missing = without_field(view_message(offset), "offset");
    assert_code(&env.ask(missing).await, response_code::SYSTEM_ERROR);
    // The good offset still reads.
    one_record(&env.ask(view_message(offset)).await);
}

#[tokio::test]
async fn query_message_by_key_finds_every_message_with_that_key() {
    let env = Env::start().await;
    let first = env
        .send(&Message::new("Keyed", "one").property(keys::KEYS, "order-1 shared"))
        .await;
    let second = env
        .send(&Message::new("Keyed", "two").property(keys::KEYS, "order-2 shared"))
        .await;
    let response = query_found(&env, query_message("Keyed", "order-2", false)).await;
    assert_eq!(bodies(&response), ["two"]);
    assert!(response.ext("indexLastUpdateTimestamp").is_some());
    assert!(response.ext("indexLastUpdatePhyoffset").is_some());
    let shared = query_found(&env, query_message("Keyed", "shared", false)).await;
    let mut offsets: Vec<i64> = records(&shared.body)
        .iter()
        .map(|r| r.physical_offset)
        .collect();
    offsets.sort_unstable();
    assert_eq!(
        offsets,
        [commit_log_offset(&first), commit_log_offset(&second)]
    );
}

#[tokio::test]
async fn query_message_by_unique_key_finds_the_message() {
    let env = Env::start().await;
    let sent = env.send(&Message::new("Unique", "the-one")).await;
    env.send(&Message::new("Unique", "another")).await;
    let uniq = sent.transaction_id.clone().expect("a uniq key");
    let response = query_found(&env, query_message("Unique", &uniq, true)).await;
    let found = records(&response.body);
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].body[..], b"the-one");
    assert_eq!(found[0].physical_offset, commit_log_offset(&sent));
}

#[tokio::test]
async fn query_message_without_a_match_is_query_not_found() {
    let env = Env::start().await;
    env.send(&Message::new("Keyed", "one").property(keys::KEYS, "present"))
        .await;
    query_found(&env, query_message("Keyed", "present", false)).await;
    let cases = [
        query_message("Keyed", "absent", false),
        query_message("OtherTopic", "present", false),
        query_message("Keyed", "0123456789ABCDEF0123456789ABCDEF", true),
    ];
    for request in cases {
        assert_code(&env.ask(request).await, response_code::QUERY_NOT_FOUND);
    }
    // Outside the time window.
    let mut future = query_message("Keyed", "present", false);
    future
        .ext_fields
        .insert("beginTimestamp", &(i64::MAX - 1).to_string());
    assert_code(&env.ask(future).await, response_code::QUERY_NOT_FOUND);
    let missing = without_field(query_message("Keyed", "present", false), "key");
    assert_code(&env.ask(missing).await, response_code::SYSTEM_ERROR);
}
