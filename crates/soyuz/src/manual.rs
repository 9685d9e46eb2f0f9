//! `soyuz produce` and `soyuz consume`: trying a broker by hand with the Rust client SDK.
//! What they print is their output, so they write to stdout.
#![allow(clippy::print_stdout)]

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use soyuz_client::{
    ConsumeFromWhere, ConsumeResult, Message, MessageExt, MessageModel, Producer, ProducerOptions,
    PushConsumer, PushConsumerOptions,
};
use tokio::sync::Notify;

use crate::cli::{ConsumeArgs, ProduceArgs};

/// Sends each body and prints where it landed.
pub async fn produce(args: ProduceArgs) -> anyhow::Result<()> {
    let producer = Producer::start(ProducerOptions::new(&args.namesrv, &args.group))
        .await
        .context("cannot start the producer")?;
    let bodies: Vec<String> = if args.bodies.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("cannot read stdin")?
    } else {
        args.bodies.clone()
    };
    let mut failed = 0;
    for body in bodies {
        let mut message = Message::new(&args.topic, body.into_bytes());
        if let Some(tags) = &args.tags {
            message = message.with_tags(tags);
        }
        if let Some(keys) = &args.keys {
            message = message.with_keys(keys.split(' ').filter(|k| !k.is_empty()));
        }
        for property in &args.properties {
            let (name, value) = property
                .split_once('=')
                .with_context(|| format!("property `{property}` is not name=value"))?;
            message = message.with_property(name, value);
        }
        match producer.send(message).await {
            Ok(result) => println!(
                "{:?} msgId={} offsetMsgId={} queue={}:{} offset={}",
                result.status,
                result.msg_id,
                result.offset_msg_id,
                result.message_queue.broker_name,
                result.message_queue.queue_id,
                result.queue_offset
            ),
            Err(e) => {
                failed += 1;
                println!("FAILED: {e}");
            }
        }
    }
    producer.shutdown().await;
    anyhow::ensure!(failed == 0, "{failed} messages were not sent");
    Ok(())
}

fn describe(message: &MessageExt) -> String {
    format!(
        "{} queue={} offset={} msgId={} tags={} keys={} body={}",
        message.topic,
        message.queue_id,
        message.queue_offset,
        message.msg_id(),
        message.tags().unwrap_or(""),
        message.keys().join(" "),
        String::from_utf8_lossy(&message.body)
    )
}

/// Consumes and prints until `count` messages or Ctrl-C.
pub async fn consume(
    args: ConsumeArgs,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut options = PushConsumerOptions::new(&args.namesrv, &args.group);
    if args.from_first {
        options.consume_from_where = ConsumeFromWhere::FirstOffset;
    }
    if args.broadcast {
        options.message_model = MessageModel::Broadcasting;
    }
    let seen = Arc::new(AtomicU64::new(0));
    let enough = Arc::new(Notify::new());
    let (listener_seen, listener_enough, limit) = (seen.clone(), enough.clone(), args.count);
    let consumer = PushConsumer::new(options, move |messages: &[MessageExt]| {
        for message in messages {
            println!("{}", describe(message));
            let total = listener_seen.fetch_add(1, Ordering::Relaxed) + 1;
            if limit > 0 && total >= limit {
                listener_enough.notify_one();
            }
        }
        ConsumeResult::Success
    });
    consumer
        .subscribe(&args.topic, &args.subscription)
        .context("bad subscription")?;
    consumer
        .start()
        .await
        .context("cannot start the consumer")?;
    tokio::select! {
        () = stop => {}
        () = enough.notified() => {}
    }
    consumer.shutdown().await;
    eprintln_count(seen.load(Ordering::Relaxed));
    Ok(())
}

fn eprintln_count(count: u64) {
    tracing::info!(count, "consumer stopped");
}
