//! The stock `rocketmq-client-rust` 1.0.0 admin client with the binary ROCKETMQ header
//! (`ROCKETMQ_SERIALIZE_TYPE=ROCKETMQ`) against a real `soyuz namesrv` process. A test
//! binary of its own: the client reads the variable once per process.

mod common;

use soyuz_remoting::{request_code, SerializeType};

use common::{Namesrv, WireTap};

#[test]
fn stock_admin_client_with_rocketmq_headers_reads_routes_and_cluster() {
    // Before any client runtime or thread exists; this is the binary's only test.
    std::env::remove_var("rocketmq.serialize.type");
    std::env::set_var("ROCKETMQ_SERIALIZE_TYPE", "ROCKETMQ");

    let namesrv = Namesrv::start();
    let (owner, runtime) = common::client_runtime();
    let client_report = owner.block_on(async {
        let broker = common::register_broker(&namesrv.addr).await;
        let tap = WireTap::start(&namesrv.addr).await;
        let mut admin = common::admin(&runtime, &tap.addr).await;

        common::assert_route_and_cluster(&admin).await;

        // Proves the client really sent binary headers, and Soyuz answered in kind.
        tap.assert_exchanges(
            &[
                request_code::GET_ROUTEINFO_BY_TOPIC,
                request_code::GET_BROKER_CLUSTER_INFO,
            ],
            SerializeType::RocketMq,
        );

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
