//! Route bodies the NameServer serves: `TopicRouteData` and `ClusterInfo`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Broker id of a master in `brokerAddrs`.
pub const MASTER_ID: i64 = 0;

/// One broker name's queues for a topic (`QueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    /// Replica-group name.
    pub broker_name: String,
    /// Queues consumers read.
    pub read_queue_nums: i32,
    /// Queues producers write.
    pub write_queue_nums: i32,
    /// Permission bits.
    pub perm: i32,
    /// Unit flags.
    pub topic_sys_flag: i32,
}

/// One replica group: its cluster, name and members (`BrokerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Cluster name.
    pub cluster: String,
    /// Replica-group name.
    pub broker_name: String,
    /// Broker id (0 = master) to `ip:port`. Written with quoted keys (`"0"`), which
    /// fastjson and every client read.
    pub broker_addrs: BTreeMap<i64, String>,
    /// Availability zone, when brokers report one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
    /// Whether a slave may act as master.
    pub enable_acting_master: bool,
}

impl BrokerData {
    /// The master's address, if the master is registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

/// Everything a client needs to reach a topic's queues (`TopicRouteData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// `broker-a:4;broker-b:4` for ordered topics, when the NameServer has order config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// Queues per broker name.
    pub queue_datas: Vec<QueueData>,
    /// Brokers serving the topic.
    pub broker_datas: Vec<BrokerData>,
    /// Legacy filter servers per broker address (always empty: filter servers were
    /// removed from RocketMQ after CVE-2023-33246).
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// Static-topic mappings, passed through when a broker registers them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<serde_json::Value>,
}

/// Every cluster's brokers (`ClusterInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name to its replica group.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name to its broker names.
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{decode_json, encode_json};

    #[test]
    fn route_data_is_written_with_java_field_names_and_quoted_ids() {
        let route = TopicRouteData {
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                perm: 6,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![BrokerData {
                cluster: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                broker_addrs: [(0, "127.0.0.1:10911".to_owned())].into(),
                zone_name: None,
                enable_acting_master: false,
            }],
            ..TopicRouteData::default()
        };
        let text = String::from_utf8(encode_json(&route)).expect("utf8");
        assert_eq!(
            text,
            r#"{"queueDatas":[{"brokerName":"broker-a","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicSysFlag":0}],"brokerDatas":[{"cluster":"DefaultCluster","brokerName":"broker-a","brokerAddrs":{"0":"127.0.0.1:10911"},"enableActingMaster":false}],"filterServerTable":{}}"#
        );
        assert_eq!(decode_json::<TopicRouteData>(text.as_bytes()), Ok(route));
    }

    #[test]
    fn reads_fastjson_route_data_with_bare_keys() {
        let fastjson = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b","cluster":"c","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[]}"#;
        let route: TopicRouteData = decode_json(fastjson.as_bytes()).expect("reads");
        assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    }
}
