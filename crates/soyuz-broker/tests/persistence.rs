//! The broker's config files under the store root (`config/topics.json`,
//! `subscriptionGroup.json`, `consumerOffset.json`) in Java's format, read back at the
//! next start; and the store released when the broker stops.

mod common;

use common::*;
use serde_json::Value;
use soyuz_remoting::response_code;

fn read_json(env: &Env, name: &str) -> Value {
    let path = env.dir.path().join("config").join(name);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn topics_groups_and_offsets_are_written_under_the_store_root_and_reloaded() {
    let mut env = Env::start().await;
    env.send_all(&[Message::new("Kept", "x").queue(3)]).await;
    let heartbeat = env
        .ask(consumer_heartbeat(
            "127.0.0.1@keeper",
            "kept-group",
            vec![subscription("Kept", "*")],
        ))
        .await;
    assert_code(&heartbeat, response_code::SUCCESS);
    assert_code(
        &env.ask(update_offset("kept-group", "Kept", 3, 1)).await,
        response_code::SUCCESS,
    );
    env.broker.stop().await;

    let topics = read_json(&env, "topics.json");
    let kept = &topics["topicConfigTable"]["Kept"];
    assert_eq!(kept["topicName"], "Kept");
    assert_eq!(kept["writeQueueNums"], 4);
    assert!(topics["topicConfigTable"]["%RETRY%kept-group"].is_object());
    assert!(topics["dataVersion"]["counter"].is_number());
    let groups = read_json(&env, "subscriptionGroup.json");
    assert_eq!(
        groups["subscriptionGroupTable"]["kept-group"]["groupName"],
        "kept-group"
    );
    let offsets = read_json(&env, "consumerOffset.json");
    assert_eq!(offsets["offsetTable"]["Kept@kept-group"]["3"], 1);

    // Reopened without auto-creation, the broker still knows the topic and the group.
    env.restart_with(|config| {
        config.auto_create_topic_enable = false;
        config.auto_create_subscription_group = false;
    })
    .await;
    let sent = env.send(&Message::new("Kept", "after").queue(3)).await;
    assert_eq!(sent.queue_offset, 1);
    let new_topic = env.ask(Message::new("NotKept", "x").send_v2()).await;
    assert_code(&new_topic, response_code::TOPIC_NOT_EXIST);
    let pulled = env
        .ask(
            Pull::new("kept-group", "Kept", 3, 0)
                .subscribe("*")
                .request(),
        )
        .await;
    assert_code(&pulled, response_code::SUCCESS);
    let unknown_group = env
        .ask(Pull::new("not-kept", "Kept", 3, 0).subscribe("*").request())
        .await;
    assert_code(&unknown_group, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert_eq!(
        offset_of(&env.ask(query_offset("kept-group", "Kept", 3)).await),
        1
    );
    env.route_eventually("Kept").await;
}

#[tokio::test]
async fn the_store_is_released_as_soon_as_run_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let namesrv = TestNamesrv::start().await;
    let config = broker_config(&namesrv.addr, dir.path());
    let client = soyuz_transport::RemotingClient::with_defaults();
    for round in 0..40 {
        let mut broker = TestBroker::start(config.clone()).await;
        let message = Message::new("Released", &round.to_string()).queue(round % 4);
        let response = ask(&client, &broker.addr, message.send_v2()).await;
        assert_code(&response, response_code::SUCCESS);
        broker.stop().await;
    }
}
