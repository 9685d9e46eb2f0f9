//! Registration with the NameServers: a started broker is listed with its topics, a
//! stopped one is gone.

mod common;

use common::*;
use soyuz_remoting::body::ClusterInfo;
use soyuz_remoting::response_code;

/// The cluster info once it lists the broker.
async fn listed(env: &Env, namesrv: &str) -> ClusterInfo {
    eventually("the broker to be listed", || async {
        let response = ask(&env.client, namesrv, cluster_info()).await;
        assert_code(&response, response_code::SUCCESS);
        let info: ClusterInfo =
            soyuz_remoting::body::decode_json(&response.body).expect("cluster info");
        info.broker_addr_table
            .contains_key(BROKER_NAME)
            .then_some(info)
    })
    .await
}

#[tokio::test]
async fn started_broker_is_listed_in_cluster_info_with_its_topics() {
    let env = Env::start().await;
    let info = listed(&env, &env.namesrv.addr).await;
    let broker = &info.broker_addr_table[BROKER_NAME];
    assert_eq!(broker.cluster, "DefaultCluster");
    assert_eq!(broker.master_addr(), Some(env.broker.addr.as_str()));
    assert!(info.cluster_addr_table["DefaultCluster"].contains(BROKER_NAME));
    let tbw102 = env.route_eventually("TBW102").await;
    assert_eq!(tbw102.queue_datas[0].write_queue_nums, 8);
    assert_eq!(tbw102.queue_datas[0].perm, 7, "read, write and inherit");
}

#[tokio::test]
async fn registers_with_every_name_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = TestNamesrv::start().await;
    let second = TestNamesrv::start().await;
    let mut config = broker_config(&first.addr, dir.path());
    config.namesrv_addr = Some(format!("{};{}", first.addr, second.addr));
    let broker = TestBroker::start(config).await;
    let client = soyuz_transport::RemotingClient::with_defaults();
    for namesrv in [&first.addr, &second.addr] {
        eventually("every NameServer to list the broker", || async {
            let response = ask(&client, namesrv, cluster_info()).await;
            let info: ClusterInfo =
                soyuz_remoting::body::decode_json(&response.body).expect("cluster info");
            (info.broker_addr_table.get(BROKER_NAME)?.master_addr() == Some(broker.addr.as_str()))
                .then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn stopped_broker_is_unregistered() {
    let mut env = Env::start().await;
    listed(&env, &env.namesrv.addr).await;
    env.broker.stop().await;
    // Unregistration is part of the shutdown, so it is done when `run` returns.
    let info = env.cluster_info().await;
    assert!(
        !info.broker_addr_table.contains_key(BROKER_NAME),
        "{:?}",
        info.broker_addr_table
    );
    let route = env.ask_namesrv(route("TBW102")).await;
    assert_code(&route, response_code::TOPIC_NOT_EXIST);
}
