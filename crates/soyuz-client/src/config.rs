//! [`ClientConfig`]: what every producer and consumer shares (Java's `ClientConfig`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The instance name that means "pick one per process" (Java's default).
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

/// Settings of a client instance: where the NameServers are, who we are, and how often
/// the background work runs. Defaults are Java's.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// NameServer addresses, `host:port;host:port` (`namesrvAddr`).
    pub namesrv_addr: String,
    /// The IP this client reports in its id (`clientIP`); defaults to the host's
    /// outbound address, else 127.0.0.1.
    pub client_ip: String,
    /// Instance name (`instanceName`). [`DEFAULT_INSTANCE_NAME`] becomes `pid#nanos` at
    /// start, as in Java 5.x, so every producer and consumer gets its own instance; set
    /// it to share one instance (and one client id) between several.
    pub instance_name: String,
    /// Optional unit name appended to the client id (`unitName`).
    pub unit_name: Option<String>,
    /// Timeout of ordinary requests (`mqClientApiTimeout`, 3 s).
    pub request_timeout: Duration,
    /// How often routes are refreshed from the NameServer (`pollNameServerInterval`, 30 s).
    pub poll_name_server_interval: Duration,
    /// How often heartbeats go to every broker (`heartbeatBrokerInterval`, 30 s).
    pub heartbeat_broker_interval: Duration,
    /// How often consumers write their offsets (`persistConsumerOffsetInterval`, 5 s).
    pub persist_consumer_offset_interval: Duration,
    /// How often consumers rebalance when nothing asks them to (`rebalance.waitInterval`,
    /// 20 s).
    pub rebalance_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            namesrv_addr: std::env::var("NAMESRV_ADDR").unwrap_or_default(),
            client_ip: local_ip().to_string(),
            instance_name: DEFAULT_INSTANCE_NAME.to_owned(),
            unit_name: None,
            request_timeout: Duration::from_secs(3),
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            persist_consumer_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
        }
    }
}

impl ClientConfig {
    /// Default settings with these NameServers.
    pub fn new(namesrv_addr: impl Into<String>) -> Self {
        Self {
            namesrv_addr: namesrv_addr.into(),
            ..Self::default()
        }
    }

    /// The NameServer addresses, split on `;`, trimmed, empty entries dropped.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The client id: `ip@instanceName` plus `@unitName` when set
    /// (`ClientConfig.buildMQClientId`). Call after [`resolve_instance_name`](Self::resolve_instance_name).
    pub fn client_id(&self) -> String {
        let mut id = format!("{}@{}", self.client_ip, self.instance_name);
        if let Some(unit) = self.unit_name.as_deref().filter(|u| !u.is_empty()) {
            id.push('@');
            id.push_str(unit);
        }
        id
    }

    /// Replaces the default instance name with `pid#nanos` (`changeInstanceNameToPID`).
    pub fn resolve_instance_name(&mut self) {
        if self.instance_name == DEFAULT_INSTANCE_NAME {
            self.instance_name = format!("{}#{}", std::process::id(), unique_nanos());
        }
    }
}

/// A number that differs between calls in one process (Java: `System.nanoTime()`).
fn unique_nanos() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static BUMP: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    now + u128::from(BUMP.fetch_add(1, Ordering::Relaxed))
}

/// The address the OS would use to reach the outside world (connecting a UDP socket
/// sends nothing), else 127.0.0.1.
pub(crate) fn local_ip() -> IpAddr {
    let probe = || -> Option<IpAddr> {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        socket.connect("8.8.8.8:53").ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_unspecified()).then_some(ip)
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_list_is_split_on_semicolons() {
        let config = ClientConfig::new(" 10.0.0.1:9876; ;10.0.0.2:9876;");
        assert_eq!(config.namesrv_addrs(), ["10.0.0.1:9876", "10.0.0.2:9876"]);
    }

    #[test]
    fn client_id_is_ip_at_instance_and_default_instance_becomes_unique() {
        let mut config = ClientConfig {
            client_ip: "10.1.2.3".into(),
            ..ClientConfig::default()
        };
        config.instance_name = "orders".into();
        assert_eq!(config.client_id(), "10.1.2.3@orders");
        config.unit_name = Some("unitA".into());
        assert_eq!(config.client_id(), "10.1.2.3@orders@unitA");

        let mut a = ClientConfig::default();
        let mut b = ClientConfig::default();
        a.resolve_instance_name();
        b.resolve_instance_name();
        assert!(a
            .instance_name
            .starts_with(&format!("{}#", std::process::id())));
        assert_ne!(a.instance_name, b.instance_name);
        let named = a.instance_name.clone();
        a.resolve_instance_name();
        assert_eq!(a.instance_name, named, "an explicit name is kept");
    }
}
