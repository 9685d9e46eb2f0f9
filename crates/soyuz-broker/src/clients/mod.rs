//! The clients connected to the broker: producer groups and consumer groups with their
//! channels and subscriptions, refreshed by heartbeats and dropped when a channel closes
//! or stops sending heartbeats (`channelExpiredTimeout`, 120 s).

mod consumers;
mod producers;

pub use consumers::{ConsumerGroupInfo, ConsumerManager, ConsumerRegistration};
pub use producers::ProducerManager;

use soyuz_transport::Channel;

/// One client connection as a group member (`ClientChannelInfo`).
#[derive(Clone)]
pub struct ClientChannel {
    /// The connection.
    pub channel: Channel,
    /// The client's id (`ip@instanceName`).
    pub client_id: String,
    /// The client's language, as its requests name it.
    pub language: soyuz_remoting::LanguageCode,
    /// The client's protocol version.
    pub version: i32,
    /// When its last heartbeat arrived (epoch ms).
    pub last_update: i64,
}
