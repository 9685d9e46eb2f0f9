//! `NamesrvConfig`, read from `namesrv.conf` with RocketMQ's key names.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use soyuz_model::properties_config::{
    set_bool, set_number, set_string, PropertiesConfig, SetOutcome,
};

/// Default NameServer port.
pub const DEFAULT_LISTEN_PORT: u16 = 9876;

/// NameServer settings (`NamesrvConfig` and the NameServer's `NettyServerConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamesrvConfig {
    /// TCP port (`listenPort`).
    pub listen_port: u16,
    /// Where KV config persists (`kvConfigPath`, default `~/namesrv/kvConfig.json`).
    pub kv_config_path: PathBuf,
    /// Put `orderTopicConf` from the ORDER_TOPIC_CONFIG namespace into routes
    /// (`orderMessageEnable`).
    pub order_message_enable: bool,
    /// How often expired brokers are looked for (`scanNotActiveBrokerInterval`, ms).
    pub scan_not_active_broker_interval_ms: u64,
    /// Answer GET_ALL_TOPIC_LIST_FROM_NAMESERVER (`enableAllTopicList`).
    pub enable_all_topic_list: bool,
    /// Answer the per-cluster and unit topic lists (`enableTopicList`).
    pub enable_topic_list: bool,
    /// Drop topics a broker no longer reports when it registers
    /// (`deleteTopicWithBrokerRegistration`).
    pub delete_topic_with_broker_registration: bool,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        Self {
            listen_port: DEFAULT_LISTEN_PORT,
            kv_config_path: default_home().join("namesrv").join("kvConfig.json"),
            order_message_enable: false,
            scan_not_active_broker_interval_ms: 5_000,
            enable_all_topic_list: true,
            enable_topic_list: true,
            delete_topic_with_broker_registration: false,
        }
    }
}

fn default_home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Keys UPDATE_NAMESRV_CONFIG may change at run time. An allow-list, not a deny-list:
/// CVE-2023-37582 came from a deny-list that checked a misspelt key and let the KV store
/// path be pointed anywhere. Paths and ports are never on it.
pub const HOT_UPDATABLE_KEYS: &[&str] = &[
    "orderMessageEnable",
    "enableAllTopicList",
    "enableTopicList",
    "deleteTopicWithBrokerRegistration",
    "scanNotActiveBrokerInterval",
];

impl NamesrvConfig {
    /// The expiry scan period.
    pub fn scan_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval_ms.max(1))
    }
}

impl PropertiesConfig for NamesrvConfig {
    fn set_property(&mut self, key: &str, value: &str) -> SetOutcome {
        match key {
            "listenPort" => set_number(&mut self.listen_port, value),
            "kvConfigPath" => {
                let mut path = String::new();
                let outcome = set_string(&mut path, value);
                self.kv_config_path = PathBuf::from(path);
                outcome
            }
            "orderMessageEnable" => set_bool(&mut self.order_message_enable, value),
            "scanNotActiveBrokerInterval" => {
                set_number(&mut self.scan_not_active_broker_interval_ms, value)
            }
            "enableAllTopicList" => set_bool(&mut self.enable_all_topic_list, value),
            "enableTopicList" => set_bool(&mut self.enable_topic_list, value),
            "deleteTopicWithBrokerRegistration" => {
                set_bool(&mut self.delete_topic_with_broker_registration, value)
            }
            _ => SetOutcome::UnknownKey,
        }
    }

    fn to_properties(&self) -> BTreeMap<String, String> {
        [
            ("listenPort", self.listen_port.to_string()),
            ("kvConfigPath", self.kv_config_path.display().to_string()),
            ("orderMessageEnable", self.order_message_enable.to_string()),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            ("enableAllTopicList", self.enable_all_topic_list.to_string()),
            ("enableTopicList", self.enable_topic_list.to_string()),
            (
                "deleteTopicWithBrokerRegistration",
                self.delete_topic_with_broker_registration.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}
