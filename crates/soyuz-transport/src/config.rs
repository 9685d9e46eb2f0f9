//! Transport settings, with the Java defaults where Java has one.

use std::time::Duration;

use soyuz_remoting::MAX_FRAME_LEN;

/// Settings every connection has, on either side.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Largest frame accepted (`com.rocketmq.remoting.frameMaxLength`).
    pub max_frame_len: usize,
    /// A connection with no traffic and nothing in flight for this long is closed
    /// (`serverChannelMaxIdleTimeSeconds` / `clientChannelMaxIdleTimeSeconds`, 120 s).
    pub idle_timeout: Duration,
    /// Requests from one peer being processed at once; more get SYSTEM_BUSY.
    pub max_in_flight_per_connection: usize,
    /// Frames queued for writing before senders wait.
    pub write_queue_len: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            max_frame_len: MAX_FRAME_LEN,
            idle_timeout: Duration::from_secs(120),
            max_in_flight_per_connection: 4096,
            write_queue_len: 4096,
        }
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Per-connection settings.
    pub connection: ConnectionConfig,
    /// Open connections allowed; further ones are closed on accept.
    pub max_connections: usize,
    /// Requests being processed across all connections; more get SYSTEM_BUSY.
    pub max_in_flight_requests: usize,
    /// How long shutdown waits for in-flight requests before closing anyway.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            connection: ConnectionConfig::default(),
            max_connections: 10_000,
            max_in_flight_requests: 65_536,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Per-connection settings.
    pub connection: ConnectionConfig,
    /// How long a connect may take (`connectTimeoutMillis`, 3 s).
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connection: ConnectionConfig::default(),
            connect_timeout: Duration::from_secs(3),
        }
    }
}
