//! Bad input through the stock `rocketmq-client-rust` 1.0.0 producer against a real
//! `soyuz standalone`: each bad send ends in an error, promptly, and the broker keeps
//! serving the same producer and a consumer afterwards.

mod common;

use std::time::{Duration, Instant};

// The classic pull consumer is deprecated in favour of the lite pull consumer, but it is
// the one API that pulls an arbitrary queue and returns the broker's answer.
use rocketmq_client_rust::ClientResult;
#[allow(deprecated)]
use rocketmq_client_rust::DefaultMQPullConsumer;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;
use tokio::io::AsyncWriteExt;

use common::clients::{self, PushOptions, Sent};
use common::standalone::Standalone;

const TOPIC: &str = "BadInputTopic";
/// How long a refused send may take: well under the client's 3 s send timeout, so an
/// answer (not a timeout) ended it.
const PROMPT: Duration = Duration::from_secs(2);

/// Runs a send that must fail promptly, and returns the response code of the broker's
/// refusal (None if the client refused it without asking the broker).
async fn refused<T: std::fmt::Debug>(
    what: &str,
    send: impl std::future::Future<Output = ClientResult<T>>,
) -> Option<i32> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(10), send)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 10 s"));
    let took = started.elapsed();
    let error = match outcome {
        Ok(ok) => panic!("{what}: accepted: {ok:?}"),
        Err(e) => e,
    };
    assert!(took < PROMPT, "{what}: took {took:?}: {error:?}");
    let code = error.broker_response_code();
    println!("bad_input {what}: refused in {took:?}, broker code {code:?}");
    code
}

#[test]
fn bad_sends_are_refused_promptly_and_the_broker_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A small maximum message size, so an oversized body is cheap to send.
    let soyuz = Standalone::start_in(dir.path(), "maxMessageSize=65536");
    let namesrv = soyuz.namesrv.clone();
    let broker = soyuz.broker.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "bad_input_producer").await;
        let queues = clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;

        // Invalid topic names. The client checks names with the same rule as the broker
        // (`^[%|a-zA-Z0-9_-]+$`, at most 127 characters) and refuses these itself.
        for topic in ["bad topic", "../../etc", "tópico", &"x".repeat(128)] {
            let message = Message::builder()
                .topic(topic)
                .body_slice(b"never stored")
                .build_unchecked();
            let label = format!("topic {:?}", &topic[..topic.len().min(12)]);
            assert_eq!(refused(&label, producer.send(message)).await, None);
        }

        // Refused by the broker. A queue the topic does not have (the client sends it
        // as asked; the broker checks the id against the topic's queue count).
        let message = Sent::numbered("bad-queue", "TagA", 10).message(TOPIC);
        let queue = MessageQueue::from_parts(TOPIC, "broker-a", queues as i32 + 60);
        let code = refused(
            "queue id out of range",
            producer.send_to_queue(message, queue),
        )
        .await;
        assert!(code.is_some_and(|c| c != 0), "broker code {code:?}");

        // A body over the broker's maxMessageSize (64 KiB) but under the client's own
        // limit (4 MiB). Pseudo-random bytes, so compression cannot shrink it.
        let big = Sent::numbered("bad-big", "TagA", 100 * 1024);
        let code = refused("100 KiB body", producer.send(big.message(TOPIC))).await;
        assert_eq!(code, Some(13), "MESSAGE_ILLEGAL");

        // Pulls the broker must refuse, sent with the client's classic pull API, which
        // takes the queue (topic, broker, id) as given and checks no names: a topic
        // name that is a path, a valid name that does not exist, and a queue id the
        // topic does not have.
        #[allow(deprecated)]
        let puller = DefaultMQPullConsumer::builder(rt.clone())
            .consumer_group("bad_input_puller")
            .name_server_addr(namesrv.as_str())
            // Shutting down waits for pulls the broker holds: one second, not twenty.
            .broker_suspend_max_time(Duration::from_secs(1))
            .consumer_timeout_when_suspend(Duration::from_secs(5))
            .build()
            .expect("pull consumer");
        puller.start().await.expect("pull consumer start");
        // Learn broker-a's address from a real topic's route.
        puller
            .fetch_subscribe_message_queues(TOPIC)
            .await
            .expect("queues of the primed topic");
        for (label, topic, queue_id) in [
            ("pull topic ../../etc", "../../etc", 0),
            ("pull unknown topic", "NoSuchTopic", 0),
            ("pull queue id out of range", TOPIC, queues as i32 + 60),
        ] {
            let queue = MessageQueue::from_parts(topic, "broker-a", queue_id);
            let pull = async {
                let result = puller.pull(&queue, "*", 0, 32).await?;
                Ok(format!("{:?}", result.pull_status()))
            };
            let code = refused(label, pull).await;
            assert!(
                code.is_some_and(|c| c != 0),
                "{label}: broker code {code:?}"
            );
        }
        let _ = puller.shutdown().await;

        // Bytes that are not a RocketMQ frame, on connections of their own: an absurd
        // length prefix, and a well-formed length around a header that is not JSON.
        for junk in [
            b"\x7f\xff\xff\xffjunk".to_vec(),
            [
                &16u32.to_be_bytes()[..],
                &8u32.to_be_bytes()[..],
                b"{not json",
            ]
            .concat(),
        ] {
            let mut stream = tokio::net::TcpStream::connect(&broker)
                .await
                .expect("connect to the broker");
            stream.write_all(&junk).await.expect("write junk");
            let _ = stream.shutdown().await;
        }

        // The broker still serves the same producer and a new consumer.
        let sent: Vec<Sent> = (0..50)
            .map(|i| Sent::numbered(&format!("after-{i:02}"), "TagA", 32))
            .collect();
        for s in &sent {
            let result = producer
                .send(s.message(TOPIC))
                .await
                .expect("send after bad input")
                .expect("send result");
            assert_eq!(result.send_status, SendStatus::SendOk);
        }
        let (mut consumer, inbox) = clients::push_consumer(
            &rt,
            &namesrv,
            "bad_input_reader",
            TOPIC,
            "*",
            PushOptions::clustering("bad-input-reader"),
        )
        .await;
        let done = clients::wait_until(Duration::from_secs(30), || {
            inbox.has_all(sent.iter().map(|s| &s.body))
        })
        .await;
        let delivery = clients::check_delivery(&sent, &inbox.snapshot());
        assert!(done, "after bad input: {delivery:#?}");
        // Nothing that was refused was stored.
        delivery.assert_complete("messages sent after the bad input");

        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
