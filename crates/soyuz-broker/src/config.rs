//! `BrokerConfig`, read from `broker.conf` with RocketMQ's key names. Keys the broker does
//! not know go on to the store's config, as Java applies one file to both.

use std::collections::BTreeMap;
use std::time::Duration;

use soyuz_model::properties_config::{
    set_bool, set_number, set_string, PropertiesConfig, SetOutcome,
};
use soyuz_store::MessageStoreConfig;

/// RocketMQ's 18 delay levels.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Default broker port (`listenPort`).
pub const DEFAULT_LISTEN_PORT: u16 = 10911;

/// Broker settings (`BrokerConfig`, the broker's `NettyServerConfig`, and the store's
/// `MessageStoreConfig` in `store`).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    /// Cluster name (`brokerClusterName`).
    pub broker_cluster_name: String,
    /// Replica-group name (`brokerName`; Java's default is the host name).
    pub broker_name: String,
    /// 0 for a master (`brokerId`).
    pub broker_id: i64,
    /// NameServers, `host:port;host:port` (`namesrvAddr`, else env `NAMESRV_ADDR`).
    pub namesrv_addr: Option<String>,
    /// The address clients are told to reach (`brokerIP1`); empty = decided at start
    /// from the listener.
    pub broker_ip1: String,
    /// Remoting port (`listenPort`).
    pub listen_port: u16,
    /// Create unknown topics from TBW102 on first send (`autoCreateTopicEnable`).
    pub auto_create_topic_enable: bool,
    /// Create unknown consumer groups on first use (`autoCreateSubscriptionGroup`).
    pub auto_create_subscription_group: bool,
    /// Queues TBW102 offers new topics (`defaultTopicQueueNums`).
    pub default_topic_queue_nums: i32,
    /// The broker's own permission bits (`brokerPermission`).
    pub broker_permission: i32,
    /// Hold pulls that find nothing until a message arrives (`longPollingEnable`).
    pub long_polling_enable: bool,
    /// How long a pull is held when long polling is off (`shortPollingTimeMills`).
    pub short_polling_time_mills: u64,
    /// How often registration is refreshed (`registerNameServerPeriod`, ms).
    pub register_name_server_period: u64,
    /// Registration lifetime told to the NameServer (`brokerNotActiveTimeoutMillis`).
    pub broker_not_active_timeout_millis: i64,
    /// Most messages in one pull answer (`maxTransferCountOnMessageInMemory`).
    pub max_transfer_count_on_message_in_memory: usize,
    /// Most bytes in one pull answer (`maxTransferBytesOnMessageInMemory`).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// Region stamped on send responses (`regionId`).
    pub region_id: String,
    /// Whether send responses say tracing is on (`traceOn`).
    pub trace_on: bool,
    /// A client channel with no heartbeat for this long is dropped
    /// (`channelExpiredTimeout`, ms).
    pub channel_expired_timeout: u64,
    /// How often consumer offsets are written to disk (`flushConsumerOffsetInterval`, ms).
    pub flush_consumer_offset_interval: u64,
    /// SQL92 filtering (`enablePropertyFilter`).
    pub enable_property_filter: bool,
    /// A half message younger than this is not checked yet (`transactionTimeOut`, ms).
    pub transaction_time_out: i64,
    /// Checks of one half message before it is discarded (`transactionCheckMax`).
    pub transaction_check_max: i32,
    /// How often half messages are checked (`transactionCheckInterval`, ms).
    pub transaction_check_interval: u64,
    /// Refuse transactional messages (`rejectTransactionMessage`).
    pub reject_transaction_message: bool,
    /// Accept 5.x timer messages (`timerWheelEnable`).
    pub timer_wheel_enable: bool,
    /// How far ahead a timer message may be due (`timerMaxDelaySec`).
    pub timer_max_delay_sec: i64,
    /// Timer granularity (`timerPrecisionMs`).
    pub timer_precision_ms: i64,
    /// Delay of each level (`messageDelayLevel`, units s/m/h/d).
    pub message_delay_level: String,
    /// Register a topic named after the cluster (`clusterTopicEnable`).
    pub cluster_topic_enable: bool,
    /// Register a topic named after the broker (`brokerTopicEnable`).
    pub broker_topic_enable: bool,
    /// The store's settings.
    pub store: MessageStoreConfig,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            broker_cluster_name: "DefaultCluster".to_owned(),
            broker_name: default_broker_name(),
            broker_id: 0,
            namesrv_addr: std::env::var("NAMESRV_ADDR")
                .ok()
                .filter(|a| !a.trim().is_empty()),
            broker_ip1: String::new(),
            listen_port: DEFAULT_LISTEN_PORT,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            broker_permission: 6,
            long_polling_enable: true,
            short_polling_time_mills: 1_000,
            register_name_server_period: 30_000,
            broker_not_active_timeout_millis: 120_000,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            region_id: "DefaultRegion".to_owned(),
            trace_on: true,
            channel_expired_timeout: 120_000,
            flush_consumer_offset_interval: 5_000,
            enable_property_filter: false,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            message_delay_level: DEFAULT_DELAY_LEVELS.to_owned(),
            timer_wheel_enable: true,
            timer_max_delay_sec: 259_200,
            timer_precision_ms: 1_000,
            transaction_time_out: 6_000,
            transaction_check_max: 15,
            transaction_check_interval: 30_000,
            reject_transaction_message: false,
            store: MessageStoreConfig::default(),
        }
    }
}

/// Java names a broker after its host; we read the host name the same way the shell
/// would, and fall back to a fixed name when there is none.
fn default_broker_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && soyuz_model::names::validate_topic(name).is_ok())
        .unwrap_or_else(|| "broker-a".to_owned())
}

impl BrokerConfig {
    /// The NameServer addresses to register with.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The delay of each level in milliseconds, level 1 first.
    pub fn delay_levels(&self) -> Vec<i64> {
        crate::schedule::parse_delay_levels(&self.message_delay_level).unwrap_or_else(|| {
            crate::schedule::parse_delay_levels(DEFAULT_DELAY_LEVELS).unwrap_or_default()
        })
    }

    /// How often registration is refreshed (Java clamps it to 10..60 s).
    pub fn register_period(&self) -> Duration {
        Duration::from_millis(self.register_name_server_period.clamp(10_000, 60_000))
    }
}

impl PropertiesConfig for BrokerConfig {
    fn set_property(&mut self, key: &str, value: &str) -> SetOutcome {
        match key {
            "brokerClusterName" => set_string(&mut self.broker_cluster_name, value),
            "brokerName" => set_string(&mut self.broker_name, value),
            "brokerId" => set_number(&mut self.broker_id, value),
            "namesrvAddr" => {
                let mut addr = String::new();
                let outcome = set_string(&mut addr, value);
                self.namesrv_addr = (!addr.is_empty()).then_some(addr);
                outcome
            }
            "brokerIP1" => set_string(&mut self.broker_ip1, value),
            "listenPort" => set_number(&mut self.listen_port, value),
            "autoCreateTopicEnable" => set_bool(&mut self.auto_create_topic_enable, value),
            "autoCreateSubscriptionGroup" => {
                set_bool(&mut self.auto_create_subscription_group, value)
            }
            "defaultTopicQueueNums" => set_number(&mut self.default_topic_queue_nums, value),
            "brokerPermission" => set_number(&mut self.broker_permission, value),
            "longPollingEnable" => set_bool(&mut self.long_polling_enable, value),
            "shortPollingTimeMills" => set_number(&mut self.short_polling_time_mills, value),
            "registerNameServerPeriod" => set_number(&mut self.register_name_server_period, value),
            "brokerNotActiveTimeoutMillis" => {
                set_number(&mut self.broker_not_active_timeout_millis, value)
            }
            "maxTransferCountOnMessageInMemory" => {
                set_number(&mut self.max_transfer_count_on_message_in_memory, value)
            }
            "maxTransferBytesOnMessageInMemory" => {
                set_number(&mut self.max_transfer_bytes_on_message_in_memory, value)
            }
            "regionId" => set_string(&mut self.region_id, value),
            "traceOn" => set_bool(&mut self.trace_on, value),
            "channelExpiredTimeout" => set_number(&mut self.channel_expired_timeout, value),
            "flushConsumerOffsetInterval" => {
                set_number(&mut self.flush_consumer_offset_interval, value)
            }
            "enablePropertyFilter" => set_bool(&mut self.enable_property_filter, value),
            "clusterTopicEnable" => set_bool(&mut self.cluster_topic_enable, value),
            "brokerTopicEnable" => set_bool(&mut self.broker_topic_enable, value),
            "timerWheelEnable" => set_bool(&mut self.timer_wheel_enable, value),
            "timerMaxDelaySec" => set_number(&mut self.timer_max_delay_sec, value),
            "timerPrecisionMs" => set_number(&mut self.timer_precision_ms, value),
            "transactionTimeOut" => set_number(&mut self.transaction_time_out, value),
            "transactionCheckMax" => set_number(&mut self.transaction_check_max, value),
            "transactionCheckInterval" => set_number(&mut self.transaction_check_interval, value),
            "rejectTransactionMessage" => set_bool(&mut self.reject_transaction_message, value),
            "messageDelayLevel" => {
                if crate::schedule::parse_delay_levels(value).is_none() {
                    return SetOutcome::BadValue {
                        expected: "delay levels such as `1s 5s 10s 1m 1h 1d`",
                    };
                }
                set_string(&mut self.message_delay_level, value)
            }
            _ => self.store.set_property(key, value),
        }
    }

    fn to_properties(&self) -> BTreeMap<String, String> {
        let mut properties = self.store.to_properties();
        let own = [
            ("brokerClusterName", self.broker_cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("namesrvAddr", self.namesrv_addr.clone().unwrap_or_default()),
            ("brokerIP1", self.broker_ip1.clone()),
            ("listenPort", self.listen_port.to_string()),
            (
                "autoCreateTopicEnable",
                self.auto_create_topic_enable.to_string(),
            ),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group.to_string(),
            ),
            (
                "defaultTopicQueueNums",
                self.default_topic_queue_nums.to_string(),
            ),
            ("brokerPermission", self.broker_permission.to_string()),
            ("longPollingEnable", self.long_polling_enable.to_string()),
            (
                "shortPollingTimeMills",
                self.short_polling_time_mills.to_string(),
            ),
            (
                "registerNameServerPeriod",
                self.register_name_server_period.to_string(),
            ),
            (
                "brokerNotActiveTimeoutMillis",
                self.broker_not_active_timeout_millis.to_string(),
            ),
            (
                "maxTransferCountOnMessageInMemory",
                self.max_transfer_count_on_message_in_memory.to_string(),
            ),
            (
                "maxTransferBytesOnMessageInMemory",
                self.max_transfer_bytes_on_message_in_memory.to_string(),
            ),
            ("regionId", self.region_id.clone()),
            ("traceOn", self.trace_on.to_string()),
            (
                "channelExpiredTimeout",
                self.channel_expired_timeout.to_string(),
            ),
            (
                "flushConsumerOffsetInterval",
                self.flush_consumer_offset_interval.to_string(),
            ),
            (
                "enablePropertyFilter",
                self.enable_property_filter.to_string(),
            ),
            ("clusterTopicEnable", self.cluster_topic_enable.to_string()),
            ("brokerTopicEnable", self.broker_topic_enable.to_string()),
            ("messageDelayLevel", self.message_delay_level.clone()),
            ("timerWheelEnable", self.timer_wheel_enable.to_string()),
            ("timerMaxDelaySec", self.timer_max_delay_sec.to_string()),
            ("timerPrecisionMs", self.timer_precision_ms.to_string()),
            ("transactionTimeOut", self.transaction_time_out.to_string()),
            (
                "transactionCheckMax",
                self.transaction_check_max.to_string(),
            ),
            (
                "transactionCheckInterval",
                self.transaction_check_interval.to_string(),
            ),
            (
                "rejectTransactionMessage",
                self.reject_transaction_message.to_string(),
            ),
        ];
        properties.extend(own.into_iter().map(|(k, v)| (k.to_owned(), v)));
        properties
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_model::properties_config::apply_properties;
    use soyuz_store::FlushDiskType;

    #[test]
    fn one_file_sets_broker_and_store_keys() {
        let mut config = BrokerConfig::default();
        let ignored = apply_properties(
            &mut config,
            [
                ("brokerName", " broker-b "),
                ("listenPort", "20911"),
                ("flushDiskType", "SYNC_FLUSH"),
                ("autoCreateTopicEnable", "false"),
                ("namesrvAddr", "127.0.0.1:9876;127.0.0.1:9877"),
                ("noSuchKey", "1"),
                ("defaultTopicQueueNums", " 4"),
            ],
        );
        assert_eq!(config.broker_name, "broker-b");
        assert_eq!(config.listen_port, 20911);
        assert_eq!(config.store.flush_disk_type, FlushDiskType::Sync);
        assert!(!config.auto_create_topic_enable);
        assert_eq!(
            config.namesrv_addrs(),
            vec!["127.0.0.1:9876", "127.0.0.1:9877"]
        );
        // Java ignores unknown keys and numbers with spaces (Integer.parseInt).
        assert_eq!(config.default_topic_queue_nums, 8);
        let keys: Vec<_> = ignored.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, vec!["noSuchKey", "defaultTopicQueueNums"]);
        let properties = config.to_properties();
        assert_eq!(properties["flushDiskType"], "SYNC_FLUSH");
        assert_eq!(properties["brokerName"], "broker-b");
    }
}
