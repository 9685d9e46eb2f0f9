//! The pull consumer, and push consumers meeting topics that appear later.

mod common;

use std::collections::BTreeMap;

use common::{eventually, Cluster, Received};
use soyuz_client::{
    ClientError, ConsumeFromWhere, Message, Producer, ProducerOptions, PullConsumer,
    PullConsumerOptions, PullStatus, PushConsumer, PushConsumerOptions,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_reads_queues_filters_and_commits_offsets() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(ProducerOptions {
        client: cluster.client_config(),
        ..ProducerOptions::new(cluster.namesrv.clone(), "PG-pull")
    })
    .await
    .expect("producer starts");
    let mut sent_per_queue: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for i in 0..12 {
        let tag = if i % 3 == 0 { "keep" } else { "skip" };
        let body = format!("p{i}");
        let result = producer
            .send(Message::new("Pulled", body.clone()).with_tags(tag))
            .await
            .expect("send");
        sent_per_queue
            .entry(result.message_queue.queue_id)
            .or_default()
            .push(body);
    }
    cluster.wait_for_route("Pulled").await;

    let consumer = PullConsumer::start(PullConsumerOptions {
        client: cluster.client_config(),
        ..PullConsumerOptions::new(cluster.namesrv.clone(), "CG-pull")
    })
    .await
    .expect("consumer starts");
    let queues = consumer
        .fetch_message_queues("Pulled")
        .await
        .expect("queues");
    assert_eq!(queues.len(), 4);
    assert!(queues.windows(2).all(|w| w[0] < w[1]), "sorted");

    // Sends are answered once in the CommitLog; queues show them once dispatched.
    eventually("every message dispatched to its queue", || async {
        let mut dispatched = 0;
        for queue in &queues {
            dispatched += consumer.max_offset(queue).await.ok()?;
        }
        (dispatched == 12).then_some(())
    })
    .await;
    let mut total = 0;
    for queue in &queues {
        let expected = sent_per_queue
            .get(&queue.queue_id)
            .cloned()
            .unwrap_or_default();
        assert_eq!(consumer.min_offset(queue).await.expect("min"), 0);
        assert_eq!(
            consumer.max_offset(queue).await.expect("max"),
            expected.len() as i64
        );
        // Two messages at a time, to the end.
        let mut offset = 0;
        let mut bodies = Vec::new();
        loop {
            let result = consumer.pull(queue, offset, 2).await.expect("pull");
            match result.status {
                PullStatus::Found => {
                    assert!(result.messages.len() <= 2);
                    assert_eq!(result.messages[0].queue_offset, offset);
                    bodies.extend(
                        result
                            .messages
                            .iter()
                            .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
                    );
                    assert_eq!(result.max_offset, expected.len() as i64);
                    offset = result.next_begin_offset;
                }
                PullStatus::NoNewMsg => {
                    assert_eq!(result.next_begin_offset, expected.len() as i64);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(bodies, expected, "queue {} in order", queue.queue_id);
        total += bodies.len();

        // A tag expression leaves only the tagged messages.
        let filtered = consumer
            .pull_with_expression(queue, "keep", 0, 32)
            .await
            .expect("pull");
        let kept: Vec<String> = filtered
            .messages
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        let want: Vec<String> = expected
            .iter()
            .filter(|b| b[1..].parse::<i32>().is_ok_and(|i| i % 3 == 0))
            .cloned()
            .collect();
        assert_eq!(kept, want);

        // Offsets: none committed yet, which for a queue still starting at 0 the broker
        // answers with 0 (Java's rule, so new groups read young topics from the start);
        // then what we commit.
        assert_eq!(
            consumer.committed_offset(queue).await.expect("query"),
            if expected.is_empty() { None } else { Some(0) }
        );
        consumer.commit_offset(queue, offset).await.expect("commit");
        assert_eq!(
            consumer.committed_offset(queue).await.expect("query"),
            Some(offset)
        );
    }
    assert_eq!(total, 12);

    // Beyond the end: the broker says where to go.
    let moved = consumer.pull(&queues[0], 1_000, 4).await.expect("pull");
    assert_eq!(moved.status, PullStatus::OffsetIllegal);
    assert!(moved.messages.is_empty());

    assert!(matches!(
        consumer.fetch_message_queues("NoSuchTopic").await,
        Err(ClientError::NoRoute(_))
    ));
    consumer.shutdown().await;
    assert!(matches!(
        consumer.pull(&queues[0], 0, 1).await,
        Err(ClientError::NotRunning)
    ));
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_consumer_started_before_its_topic_exists_picks_it_up() {
    let cluster = Cluster::start().await;
    let received = Received::default();
    let consumer = PushConsumer::new(
        PushConsumerOptions {
            client: cluster.client_config(),
            consume_from_where: ConsumeFromWhere::LastOffset,
            ..PushConsumerOptions::new(cluster.namesrv.clone(), "CG-late")
        },
        received.listener(),
    );
    consumer.subscribe("Late", "*").expect("subscribes");
    consumer.start().await.expect("starts without the topic");
    assert!(consumer.assigned_queues().iter().all(|q| q.topic != "Late"));

    let producer = Producer::start(ProducerOptions {
        client: cluster.client_config(),
        ..ProducerOptions::new(cluster.namesrv.clone(), "PG-late")
    })
    .await
    .expect("producer starts");
    // The first message creates the topic; the consumer finds the route on its next
    // refresh and (a young queue starts at 0) reads from the beginning.
    producer
        .send(Message::new("Late", "first"))
        .await
        .expect("send");
    received.wait_for(1).await;
    producer
        .send(Message::new("Late", "second"))
        .await
        .expect("send");
    received.wait_for(2).await;
    assert_eq!(received.bodies(), ["first", "second"]);
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_before_anything_is_sent() {
    let cluster = Cluster::start().await;
    let producer = Producer::start(ProducerOptions {
        client: cluster.client_config(),
        ..ProducerOptions::new(cluster.namesrv.clone(), "PG-bad")
    })
    .await
    .expect("producer starts");
    for message in [
        Message::new("Bad Topic", "x"),
        Message::new("Fine", ""),
        Message::new("TBW102", "x"),
    ] {
        assert!(matches!(
            producer.send(message).await,
            Err(ClientError::InvalidArgument(_))
        ));
    }
    assert!(matches!(
        producer
            .send_batch(vec![Message::new("A", "x"), Message::new("B", "y")])
            .await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        Producer::start(ProducerOptions::new(cluster.namesrv.clone(), "bad group!")).await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        Producer::start(ProducerOptions::new("", "PG")).await,
        Err(ClientError::NoNamesrv)
    ));
    let consumer = PushConsumer::new(
        PushConsumerOptions::new(cluster.namesrv.clone(), "CG-bad"),
        Received::default().listener(),
    );
    assert!(consumer.start().await.is_err(), "no subscription, no start");
    producer.shutdown().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_with_one_instance_name_share_a_client_instance() {
    let cluster = Cluster::start().await;
    let options = |group: &str| {
        let mut options = ProducerOptions {
            client: cluster.client_config(),
            ..ProducerOptions::new(cluster.namesrv.clone(), group)
        };
        options.client.instance_name = "shared".to_owned();
        options
    };
    let a = Producer::start(options("PG-a")).await.expect("starts");
    let b = Producer::start(options("PG-b")).await.expect("starts");
    assert_eq!(a.client_id(), b.client_id());
    assert!(a.client_id().ends_with("@shared"));
    a.send(Message::new("Shared", "a")).await.expect("send");
    a.shutdown().await;
    // The instance lives on for the other producer.
    b.send(Message::new("Shared", "b")).await.expect("send");
    b.shutdown().await;
    // And a new one starts afresh after the last left.
    let c = Producer::start(options("PG-c")).await.expect("starts");
    c.send(Message::new("Shared", "c")).await.expect("send");
    c.shutdown().await;
    cluster.stop().await;
}
