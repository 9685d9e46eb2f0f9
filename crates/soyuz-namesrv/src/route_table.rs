//! The route table as a plain state machine (`RouteInfoManager`): registrations,
//! heartbeats and time go in, routes come out. No sockets, no clocks: every call that
//! depends on time takes `now` in milliseconds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use soyuz_remoting::body::{
    perm, BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfigSerializeWrapper,
    TopicRouteData,
};

/// Broker id of a master.
pub const MASTER_ID: i64 = 0;
/// How long a registration lives without a refresh (`DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
pub const DEFAULT_BROKER_EXPIRY_MILLIS: i64 = 120_000;

/// `TopicSysFlag` bit for unit topics.
const FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag` bit for topics with unit subscriptions.
const FLAG_UNIT_SUB: i32 = 0x2;

/// One REGISTER_BROKER, decoded.
#[derive(Debug, Clone, Default)]
pub struct BrokerRegistration {
    /// Cluster name.
    pub cluster_name: String,
    /// `ip:port` of the broker.
    pub broker_addr: String,
    /// Replica-group name.
    pub broker_name: String,
    /// 0 = master.
    pub broker_id: i64,
    /// `ip:haPort`.
    pub ha_server_addr: String,
    /// Zone, if the broker reports one.
    pub zone_name: Option<String>,
    /// Registration lifetime; `None` for the default 120 s.
    pub timeout_millis: Option<i64>,
    /// Slave-acting-master mode.
    pub enable_acting_master: bool,
    /// The broker's topics and their version.
    pub topic_config: TopicConfigSerializeWrapper,
    /// Legacy filter servers.
    pub filter_server_list: Vec<String>,
    /// The connection it came over, so that closing it unregisters the broker.
    pub channel_id: Option<u64>,
}

/// What a registering broker is told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// The master's address, for a slave whose master is registered.
    pub master_addr: Option<String>,
    /// The master's HA address, likewise.
    pub ha_server_addr: Option<String>,
}

/// A broker identified for removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerIdentity {
    /// Cluster name.
    pub cluster_name: String,
    /// `ip:port`.
    pub broker_addr: String,
    /// Replica-group name.
    pub broker_name: String,
    /// Broker id.
    pub broker_id: i64,
}

/// A broker dropped for not refreshing its registration in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredBroker {
    /// Its address.
    pub broker_addr: String,
    /// The connection to close, if it registered over one.
    pub channel_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BrokerAddrInfo {
    cluster_name: String,
    broker_addr: String,
}

#[derive(Debug, Clone)]
struct BrokerLiveInfo {
    last_update_millis: i64,
    timeout_millis: i64,
    data_version: DataVersion,
    channel_id: Option<u64>,
    ha_server_addr: String,
}

/// The NameServer's whole routing state.
#[derive(Debug, Default)]
pub struct RouteTable {
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: HashMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server_table: HashMap<BrokerAddrInfo, Vec<String>>,
    topic_queue_mapping: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// Drop topics a broker stops reporting (`deleteTopicWithBrokerRegistration`).
    pub delete_topic_with_broker_registration: bool,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a registration (or its periodic refresh) at `now`.
    pub fn register_broker(&mut self, reg: BrokerRegistration, now: i64) -> RegisterOutcome {
        let mut outcome = RegisterOutcome::default();
        let addr_info = BrokerAddrInfo {
            cluster_name: reg.cluster_name.clone(),
            broker_addr: reg.broker_addr.clone(),
        };
        self.cluster_addr_table
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut register_first = !self.broker_addr_table.contains_key(&reg.broker_name);
        let broker_data = self
            .broker_addr_table
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                cluster: reg.cluster_name.clone(),
                broker_name: reg.broker_name.clone(),
                ..BrokerData::default()
            });
        broker_data.enable_acting_master = reg.enable_acting_master;
        broker_data.zone_name = reg.zone_name.clone();

        // One ip:port has one role: a slave promoted to master drops its old id.
        broker_data
            .broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);

        // A different address re-using this id with an older state version is stale.
        if let Some(old_addr) = broker_data.broker_addrs.get(&reg.broker_id) {
            if *old_addr != reg.broker_addr {
                let old_info = BrokerAddrInfo {
                    cluster_name: reg.cluster_name.clone(),
                    broker_addr: old_addr.clone(),
                };
                if let Some(old_live) = self.broker_live_table.get(&old_info) {
                    if old_live.data_version.state_version
                        > reg.topic_config.data_version.state_version
                    {
                        self.broker_live_table.remove(&addr_info);
                        return outcome;
                    }
                }
            }
        }

        let previous = broker_data
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= previous.is_none();
        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave =
            !is_master && broker_data.broker_addrs.keys().next().copied() == Some(reg.broker_id);
        let acting_master = broker_data.enable_acting_master;

        if is_master || is_prime_slave {
            let broker_version_changed =
                self.is_broker_topic_config_changed(&addr_info, &reg.topic_config.data_version);
            for config in reg.topic_config.topic_config_table.values() {
                let changed = register_first
                    || broker_version_changed
                    || !self
                        .topic_queue_table
                        .get(&config.topic_name)
                        .is_some_and(|queues| queues.contains_key(&reg.broker_name));
                if changed {
                    let mut topic_perm = config.perm;
                    if is_prime_slave && acting_master {
                        // A slave acting as master serves reads only.
                        topic_perm &= !perm::WRITE;
                    }
                    self.topic_queue_table
                        .entry(config.topic_name.clone())
                        .or_default()
                        .insert(
                            reg.broker_name.clone(),
                            QueueData {
                                broker_name: reg.broker_name.clone(),
                                read_queue_nums: config.read_queue_nums,
                                write_queue_nums: config.write_queue_nums,
                                perm: topic_perm,
                                topic_sys_flag: config.topic_sys_flag,
                            },
                        );
                }
            }
            let mappings = reg
                .topic_config
                .topic_queue_mapping_info_map
                .as_ref()
                .and_then(serde_json::Value::as_object);
            if self.delete_topic_with_broker_registration && mappings.is_none_or(|m| m.is_empty()) {
                self.drop_unreported_topics(&reg.broker_name, &reg.topic_config);
            }
            if let Some(mappings) = mappings {
                for (topic, info) in mappings {
                    self.topic_queue_mapping
                        .entry(topic.clone())
                        .or_default()
                        .insert(reg.broker_name.clone(), info.clone());
                }
            }
        }

        self.broker_live_table.insert(
            addr_info.clone(),
            BrokerLiveInfo {
                last_update_millis: now,
                timeout_millis: reg.timeout_millis.unwrap_or(DEFAULT_BROKER_EXPIRY_MILLIS),
                data_version: reg.topic_config.data_version.clone(),
                channel_id: reg.channel_id,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        if reg.filter_server_list.is_empty() {
            self.filter_server_table.remove(&addr_info);
        } else {
            self.filter_server_table
                .insert(addr_info, reg.filter_server_list.clone());
        }

        if !is_master {
            let master_addr = self
                .broker_addr_table
                .get(&reg.broker_name)
                .and_then(BrokerData::master_addr)
                .map(str::to_owned);
            if let Some(master_addr) = master_addr {
                let master_info = BrokerAddrInfo {
                    cluster_name: reg.cluster_name.clone(),
                    broker_addr: master_addr.clone(),
                };
                if let Some(master_live) = self.broker_live_table.get(&master_info) {
                    outcome.ha_server_addr = Some(master_live.ha_server_addr.clone());
                    outcome.master_addr = Some(master_addr);
                }
            }
        }
        outcome
    }

    fn drop_unreported_topics(&mut self, broker_name: &str, wrapper: &TopicConfigSerializeWrapper) {
        self.topic_queue_table.retain(|topic, queues| {
            if !wrapper.topic_config_table.contains_key(topic) {
                queues.remove(broker_name);
            }
            !queues.is_empty()
        });
    }

    fn is_broker_topic_config_changed(&self, info: &BrokerAddrInfo, version: &DataVersion) -> bool {
        self.broker_live_table
            .get(info)
            .is_none_or(|live| live.data_version != *version)
    }

    /// QUERY_DATA_VERSION: whether the broker must register in full, and the version we
    /// hold. Also counts as a heartbeat.
    pub fn query_data_version(
        &mut self,
        cluster_name: &str,
        broker_addr: &str,
        version: &DataVersion,
        now: i64,
    ) -> (bool, Option<DataVersion>) {
        let info = BrokerAddrInfo {
            cluster_name: cluster_name.to_owned(),
            broker_addr: broker_addr.to_owned(),
        };
        let changed = self.is_broker_topic_config_changed(&info, version);
        self.touch(cluster_name, broker_addr, now);
        let held = self
            .broker_live_table
            .get(&info)
            .map(|l| l.data_version.clone());
        (changed, held)
    }

    /// BROKER_HEARTBEAT: refreshes a registration's lifetime. False if unknown.
    pub fn touch(&mut self, cluster_name: &str, broker_addr: &str, now: i64) -> bool {
        let info = BrokerAddrInfo {
            cluster_name: cluster_name.to_owned(),
            broker_addr: broker_addr.to_owned(),
        };
        match self.broker_live_table.get_mut(&info) {
            Some(live) => {
                live.last_update_millis = now;
                true
            }
            None => false,
        }
    }

    /// UNREGISTER_BROKER, and the end of a closed or expired broker.
    pub fn unregister_broker(&mut self, broker: &BrokerIdentity) {
        let info = BrokerAddrInfo {
            cluster_name: broker.cluster_name.clone(),
            broker_addr: broker.broker_addr.clone(),
        };
        self.broker_live_table.remove(&info);
        self.filter_server_table.remove(&info);
        let mut broker_name_removed = false;
        if let Some(data) = self.broker_addr_table.get_mut(&broker.broker_name) {
            data.broker_addrs
                .retain(|_, addr| *addr != broker.broker_addr);
            if data.broker_addrs.is_empty() {
                self.broker_addr_table.remove(&broker.broker_name);
                broker_name_removed = true;
            }
        }
        if broker_name_removed {
            if let Some(names) = self.cluster_addr_table.get_mut(&broker.cluster_name) {
                names.remove(&broker.broker_name);
                if names.is_empty() {
                    self.cluster_addr_table.remove(&broker.cluster_name);
                }
            }
            self.topic_queue_table.retain(|_, queues| {
                queues.remove(&broker.broker_name);
                !queues.is_empty()
            });
            for brokers in self.topic_queue_mapping.values_mut() {
                brokers.remove(&broker.broker_name);
            }
            self.topic_queue_mapping
                .retain(|_, brokers| !brokers.is_empty());
        }
    }

    /// A connection closed: unregisters every broker that registered over it.
    pub fn on_channel_closed(&mut self, channel_id: u64) -> Vec<BrokerIdentity> {
        let gone: Vec<BrokerAddrInfo> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.channel_id == Some(channel_id))
            .map(|(info, _)| info.clone())
            .collect();
        gone.into_iter()
            .map(|info| self.remove_by_addr(&info))
            .collect()
    }

    /// Drops every registration older than its lifetime at `now`.
    pub fn scan_expired(&mut self, now: i64) -> Vec<ExpiredBroker> {
        let expired: Vec<(BrokerAddrInfo, Option<u64>)> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.last_update_millis.saturating_add(live.timeout_millis) < now)
            .map(|(info, live)| (info.clone(), live.channel_id))
            .collect();
        expired
            .into_iter()
            .map(|(info, channel_id)| {
                self.remove_by_addr(&info);
                ExpiredBroker {
                    broker_addr: info.broker_addr,
                    channel_id,
                }
            })
            .collect()
    }

    fn remove_by_addr(&mut self, info: &BrokerAddrInfo) -> BrokerIdentity {
        let (broker_name, broker_id) = self
            .broker_addr_table
            .values()
            .filter(|data| data.cluster == info.cluster_name)
            .find_map(|data| {
                data.broker_addrs
                    .iter()
                    .find(|(_, addr)| **addr == info.broker_addr)
                    .map(|(id, _)| (data.broker_name.clone(), *id))
            })
            .unwrap_or_default();
        let identity = BrokerIdentity {
            cluster_name: info.cluster_name.clone(),
            broker_addr: info.broker_addr.clone(),
            broker_name,
            broker_id,
        };
        self.unregister_broker(&identity);
        identity
    }

    /// GET_ROUTEINFO_BY_TOPIC: the route, if some registered broker serves the topic.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queue_table.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.broker_addr_table.get(name).cloned())
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        let mut filter_server_table = BTreeMap::new();
        for data in &broker_datas {
            for addr in data.broker_addrs.values() {
                let info = BrokerAddrInfo {
                    cluster_name: data.cluster.clone(),
                    broker_addr: addr.clone(),
                };
                if let Some(servers) = self.filter_server_table.get(&info) {
                    filter_server_table.insert(addr.clone(), servers.clone());
                }
            }
        }
        Some(TopicRouteData {
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
            broker_datas,
            filter_server_table,
            topic_queue_mapping_by_broker: self
                .topic_queue_mapping
                .get(topic)
                .map(|m| serde_json::Value::Object(m.clone())),
        })
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.broker_addr_table.clone(),
            cluster_addr_table: self.cluster_addr_table.clone(),
        }
    }

    /// Every topic with a route.
    pub fn all_topics(&self) -> Vec<String> {
        self.topic_queue_table.keys().cloned().collect()
    }

    /// Topics served by brokers of `cluster`.
    pub fn topics_by_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(names) = self.cluster_addr_table.get(cluster) else {
            return Vec::new();
        };
        self.topic_queue_table
            .iter()
            .filter(|(_, queues)| queues.keys().any(|name| names.contains(name)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster and broker names (each is a topic when
    /// `clusterTopicEnable` / `brokerTopicEnable`), and one master address.
    pub fn system_topics(&self) -> (Vec<String>, Option<String>) {
        let mut topics = BTreeSet::new();
        for (cluster, names) in &self.cluster_addr_table {
            topics.insert(cluster.clone());
            topics.extend(names.iter().cloned());
        }
        let master = self
            .broker_addr_table
            .values()
            .find_map(|data| data.master_addr().map(str::to_owned));
        (topics.into_iter().collect(), master)
    }

    /// Unit topic lists: `unit` topics, topics with unit subscriptions, and topics with
    /// unit subscriptions that are not themselves unit topics.
    pub fn unit_topics(&self, kind: UnitTopicKind) -> Vec<String> {
        self.topic_queue_table
            .iter()
            .filter(|(_, queues)| {
                queues.values().next().is_some_and(|qd| {
                    let flag = qd.topic_sys_flag;
                    match kind {
                        UnitTopicKind::Unit => flag & FLAG_UNIT != 0,
                        UnitTopicKind::HasUnitSub => flag & FLAG_UNIT_SUB != 0,
                        UnitTopicKind::HasUnitSubNotUnit => {
                            flag & FLAG_UNIT == 0 && flag & FLAG_UNIT_SUB != 0
                        }
                    }
                })
            })
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// DELETE_TOPIC_IN_NAMESRV: from one cluster's brokers, or everywhere.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster.filter(|c| !c.is_empty()) {
            None => {
                self.topic_queue_table.remove(topic);
            }
            Some(cluster) => {
                let names = self
                    .cluster_addr_table
                    .get(cluster)
                    .cloned()
                    .unwrap_or_default();
                if let Some(queues) = self.topic_queue_table.get_mut(topic) {
                    queues.retain(|name, _| !names.contains(name));
                    if queues.is_empty() {
                        self.topic_queue_table.remove(topic);
                    }
                }
            }
        }
    }

    /// REGISTER_TOPIC_IN_NAMESRV: adds queue data, refusing brokers that are not
    /// registered. Returns false (and changes nothing) if one is not.
    pub fn register_topic(&mut self, topic: &str, queue_datas: &[QueueData]) -> bool {
        if queue_datas.is_empty()
            || queue_datas
                .iter()
                .any(|qd| !self.broker_addr_table.contains_key(&qd.broker_name))
        {
            return false;
        }
        let queues = self.topic_queue_table.entry(topic.to_owned()).or_default();
        for qd in queue_datas {
            queues.insert(qd.broker_name.clone(), qd.clone());
        }
        true
    }

    /// WIPE_WRITE_PERM_OF_BROKER: takes `broker_name` out of producers' rotation.
    /// Returns how many topics changed.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> i32 {
        self.change_perm(broker_name, |p| p & !perm::WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: puts `broker_name` back (read and write).
    pub fn add_write_perm(&mut self, broker_name: &str) -> i32 {
        self.change_perm(broker_name, |_| perm::READ | perm::WRITE)
    }

    fn change_perm(&mut self, broker_name: &str, change: impl Fn(i32) -> i32) -> i32 {
        let mut count = 0;
        for queues in self.topic_queue_table.values_mut() {
            if let Some(qd) = queues.get_mut(broker_name) {
                qd.perm = change(qd.perm);
                count += 1;
            }
        }
        count
    }

    /// GET_BROKER_MEMBER_GROUP: the ids and addresses of one broker name in a cluster.
    pub fn broker_member_group(&self, cluster: &str, broker_name: &str) -> BTreeMap<i64, String> {
        self.broker_addr_table
            .get(broker_name)
            .filter(|data| data.cluster == cluster)
            .map(|data| data.broker_addrs.clone())
            .unwrap_or_default()
    }
}

/// Which unit-topic list to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitTopicKind {
    /// GET_UNIT_TOPIC_LIST.
    Unit,
    /// GET_HAS_UNIT_SUB_TOPIC_LIST.
    HasUnitSub,
    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST.
    HasUnitSubNotUnit,
}

#[cfg(test)]
mod tests;
