//! Retry and dead letters: a push consumer (maxReconsumeTimes 2) whose listener answers
//! RECONSUME_LATER for one message gets it 3 times with reconsume counts 0, 1, 2 (sent
//! back with CONSUMER_SEND_MSG_BACK, redelivered through %RETRY%group; every delay level
//! is 1 s in broker.conf to keep the test short), after which the broker moves it to
//! %DLQ%group, where a lite pull consumer finds it with body and keys intact. Another
//! message, consumed successfully, is delivered once.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQPushConsumer,
    MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;

use common::clients::{self, Inbox};
use common::standalone::Standalone;

const TOPIC: &str = "RetryTopic";
const GROUP: &str = "retry_consumer";
const MAX_RECONSUME: i32 = 2;

#[test]
fn a_message_always_reconsumed_later_ends_in_the_dlq_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let levels = vec!["1s"; 18].join(" ");
    let soyuz = Standalone::start_in(dir.path(), &format!("messageDelayLevel={levels}\n"));
    let namesrv = soyuz.namesrv.clone();
    clients::with_clients(|rt| async move {
        let producer = clients::producer(&rt, &namesrv, "retry_producer").await;
        clients::prime_topic(&rt, &namesrv, &producer, TOPIC).await;

        // (body, reconsume times, UNIQ_KEY)
        let deliveries: Arc<Mutex<Vec<(Vec<u8>, i32)>>> = Arc::default();
        let config = ClientConfig::builder()
            .namesrv_addr(namesrv.as_str())
            .instance_name("retry-consumer")
            .build()
            .expect("client config");
        let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
            .client_config(config)
            .consumer_group(GROUP)
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .max_reconsume_times(MAX_RECONSUME)
            .build();
        consumer.subscribe(TOPIC, "Retry").await.expect("subscribe");
        let log = deliveries.clone();
        consumer.register_message_listener_concurrently(
            move |messages: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
                let mut later = false;
                for m in messages {
                    let body = m.body().map(|b| b.to_vec()).unwrap_or_default();
                    later |= body == b"poison";
                    log.lock().expect("log").push((body, m.reconsume_times()));
                }
                Ok(if later {
                    ConsumeConcurrentlyStatus::ReconsumeLater
                } else {
                    ConsumeConcurrentlyStatus::ConsumeSuccess
                })
            },
        );
        consumer.start().await.expect("push consumer start");

        for name in ["poison", "fine"] {
            let message = Message::builder()
                .topic(TOPIC)
                .tags("Retry")
                .key(format!("key-{name}").as_str())
                .raw_property("origin", name)
                .expect("property")
                .body_slice(name.as_bytes())
                .build_unchecked();
            let result = producer
                .send(message)
                .await
                .expect("send")
                .expect("send result");
            assert_eq!(result.send_status, SendStatus::SendOk, "{result:?}");
        }

        let poison_counts = || -> Vec<i32> {
            deliveries
                .lock()
                .expect("log")
                .iter()
                .filter(|(b, _)| b == b"poison")
                .map(|(_, n)| *n)
                .collect()
        };
        let retried = clients::wait_until(Duration::from_secs(60), || {
            poison_counts().len() > MAX_RECONSUME as usize
        })
        .await;
        assert!(
            retried,
            "poison delivered with counts {:?}",
            poison_counts()
        );

        // The dead letter, read back from %DLQ%group.
        let dlq_topic = format!("%DLQ%{GROUP}");
        let dlq = clients::lite_pull_consumer(&rt, &namesrv, "dlq_reader", &dlq_topic, "*").await;
        let inbox = Inbox::default();
        let found = clients::poll_until(&dlq, &inbox, Duration::from_secs(30), |inbox| {
            inbox.has_all([&b"poison".to_vec()])
        })
        .await;
        // A little longer, for anything that should not be there.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let counts = poison_counts();
        println!("retry_dlq: poison delivered with reconsume counts {counts:?}");
        assert_eq!(
            counts,
            (0..=MAX_RECONSUME).collect::<Vec<_>>(),
            "maxReconsumeTimes + 1 deliveries with rising counts"
        );
        let fine = deliveries
            .lock()
            .expect("log")
            .iter()
            .filter(|(b, _)| b == b"fine")
            .count();
        assert_eq!(fine, 1, "the consumed message delivered once");
        assert!(found, "poison not found in {dlq_topic}");
        let got = inbox.snapshot();
        let dead: Vec<_> = got.iter().filter(|g| g.body == b"poison").collect();
        assert_eq!(dead.len(), 1, "one dead letter: {dead:?}");
        let dead = dead[0];
        assert_eq!(dead.keys.as_deref(), Some("key-poison"), "{dead:?}");
        assert_eq!(dead.tags.as_deref(), Some("Retry"), "{dead:?}");
        assert_eq!(dead.props.get("origin").map(String::as_str), Some("poison"));
        assert!(got.iter().all(|g| g.body != b"fine"), "{got:?}");

        dlq.shutdown().await;
        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
    });
    soyuz.stop();
}
