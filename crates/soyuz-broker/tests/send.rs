//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): what a stored
//! message answers, topic auto-creation, and every refusal with Java's code.

mod common;

use common::*;
use soyuz_model::msg_id::decode_offset_msg_id;
use soyuz_model::properties::keys;
use soyuz_remoting::{response_code, RemotingCommand};

/// The offset message id points at this broker and at the record VIEW_MESSAGE_BY_ID
/// returns.
async fn assert_msg_id_points_at(env: &Env, msg_id: &str, body: &str) -> i64 {
    let decoded = decode_offset_msg_id(msg_id).expect("an offset msg id");
    assert_eq!(decoded.store_host.to_string(), env.broker.addr);
    let record = one_record(&env.ask(view_message(decoded.commit_log_offset)).await);
    assert_eq!(String::from_utf8_lossy(&record.body), body);
    assert_eq!(record.physical_offset, decoded.commit_log_offset);
    decoded.commit_log_offset
}

#[tokio::test]
async fn send_v1_answers_msg_id_queue_offset_region_trace_and_the_clients_uniq_key() {
    let env = Env::start().await;
    let message = Message::new("SendV1", "hello")
        .queue(1)
        .tag("TagA")
        .property(
            keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
            "7F0000010001ABCD0000000000000001",
        );
    for expected_offset in 0..2 {
        let response = env.ask(message.send_v1()).await;
        assert_code(&response, response_code::SUCCESS);
        assert_eq!(response.ext("MSG_REGION"), Some("DefaultRegion"));
        assert_eq!(response.ext("TRACE_ON"), Some("true"));
        let header = send_header(&response);
        assert_eq!(header.queue_id, 1);
        assert_eq!(header.queue_offset, expected_offset);
        assert_eq!(
            header.transaction_id.as_deref(),
            Some("7F0000010001ABCD0000000000000001")
        );
        assert_msg_id_points_at(&env, &header.msg_id, "hello").await;
    }
}

#[tokio::test]
async fn send_v2_stores_the_message_with_a_broker_made_uniq_key_and_the_cluster() {
    let env = Env::start().await;
    let response = env
        .ask(
            Message::new("SendV2", "body-v2")
                .queue(2)
                .tag("TagB")
                .property(keys::CLUSTER, "ClientSaid")
                .send_v2(),
        )
        .await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(response.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(response.ext("TRACE_ON"), Some("true"));
    let header = send_header(&response);
    assert_eq!((header.queue_id, header.queue_offset), (2, 0));
    let decoded = decode_offset_msg_id(&header.msg_id).expect("offset msg id");
    let record = one_record(&env.ask(view_message(decoded.commit_log_offset)).await);
    assert_eq!(record.topic, "SendV2");
    assert_eq!((record.queue_id, record.queue_offset), (2, 0));
    let props = properties(&record);
    let uniq = props
        .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .expect("the broker adds a UNIQ_KEY");
    assert_eq!(header.transaction_id.as_ref(), Some(uniq));
    assert_eq!(props.get(keys::TAGS).map(String::as_str), Some("TagB"));
    assert_eq!(
        props.get(keys::CLUSTER).map(String::as_str),
        Some("DefaultCluster"),
        "the broker's cluster name wins over the client's"
    );
}

#[tokio::test]
async fn batch_answers_one_comma_joined_msg_id_per_message_at_consecutive_offsets() {
    let env = Env::start().await;
    env.send(&Message::new("Batch", "before")).await;
    let messages: Vec<Message> = ["b0", "b1", "b2"]
        .iter()
        .map(|body| Message::new("Batch", body).tag("T"))
        .collect();
    let response = env.ask(send_batch(&messages)).await;
    assert_code(&response, response_code::SUCCESS);
    let header = send_header(&response);
    assert_eq!((header.queue_id, header.queue_offset), (0, 1));
    let ids: Vec<&str> = header.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3, "{}", header.msg_id);
    let mut previous = -1;
    for (i, id) in ids.iter().enumerate() {
        let offset = assert_msg_id_points_at(&env, id, &format!("b{i}")).await;
        assert!(offset > previous, "CommitLog offsets grow");
        previous = offset;
        let record = one_record(&env.ask(view_message(offset)).await);
        assert_eq!(record.queue_offset, 1 + i as i64);
        assert!(properties(&record).contains_key(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX));
    }
    env.wait_max_offset("Batch", 0, 4).await;
    let pulled = env
        .ask(Pull::new("cg", "Batch", 0, 1).subscribe("*").request())
        .await;
    assert_code(&pulled, response_code::SUCCESS);
    assert_eq!(bodies(&pulled), ["b0", "b1", "b2"]);
}

#[tokio::test]
async fn batch_body_that_does_not_decode_is_message_illegal() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    let mut request = send_batch(&[Message::new("BadBatch", "x")]);
    request.body = bytes::Bytes::from_static(b"\x00\x00\x00\x30 not a batch at all");
    assert_code(&env.ask(request).await, response_code::MESSAGE_ILLEGAL);
    env.assert_still_serving(connection).await;
}

#[tokio::test]
async fn unknown_topic_is_created_from_tbw102_with_at_most_its_queues_and_gets_a_route() {
    let env = Env::start().await;
    let mut four = Message::new("AutoFour", "a");
    four.default_topic_queue_nums = 4;
    env.send(&four).await;
    let mut sixteen = Message::new("AutoSixteen", "a");
    sixteen.default_topic_queue_nums = 16;
    env.send(&sixteen).await;
    for (topic, queues) in [("AutoFour", 4), ("AutoSixteen", 8)] {
        let route = env.route_eventually(topic).await;
        assert_eq!(route.queue_datas.len(), 1);
        let queue_data = &route.queue_datas[0];
        assert_eq!(queue_data.broker_name, BROKER_NAME);
        assert_eq!(
            (queue_data.read_queue_nums, queue_data.write_queue_nums),
            (queues, queues),
            "{topic}"
        );
        assert_eq!(queue_data.perm, 6, "read and write, without inherit");
        assert_eq!(
            route.broker_datas[0].master_addr(),
            Some(env.broker.addr.as_str())
        );
    }
    let last = env
        .ask(Message::new("AutoFour", "a").queue(3).send_v2())
        .await;
    assert_code(&last, response_code::SUCCESS);
}

#[tokio::test]
async fn unknown_topic_without_auto_create_is_topic_not_exist() {
    let env = Env::start_with(|c| c.auto_create_topic_enable = false).await;
    let connection = env.connection_id().await;
    let response = env.ask(Message::new("NoSuchTopic", "x").send_v2()).await;
    assert_code(&response, response_code::TOPIC_NOT_EXIST);
    let response = env.ask(Message::new("NoSuchTopic", "x").send_v1()).await;
    assert_code(&response, response_code::TOPIC_NOT_EXIST);
    let response = env.ask_namesrv(route("NoSuchTopic")).await;
    assert_code(&response, response_code::TOPIC_NOT_EXIST);
    env.assert_still_serving(connection).await;
}

#[tokio::test]
async fn invalid_topic_name_is_invalid_parameter() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    for topic in ["bad topic", "bad/topic", "", &"t".repeat(128)] {
        let response = env.ask(Message::new(topic, "x").send_v2()).await;
        assert_code(&response, response_code::INVALID_PARAMETER);
        env.assert_still_serving(connection).await;
    }
}

#[tokio::test]
async fn sending_to_a_system_topic_is_no_permission() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    for topic in ["SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_HALF_TOPIC"] {
        let response = env.ask(Message::new(topic, "x").send_v2()).await;
        assert_code(&response, response_code::NO_PERMISSION);
        env.assert_still_serving(connection).await;
    }
}

#[tokio::test]
async fn queue_id_beyond_the_queue_count_is_invalid_parameter() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    env.send(&Message::new("FourQueues", "x")).await;
    for queue_id in [4, 100] {
        let response = env
            .ask(Message::new("FourQueues", "x").queue(queue_id).send_v2())
            .await;
        assert_code(&response, response_code::INVALID_PARAMETER);
        env.assert_still_serving(connection).await;
    }
    // A negative queue id lets the broker pick one.
    let picked = env.send(&Message::new("FourQueues", "x").queue(-1)).await;
    assert!((0..4).contains(&picked.queue_id), "{}", picked.queue_id);
}

#[tokio::test]
async fn body_over_max_message_size_is_message_illegal() {
    let env = Env::start_with(|c| c.store.max_message_size = 4096).await;
    let connection = env.connection_id().await;
    let big = Message::new("Sized", "").body(vec![b'x'; 8192]);
    assert_code(
        &env.ask(big.send_v2()).await,
        response_code::MESSAGE_ILLEGAL,
    );
    env.assert_still_serving(connection).await;
    let batch = send_batch(&[Message::new("Sized", "small"), big]);
    assert_code(&env.ask(batch).await, response_code::MESSAGE_ILLEGAL);
    env.assert_still_serving(connection).await;
    let fits = Message::new("Sized", "").body(vec![b'x'; 1024]);
    assert_code(&env.ask(fits.send_v2()).await, response_code::SUCCESS);
}

#[tokio::test]
async fn properties_over_32767_bytes_are_message_illegal() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    let huge = Message::new("BigProps", "x").property("USER_PROP", &"p".repeat(32_760));
    assert_code(
        &env.ask(huge.send_v2()).await,
        response_code::MESSAGE_ILLEGAL,
    );
    env.assert_still_serving(connection).await;
}

#[tokio::test]
async fn missing_required_header_field_is_system_error() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    let message = Message::new("Headers", "x");
    let cases: Vec<(RemotingCommand, &str)> = vec![
        (message.send_v1(), "producerGroup"),
        (message.send_v1(), "bornTimestamp"),
        (message.send_v2(), "b"),
        (message.send_v2(), "g"),
        (send_batch(std::slice::from_ref(&message)), "e"),
    ];
    for (request, field) in cases {
        let response = env.ask(without_field(request, field)).await;
        assert_code(&response, response_code::SYSTEM_ERROR);
        assert!(
            response
                .remark
                .as_deref()
                .unwrap_or_default()
                .contains(field),
            "the remark names {field}: {:?}",
            response.remark
        );
        env.assert_still_serving(connection).await;
    }
}

#[tokio::test]
async fn retry_send_past_max_reconsume_times_lands_in_the_groups_dlq() {
    let env = Env::start().await;
    let mut retry = Message::new("%RETRY%cg", "give-up").queue(-1);
    retry.reconsume_times = Some(17);
    retry.max_reconsume_times = Some(16);
    let header = env.send(&retry).await;
    assert_eq!(header.queue_id, 0, "a DLQ has one queue");
    let offset = decode_offset_msg_id(&header.msg_id)
        .expect("msg id")
        .commit_log_offset;
    let record = one_record(&env.ask(view_message(offset)).await);
    assert_eq!(record.topic, "%DLQ%cg");
    assert_eq!(record.reconsume_times, 17);
    let route = env.route_eventually("%DLQ%cg").await;
    assert_eq!(route.queue_datas[0].write_queue_nums, 1);

    // At the limit the message stays a retry.
    let mut last_try = Message::new("%RETRY%cg", "last-try").queue(-1);
    last_try.reconsume_times = Some(16);
    last_try.max_reconsume_times = Some(16);
    let header = env.send(&last_try).await;
    let offset = decode_offset_msg_id(&header.msg_id)
        .expect("msg id")
        .commit_log_offset;
    let record = one_record(&env.ask(view_message(offset)).await);
    assert_eq!(record.topic, "%RETRY%cg");
}

#[tokio::test]
async fn retry_send_for_an_unknown_group_without_auto_create_is_subscription_group_not_exist() {
    let env = Env::start_with(|c| c.auto_create_subscription_group = false).await;
    let connection = env.connection_id().await;
    let response = env
        .ask(
            Message::new("%RETRY%unknown-group", "x")
                .queue(-1)
                .send_v2(),
        )
        .await;
    assert_code(&response, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    env.assert_still_serving(connection).await;
}
