//! The stock `rocketmq-client-rust` 1.0.0 admin client, with its default JSON headers,
//! against a real `soyuz namesrv` process: routes, cluster info, the topic list and KV
//! config, after a broker registration.

mod common;

use std::collections::BTreeSet;

use rocketmq_client_rust::{RouteAdmin, TopicAdmin};
use soyuz_remoting::{request_code, SerializeType};

use common::{Namesrv, WireTap};

#[test]
fn stock_admin_client_reads_routes_cluster_topics_and_kv_config() {
    // JSON is the client's default; make sure the environment does not override it.
    std::env::remove_var("ROCKETMQ_SERIALIZE_TYPE");
    std::env::remove_var("rocketmq.serialize.type");

    let namesrv = Namesrv::start();
    let (owner, runtime) = common::client_runtime();
    let client_report = owner.block_on(async {
        let broker = common::register_broker(&namesrv.addr).await;
        let tap = WireTap::start(&namesrv.addr).await;
        let admin = common::admin(&runtime, &tap.addr).await;

        common::assert_route_and_cluster(&admin).await;

        let topics: BTreeSet<String> = admin
            .fetch_all_topic_list()
            .await
            .expect("topic list")
            .topic_list
            .iter()
            .map(|t| t.to_string())
            .collect();
        for (topic, _) in common::TOPICS {
            assert!(topics.contains(topic), "{topic} missing from {topics:?}");
        }

        // QUERY_NOT_FOUND (22) reads as "" before the put.
        let before = admin
            .get_kv_config("interop_ns".into(), "interop_key".into())
            .await
            .expect("GET_KV_CONFIG of an absent key");
        assert_eq!(before, "", "absent key");
        admin
            .create_and_update_kv_config(
                "interop_ns".into(),
                "interop_key".into(),
                "interop value: 42".into(),
            )
            .await
            .expect("PUT_KV_CONFIG");
        let value = admin
            .get_kv_config("interop_ns".into(), "interop_key".into())
            .await
            .expect("GET_KV_CONFIG");
        assert_eq!(value, "interop value: 42");
        // Persisted where namesrv.conf's kvConfigPath says.
        let kv_file = std::fs::read_to_string(namesrv.dir().join("kv.json")).expect("kv.json");
        assert!(kv_file.contains("\"interop value: 42\""), "{kv_file}");

        tap.assert_exchanges(
            &[
                request_code::GET_ROUTEINFO_BY_TOPIC,
                request_code::GET_BROKER_CLUSTER_INFO,
                request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
                request_code::PUT_KV_CONFIG,
                request_code::GET_KV_CONFIG,
            ],
            SerializeType::Json,
        );

        let mut admin = admin;
        admin.shutdown().await;
        drop(broker);
        runtime.shutdown().await
    });
    assert!(
        client_report.is_healthy(),
        "client shutdown: {client_report:?}"
    );
    let runtime_report = owner.shutdown_runtime_blocking().expect("runtime shutdown");
    assert!(
        runtime_report.is_healthy(),
        "runtime shutdown: {runtime_report:?}"
    );
    namesrv.stop();
}
