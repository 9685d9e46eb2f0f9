//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): found messages and the offsets around
//! them, the not-found and offset-moved answers, refusals, long polling, tag filtering
//! and the piggy-backed offset commit.

mod common;

use std::time::{Duration, Instant};

use common::*;
use soyuz_model::java_string_hash;
use soyuz_remoting::body::SubscriptionData;
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_transport::RemotingClient;
use tokio::task::JoinHandle;

/// Three messages in queue 0 of `topic`, readable.
async fn three_messages(env: &Env, topic: &str) {
    let messages: Vec<Message> = ["m0", "m1", "m2"]
        .iter()
        .map(|body| Message::new(topic, body))
        .collect();
    env.send_all(&messages).await;
}

#[tokio::test]
async fn pull_returns_messages_with_next_begin_min_and_max_offsets() {
    let env = Env::start().await;
    three_messages(&env, "PullTopic").await;
    let first = env
        .ask(
            Pull::new("cg", "PullTopic", 0, 0)
                .subscribe("*")
                .max(2)
                .request(),
        )
        .await;
    assert_code(&first, response_code::SUCCESS);
    let header = pull_header(&first);
    assert_eq!(
        (
            header.next_begin_offset,
            header.min_offset,
            header.max_offset
        ),
        (2, 0, 3)
    );
    assert_eq!(header.suggest_which_broker_id, 0);
    let got = records(&first.body);
    assert_eq!(bodies(&first), ["m0", "m1"]);
    assert_eq!(
        got.iter().map(|r| r.queue_offset).collect::<Vec<_>>(),
        [0, 1]
    );
    assert!(got
        .iter()
        .all(|r| r.topic == "PullTopic" && r.queue_id == 0));

    let rest = env
        .ask(Pull::new("cg", "PullTopic", 0, 2).subscribe("*").request())
        .await;
    assert_code(&rest, response_code::SUCCESS);
    assert_eq!(bodies(&rest), ["m2"]);
    assert_eq!(pull_header(&rest).next_begin_offset, 3);

    let end = env
        .ask(Pull::new("cg", "PullTopic", 0, 3).subscribe("*").request())
        .await;
    assert_code(&end, response_code::PULL_NOT_FOUND);
    let header = pull_header(&end);
    assert_eq!(
        (
            header.next_begin_offset,
            header.min_offset,
            header.max_offset
        ),
        (3, 0, 3)
    );
    assert!(end.body.is_empty());
}

#[tokio::test]
async fn lite_pull_reads_like_a_pull() {
    let env = Env::start().await;
    three_messages(&env, "LiteTopic").await;
    let response = env
        .ask(Pull::new("lite", "LiteTopic", 0, 1).subscribe("*").lite())
        .await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["m1", "m2"]);
    assert_eq!(pull_header(&response).next_begin_offset, 3);
    let end = env
        .ask(Pull::new("lite", "LiteTopic", 0, 3).subscribe("*").lite())
        .await;
    assert_code(&end, response_code::PULL_NOT_FOUND);
}

#[tokio::test]
async fn offset_past_the_end_is_offset_moved() {
    let env = Env::start().await;
    three_messages(&env, "MovedTopic").await;
    let response = env
        .ask(
            Pull::new("cg", "MovedTopic", 0, 10)
                .subscribe("*")
                .request(),
        )
        .await;
    assert_code(&response, response_code::PULL_OFFSET_MOVED);
    let header = pull_header(&response);
    assert_eq!((header.min_offset, header.max_offset), (0, 3));
    // A queue that never lost messages sends the client back to its start (Java).
    assert_eq!(header.next_begin_offset, 0);

    // An empty queue: offset 0 is simply not found, any other offset moved.
    let empty = env
        .ask(Pull::new("cg", "MovedTopic", 1, 0).subscribe("*").request())
        .await;
    assert_code(&empty, response_code::PULL_NOT_FOUND);
    let moved = env
        .ask(Pull::new("cg", "MovedTopic", 1, 5).subscribe("*").request())
        .await;
    assert_code(&moved, response_code::PULL_OFFSET_MOVED);
    assert_eq!(pull_header(&moved).next_begin_offset, 0);
}

#[tokio::test]
async fn queue_id_that_does_not_exist_is_system_error() {
    let env = Env::start().await;
    env.send(&Message::new("FourQueuesPull", "x")).await;
    for queue_id in [4, -1] {
        let response = env
            .ask(
                Pull::new("cg", "FourQueuesPull", queue_id, 0)
                    .subscribe("*")
                    .request(),
            )
            .await;
        assert_code(&response, response_code::SYSTEM_ERROR);
    }
}

#[tokio::test]
async fn unknown_topic_is_topic_not_exist() {
    let env = Env::start().await;
    let response = env
        .ask(
            Pull::new("cg", "NoSuchTopic", 0, 0)
                .subscribe("*")
                .request(),
        )
        .await;
    assert_code(&response, response_code::TOPIC_NOT_EXIST);
}

#[tokio::test]
async fn pull_without_heartbeat_or_subscription_flag_is_subscription_not_exist() {
    let env = Env::start().await;
    three_messages(&env, "NoSubTopic").await;
    let response = env
        .ask(Pull::new("stranger", "NoSubTopic", 0, 0).request())
        .await;
    assert_code(&response, response_code::SUBSCRIPTION_NOT_EXIST);
    // A member of the group that did not subscribe to the topic is refused too.
    let heartbeat = env
        .ask(consumer_heartbeat(
            "127.0.0.1@other",
            "stranger",
            vec![subscription("OtherTopic", "*")],
        ))
        .await;
    assert_code(&heartbeat, response_code::SUCCESS);
    let response = env
        .ask(Pull::new("stranger", "NoSubTopic", 0, 0).request())
        .await;
    assert_code(&response, response_code::SUBSCRIPTION_NOT_EXIST);
}

#[tokio::test]
async fn pull_newer_than_the_heartbeat_subscription_is_subscription_not_latest() {
    let env = Env::start().await;
    three_messages(&env, "Versioned").await;
    let mut subscribed = subscription("Versioned", "*");
    subscribed.sub_version = 100;
    let heartbeat = env
        .ask(consumer_heartbeat(
            "127.0.0.1@v",
            "versioned",
            vec![subscribed],
        ))
        .await;
    assert_code(&heartbeat, response_code::SUCCESS);
    let mut newer = Pull::new("versioned", "Versioned", 0, 0);
    newer.header.sub_version = 200;
    assert_code(
        &env.ask(newer.request()).await,
        response_code::SUBSCRIPTION_NOT_LATEST,
    );
    let mut same = Pull::new("versioned", "Versioned", 0, 0);
    same.header.sub_version = 100;
    assert_code(&env.ask(same.request()).await, response_code::SUCCESS);
}

#[tokio::test]
async fn sql92_pull_without_property_filter_is_system_error() {
    let env = Env::start().await;
    three_messages(&env, "Sql").await;
    let mut pull = Pull::new("sql", "Sql", 0, 0).subscribe("a > 1");
    pull.header.expression_type = Some("SQL92".to_owned());
    assert_code(&env.ask(pull.request()).await, response_code::SYSTEM_ERROR);
}

/// Sends a suspended pull from a client of its own and waits until the broker holds it.
async fn hold(env: &Env, pull: RemotingCommand) -> JoinHandle<RemotingCommand> {
    let client = RemotingClient::with_defaults();
    let addr = env.broker.addr.clone();
    let held = tokio::spawn(async move {
        client
            .invoke(&addr, pull, Duration::from_secs(30))
            .await
            .expect("answered")
    });
    eventually("the pull to be held", || async {
        (env.broker.state().pulls.waiting() == 1).then_some(())
    })
    .await;
    held
}

#[tokio::test]
async fn held_pull_answers_as_soon_as_a_message_arrives() {
    let env = Env::start().await;
    three_messages(&env, "LongPoll").await;
    let pull = Pull::new("cg", "LongPoll", 0, 3)
        .subscribe("*")
        .suspend(5_000)
        .request();
    let started = Instant::now();
    let held = hold(&env, pull).await;
    env.send(&Message::new("LongPoll", "arrived")).await;
    let response = held.await.expect("pull task");
    let elapsed = started.elapsed();
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["arrived"]);
    assert_eq!(pull_header(&response).next_begin_offset, 4);
    assert!(
        elapsed < Duration::from_secs(4),
        "answered after {elapsed:?}, well before the 5 s suspend timeout"
    );
}

#[tokio::test]
async fn held_pull_on_a_queue_that_never_had_messages_wakes_on_the_first() {
    let env = Env::start().await;
    env.send_all(&[Message::new("FreshQueue", "q0")]).await;
    let pull = Pull::new("cg", "FreshQueue", 2, 0)
        .subscribe("*")
        .suspend(5_000)
        .request();
    let started = Instant::now();
    let held = hold(&env, pull).await;
    env.send(&Message::new("FreshQueue", "first").queue(2))
        .await;
    let response = held.await.expect("pull task");
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["first"]);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn held_tag_filtered_pull_waits_through_messages_it_does_not_want() {
    let env = Env::start().await;
    env.send_all(&[Message::new("HeldTags", "a0").tag("TagA")])
        .await;
    let pull = Pull::new("cg", "HeldTags", 0, 1)
        .subscribe("TagA")
        .suspend(5_000)
        .request();
    let started = Instant::now();
    let held = hold(&env, pull).await;
    env.send_all(&[Message::new("HeldTags", "b").tag("TagB")])
        .await;
    env.send(&Message::new("HeldTags", "a").tag("TagA")).await;
    let response = held.await.expect("pull task");
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["a"]);
    assert_eq!(pull_header(&response).next_begin_offset, 3);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn held_pull_answers_pull_not_found_when_its_suspend_time_runs_out() {
    let env = Env::start().await;
    three_messages(&env, "ShortPoll").await;
    let started = Instant::now();
    let response = env
        .ask(
            Pull::new("cg", "ShortPoll", 0, 3)
                .subscribe("*")
                .suspend(300)
                .request(),
        )
        .await;
    assert_code(&response, response_code::PULL_NOT_FOUND);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "held for its suspend time"
    );
    assert_eq!(pull_header(&response).next_begin_offset, 3);
    assert_eq!(env.broker.state().pulls.waiting(), 0);
}

/// The subscription a client that hashes untrimmed tags sends for "TagA || TagB".
fn untrimmed_subscription(topic: &str) -> SubscriptionData {
    SubscriptionData {
        topic: topic.to_owned(),
        sub_string: "TagA || TagB".to_owned(),
        tags_set: vec!["TagA".to_owned(), "TagB".to_owned()],
        code_set: vec![java_string_hash("TagA "), java_string_hash(" TagB")],
        ..SubscriptionData::default()
    }
}

#[tokio::test]
async fn tag_filter_with_untrimmed_client_codes_delivers_only_subscribed_tags() {
    let env = Env::start().await;
    let messages = [
        Message::new("Tagged", "a").tag("TagA"),
        Message::new("Tagged", "c").tag("TagC"),
        Message::new("Tagged", "b").tag("TagB"),
        Message::new("Tagged", "none"),
    ];
    env.send_all(&messages).await;
    let heartbeat = env
        .ask(consumer_heartbeat(
            "127.0.0.1@tags",
            "tag-group",
            vec![untrimmed_subscription("Tagged")],
        ))
        .await;
    assert_code(&heartbeat, response_code::SUCCESS);
    let response = env
        .ask(Pull::new("tag-group", "Tagged", 0, 0).request())
        .await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["a", "b"]);
    assert_eq!(pull_header(&response).next_begin_offset, 4);

    // The same expression in the request (SUBSCRIPTION flag) filters the same way.
    let response = env
        .ask(
            Pull::new("tag-group", "Tagged", 0, 0)
                .subscribe("TagA || TagB")
                .request(),
        )
        .await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["a", "b"]);

    // Nothing matches past the last tagged message: retry immediately from further on.
    let response = env
        .ask(Pull::new("tag-group", "Tagged", 0, 3).request())
        .await;
    assert_code(&response, response_code::PULL_RETRY_IMMEDIATELY);
    assert_eq!(pull_header(&response).next_begin_offset, 4);
}

#[tokio::test]
async fn commit_offset_flag_stores_the_groups_offset() {
    let env = Env::start().await;
    three_messages(&env, "CommitTopic").await;
    let response = env
        .ask(
            Pull::new("committer", "CommitTopic", 0, 2)
                .subscribe("*")
                .commit(2)
                .request(),
        )
        .await;
    assert_code(&response, response_code::SUCCESS);
    let offset = offset_of(&env.ask(query_offset("committer", "CommitTopic", 0)).await);
    assert_eq!(offset, 2);
    // Without the flag the commitOffset field is ignored.
    let mut plain = Pull::new("committer", "CommitTopic", 0, 0).subscribe("*");
    plain.header.commit_offset = 1;
    assert_code(&env.ask(plain.request()).await, response_code::SUCCESS);
    let offset = offset_of(&env.ask(query_offset("committer", "CommitTopic", 0)).await);
    assert_eq!(offset, 2);
}
