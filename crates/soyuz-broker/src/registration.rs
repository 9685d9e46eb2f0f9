//! Registration with the NameServers (`BrokerOuterAPI.registerBrokerAll`): the topic
//! table goes to every NameServer at start, every `registerNameServerPeriod`, and at once
//! after a topic change; UNREGISTER_BROKER at shutdown.

use std::sync::Arc;
use std::time::Duration;

use soyuz_remoting::body::{encode_json, RegisterBrokerBody};
use soyuz_remoting::headers::namesrv::{
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::RemotingClient;

use crate::state::BrokerState;

/// How long one registration call may take (`registerBrokerTimeoutMills`).
const REGISTER_TIMEOUT: Duration = Duration::from_secs(24);

/// Registers now, then on every change and period, until the task is aborted.
pub async fn keep_registered(state: Arc<BrokerState>, client: Arc<RemotingClient>) {
    loop {
        register_all(&state, &client).await;
        // A change that lands during a registration is registered by the next round:
        // `notify_one` stores one permit.
        let _ = tokio::time::timeout(
            state.config.register_period(),
            state.registration_needed.notified(),
        )
        .await;
    }
}

fn register_request(state: &BrokerState) -> RemotingCommand {
    let addr = state.addr();
    let body = encode_json(&RegisterBrokerBody {
        topic_config_serialize_wrapper: state.topics.snapshot(),
        filter_server_list: Vec::new(),
    });
    let header = RegisterBrokerRequestHeader {
        broker_name: state.config.broker_name.clone(),
        broker_addr: addr.to_string(),
        cluster_name: state.config.broker_cluster_name.clone(),
        ha_server_addr: format!("{}:{}", addr.ip(), addr.port().saturating_add(1)),
        broker_id: state.config.broker_id,
        heartbeat_timeout_millis: Some(state.config.broker_not_active_timeout_millis),
        enable_acting_master: Some(false),
        compressed: Some(false),
        body_crc32: Some((crc32fast::hash(&body) & 0x7FFF_FFFF) as i32),
    };
    RemotingCommand::request_with_header(request_code::REGISTER_BROKER, &header).with_body(body)
}

/// One registration round with every NameServer, in parallel.
pub async fn register_all(state: &Arc<BrokerState>, client: &Arc<RemotingClient>) {
    let request = register_request(state);
    let calls = state.config.namesrv_addrs().into_iter().map(|namesrv| {
        let request = request.clone();
        let client = client.clone();
        async move {
            match client.invoke(&namesrv, request, REGISTER_TIMEOUT).await {
                Ok(response) if response.code == response_code::SUCCESS => {
                    tracing::debug!(%namesrv, "registered");
                }
                Ok(response) => {
                    tracing::warn!(%namesrv, code = response.code, remark = ?response.remark, "registration refused");
                }
                Err(e) => tracing::warn!(%namesrv, error = %e, "registration failed"),
            }
        }
    });
    futures::future::join_all(calls).await;
}

/// Tells every NameServer the broker is leaving.
pub async fn unregister_all(state: &BrokerState, client: &RemotingClient) {
    let header = UnRegisterBrokerRequestHeader {
        broker_name: state.config.broker_name.clone(),
        broker_addr: state.addr_string(),
        cluster_name: state.config.broker_cluster_name.clone(),
        broker_id: state.config.broker_id,
    };
    for namesrv in state.config.namesrv_addrs() {
        let request =
            RemotingCommand::request_with_header(request_code::UNREGISTER_BROKER, &header);
        if let Err(e) = client
            .invoke(&namesrv, request, Duration::from_secs(3))
            .await
        {
            tracing::warn!(%namesrv, error = %e, "unregistration failed");
        }
    }
}
