//! The broker: RocketMQ's request processors over the store.
//!
//! * [`Broker::open`] opens the store and the broker's config files
//!   (`config/topics.json`, `subscriptionGroup.json`, `consumerOffset.json`);
//! * [`Broker::run`] serves a listener, registers with the NameServers every 30 s and on
//!   every topic change, expires silent clients, persists offsets, and at shutdown
//!   unregisters and closes the store.
//!
//! The processors live in [`processor`]. Sends go to the store through one put thread
//! ([`appender`]) that merges concurrent requests; reads run on blocking threads
//! ([`state::BrokerState::blocking`]). The async runtime never waits on disk.

pub mod appender;
pub mod clients;
pub mod config;
pub mod consumer_offset_manager;
pub mod long_polling;
pub mod persist;
pub mod processor;
pub mod rebalance_lock;
mod registration;
mod repeated_error;
mod runtime;
pub mod schedule;
pub mod state;
pub mod subscription_group_manager;
pub mod timer;
pub mod topic_config_manager;
pub mod transaction;

pub use config::BrokerConfig;
pub use runtime::Broker;
