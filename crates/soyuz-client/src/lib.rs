//! The Rust client SDK for RocketMQ's remoting protocol: what a RocketMQ user expects of
//! `DefaultMQProducer`, `DefaultMQPushConsumer` and `DefaultLitePullConsumer`, in async
//! Rust. It talks to Soyuz or to Apache RocketMQ brokers alike.
//!
//! * [`Producer`]: sync, callback, oneway, batch, to-a-queue and ordered
//!   ([`MessageQueueSelector`]) sends, with retries on another broker.
//! * [`PushConsumer`]: clustering or broadcasting groups, tag subscriptions, rebalancing
//!   ([`AllocateAveragely`]), long-polling pull loops, a concurrent [`MessageListener`],
//!   offsets committed to the brokers (or a local file for broadcasting), retries; or,
//!   with [`PushConsumer::new_orderly`] and an [`OrderlyListener`], each queue locked on
//!   its broker and consumed strictly in order.
//! * [`TransactionProducer`]: half messages, a local transaction, END_TRANSACTION, and a
//!   [`TransactionChecker`] answering the broker's CHECK_TRANSACTION_STATE.
//! * [`PullConsumer`]: pull the queues and offsets you choose.
//!
//! Producers and consumers with the same client id share one [`ClientInstance`]: the
//! connections, the route cache refreshed from the NameServers every 30 s, heartbeats to
//! every broker every 30 s, and the handler of the requests brokers send clients
//! (NOTIFY_CONSUMER_IDS_CHANGED triggers an immediate rebalance; RESET_CONSUMER_CLIENT_OFFSET
//! moves a group's offsets).
//!
//! Everything must run inside a tokio runtime.

mod api;
pub mod config;
pub mod consumer;
pub mod error;
pub mod instance;
pub mod message;
pub mod producer;
pub mod route;
mod util;

pub use config::ClientConfig;
pub use consumer::{
    AllocateAveragely, AllocateStrategy, ConsumeContext, ConsumeFromWhere, ConsumeResult,
    MessageListener, MessageModel, OrderlyContext, OrderlyListener, OrderlyResult, PullConsumer,
    PullConsumerOptions, PullResult, PullStatus, PushConsumer, PushConsumerOptions,
};
pub use error::{ClientError, Result};
pub use instance::ClientInstance;
pub use message::{Message, MessageExt, MessageQueue};
pub use producer::{
    LocalTransactionState, MessageQueueSelector, Producer, ProducerOptions,
    SelectMessageQueueByHash, SelectMessageQueueByRandom, SendResult, SendStatus,
    TransactionChecker, TransactionProducer, TransactionSendResult,
};
