use soyuz_remoting::body::TopicConfig;

use super::*;

fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
    TopicConfigSerializeWrapper {
        topic_config_table: topics
            .iter()
            .map(|(name, queues)| {
                (
                    (*name).to_owned(),
                    TopicConfig {
                        topic_name: (*name).to_owned(),
                        read_queue_nums: *queues,
                        write_queue_nums: *queues,
                        ..TopicConfig::default()
                    },
                )
            })
            .collect(),
        data_version: DataVersion {
            state_version: 0,
            timestamp: 1,
            counter,
        },
        ..TopicConfigSerializeWrapper::default()
    }
}

fn registration(name: &str, id: i64, addr: &str, topics: &[(&str, i32)]) -> BrokerRegistration {
    BrokerRegistration {
        cluster_name: "DefaultCluster".into(),
        broker_addr: addr.into(),
        broker_name: name.into(),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        topic_config: wrapper(1, topics),
        channel_id: Some(id as u64 + 100),
        ..BrokerRegistration::default()
    }
}

fn master_a() -> BrokerRegistration {
    registration(
        "broker-a",
        0,
        "10.0.0.1:10911",
        &[("TopicTest", 4), ("TBW102", 8)],
    )
}

#[test]
fn a_registered_master_serves_routes_for_its_topics() {
    let mut table = RouteTable::new();
    let outcome = table.register_broker(master_a(), 0);
    assert_eq!(
        outcome,
        RegisterOutcome::default(),
        "a master is told nothing"
    );
    let route = table.topic_route("TopicTest").expect("route");
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.queue_datas[0].perm, perm::READ | perm::WRITE);
    assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
    assert!(table.topic_route("Missing").is_none());
    assert_eq!(table.all_topics(), ["TBW102", "TopicTest"]);
    let info = table.cluster_info();
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
}

#[test]
fn a_slave_learns_its_master_and_ha_address() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    let outcome = table.register_broker(registration("broker-a", 1, "10.0.0.2:10911", &[]), 0);
    assert_eq!(outcome.master_addr.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(outcome.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
    let route = table.topic_route("TopicTest").expect("route");
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
}

#[test]
fn brokers_expire_after_120_seconds_without_a_heartbeat() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 1_000);
    assert!(
        table.scan_expired(121_000).is_empty(),
        "exactly at the limit it lives"
    );
    let expired = table.scan_expired(121_001);
    assert_eq!(
        expired,
        [ExpiredBroker {
            broker_addr: "10.0.0.1:10911".into(),
            channel_id: Some(100)
        }]
    );
    assert!(table.topic_route("TopicTest").is_none());
    assert!(table.cluster_info().cluster_addr_table.is_empty());
}

#[test]
fn heartbeats_and_version_queries_extend_the_lifetime() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    assert!(table.touch("DefaultCluster", "10.0.0.1:10911", 100_000));
    assert!(table.scan_expired(200_000).is_empty());
    let (changed, held) = table.query_data_version(
        "DefaultCluster",
        "10.0.0.1:10911",
        &wrapper(1, &[]).data_version,
        200_000,
    );
    assert!(!changed);
    assert_eq!(held.map(|v| v.counter), Some(1));
    assert!(table.scan_expired(320_000).is_empty());
    assert_eq!(table.scan_expired(320_001).len(), 1);
    assert!(
        !table.touch("DefaultCluster", "10.0.0.1:10911", 0),
        "gone brokers are unknown"
    );
}

#[test]
fn a_custom_registration_timeout_is_honoured() {
    let mut table = RouteTable::new();
    let mut reg = master_a();
    reg.timeout_millis = Some(10_000);
    table.register_broker(reg, 0);
    assert_eq!(table.scan_expired(10_001).len(), 1);
}

#[test]
fn closing_the_registration_channel_unregisters_at_once() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    table.register_broker(registration("broker-a", 1, "10.0.0.2:10911", &[]), 0);
    let gone = table.on_channel_closed(100);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].broker_id, 0);
    let route = table
        .topic_route("TopicTest")
        .expect("slave still holds the name");
    assert_eq!(route.broker_datas[0].master_addr(), None);
    table.on_channel_closed(101);
    assert!(table.topic_route("TopicTest").is_none());
}

#[test]
fn unregister_removes_only_that_broker() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    table.register_broker(
        registration("broker-b", 0, "10.0.0.3:10911", &[("TopicTest", 2)]),
        0,
    );
    table.unregister_broker(&BrokerIdentity {
        cluster_name: "DefaultCluster".into(),
        broker_addr: "10.0.0.1:10911".into(),
        broker_name: "broker-a".into(),
        broker_id: 0,
    });
    let route = table.topic_route("TopicTest").expect("broker-b remains");
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].broker_name, "broker-b");
    assert!(table.topic_route("TBW102").is_none());
}

#[test]
fn wiped_write_permission_survives_an_unchanged_refresh() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    assert_eq!(table.wipe_write_perm("broker-a"), 2);
    table.register_broker(master_a(), 30_000);
    let perm_now = table.topic_route("TopicTest").expect("route").queue_datas[0].perm;
    assert_eq!(
        perm_now,
        perm::READ,
        "same data version: the NameServer keeps its copy"
    );
    let mut changed = master_a();
    changed.topic_config.data_version.counter = 2;
    table.register_broker(changed, 60_000);
    let perm_now = table.topic_route("TopicTest").expect("route").queue_datas[0].perm;
    assert_eq!(
        perm_now,
        perm::READ | perm::WRITE,
        "a new data version is applied"
    );
    table.wipe_write_perm("broker-a");
    assert_eq!(table.add_write_perm("broker-a"), 2);
    assert_eq!(
        table.topic_route("TopicTest").expect("route").queue_datas[0].perm,
        6
    );
}

#[test]
fn a_prime_slave_acting_as_master_is_read_only() {
    let mut table = RouteTable::new();
    let mut slave = registration("broker-a", 1, "10.0.0.2:10911", &[("TopicTest", 4)]);
    slave.enable_acting_master = true;
    table.register_broker(slave, 0);
    let route = table.topic_route("TopicTest").expect("route");
    assert_eq!(route.queue_datas[0].perm, perm::READ);
}

#[test]
fn a_stale_registration_reusing_an_id_is_ignored() {
    let mut table = RouteTable::new();
    let mut current = master_a();
    current.topic_config.data_version.state_version = 5;
    table.register_broker(current, 0);
    let mut stale = registration("broker-a", 0, "10.0.0.9:10911", &[("Other", 1)]);
    stale.topic_config.data_version.state_version = 4;
    table.register_broker(stale, 0);
    let route = table.topic_route("TopicTest").expect("route");
    assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
    assert!(table.topic_route("Other").is_none());
}

#[test]
fn topics_can_be_dropped_when_brokers_stop_reporting_them() {
    let mut table = RouteTable::new();
    table.delete_topic_with_broker_registration = true;
    table.register_broker(master_a(), 0);
    let mut fewer = registration("broker-a", 0, "10.0.0.1:10911", &[("TBW102", 8)]);
    fewer.topic_config.data_version.counter = 2;
    table.register_broker(fewer, 1);
    assert!(table.topic_route("TopicTest").is_none());
    assert!(table.topic_route("TBW102").is_some());
}

#[test]
fn topics_can_be_deleted_per_cluster_and_registered_by_hand() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    let mut other = registration("broker-x", 0, "10.0.1.1:10911", &[("TopicTest", 2)]);
    other.cluster_name = "OtherCluster".into();
    table.register_broker(other, 0);
    assert_eq!(table.topics_by_cluster("OtherCluster"), ["TopicTest"]);
    table.delete_topic("TopicTest", Some("DefaultCluster"));
    let route = table
        .topic_route("TopicTest")
        .expect("other cluster keeps it");
    assert_eq!(route.queue_datas[0].broker_name, "broker-x");
    table.delete_topic("TopicTest", None);
    assert!(table.topic_route("TopicTest").is_none());

    let qd = QueueData {
        broker_name: "broker-a".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_sys_flag: FLAG_UNIT,
    };
    assert!(table.register_topic("Manual", std::slice::from_ref(&qd)));
    assert_eq!(table.unit_topics(UnitTopicKind::Unit), ["Manual"]);
    assert!(table.unit_topics(UnitTopicKind::HasUnitSub).is_empty());
    let unknown = QueueData {
        broker_name: "nobody".into(),
        ..qd
    };
    assert!(!table.register_topic("Bogus", &[unknown]));
    assert!(table.topic_route("Bogus").is_none());
}

#[test]
fn system_topics_name_clusters_and_brokers() {
    let mut table = RouteTable::new();
    table.register_broker(master_a(), 0);
    let (topics, master) = table.system_topics();
    assert_eq!(topics, ["DefaultCluster", "broker-a"]);
    assert_eq!(master.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(
        table
            .broker_member_group("DefaultCluster", "broker-a")
            .len(),
        1
    );
    assert!(table.broker_member_group("Nope", "broker-a").is_empty());
}
