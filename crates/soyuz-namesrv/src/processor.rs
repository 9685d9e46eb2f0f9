//! The NameServer's request processors: request codes mapped onto the route table and
//! the KV config. Every processor answers at once (no I/O beyond a KV file write).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use soyuz_model::properties_config::PropertiesConfig;
use soyuz_model::Clock;
use soyuz_remoting::body::{
    decode_json, decode_register_broker_body, encode_json, DataVersion, KvTable, TopicList,
    TopicRouteData,
};
use soyuz_remoting::headers::namesrv::*;
use soyuz_remoting::{request_code, response_code, CommandHeader, RemotingCommand};
use soyuz_transport::{Channel, Router};
use tracing::info;

use crate::config::{NamesrvConfig, HOT_UPDATABLE_KEYS};
use crate::kv_config::{KvConfig, NAMESPACE_ORDER_TOPIC_CONFIG};
use crate::route_table::{BrokerIdentity, BrokerRegistration, RouteTable, UnitTopicKind};

/// Everything the processors share.
pub struct NamesrvState {
    pub(crate) config: RwLock<NamesrvConfig>,
    pub(crate) routes: RwLock<RouteTable>,
    pub(crate) kv: Mutex<KvConfig>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Connections brokers registered over, so expiry can close them.
    pub(crate) broker_channels: Mutex<HashMap<u64, Channel>>,
}

type Reply = Result<RemotingCommand, RemotingCommand>;
type Processor = fn(&NamesrvState, &Channel, &RemotingCommand) -> Reply;

/// Decodes a request's typed header, or answers as Java does when a field is missing or
/// malformed: SYSTEM_ERROR with the reason.
fn header<H: CommandHeader>(request: &RemotingCommand) -> Result<H, RemotingCommand> {
    request
        .decode_header()
        .map_err(|e| RemotingCommand::error(request, response_code::SYSTEM_ERROR, e.to_string()))
}

fn json_response<T: serde::Serialize>(request: &RemotingCommand, body: &T) -> RemotingCommand {
    RemotingCommand::success(request).with_body(encode_json(body))
}

impl NamesrvState {
    /// The router serving every NameServer request code.
    pub fn router(self: &Arc<Self>) -> Router {
        let routes: &[(i32, Processor)] = &[
            (request_code::PUT_KV_CONFIG, Self::put_kv_config),
            (request_code::GET_KV_CONFIG, Self::get_kv_config),
            (request_code::DELETE_KV_CONFIG, Self::delete_kv_config),
            (request_code::GET_KVLIST_BY_NAMESPACE, Self::get_kv_list),
            (request_code::REGISTER_BROKER, Self::register_broker),
            (request_code::UNREGISTER_BROKER, Self::unregister_broker),
            (request_code::BROKER_HEARTBEAT, Self::broker_heartbeat),
            (request_code::QUERY_DATA_VERSION, Self::query_data_version),
            (request_code::GET_ROUTEINFO_BY_TOPIC, Self::get_route_info),
            (
                request_code::GET_BROKER_CLUSTER_INFO,
                Self::get_cluster_info,
            ),
            (
                request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
                Self::get_all_topics,
            ),
            (
                request_code::GET_TOPICS_BY_CLUSTER,
                Self::get_topics_by_cluster,
            ),
            (
                request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS,
                Self::get_system_topics,
            ),
            (request_code::GET_UNIT_TOPIC_LIST, Self::get_unit_topics),
            (
                request_code::GET_HAS_UNIT_SUB_TOPIC_LIST,
                Self::get_has_unit_sub_topics,
            ),
            (
                request_code::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
                Self::get_has_unit_sub_ununit_topics,
            ),
            (request_code::DELETE_TOPIC_IN_NAMESRV, Self::delete_topic),
            (
                request_code::REGISTER_TOPIC_IN_NAMESRV,
                Self::register_topic,
            ),
            (
                request_code::WIPE_WRITE_PERM_OF_BROKER,
                Self::wipe_write_perm,
            ),
            (request_code::ADD_WRITE_PERM_OF_BROKER, Self::add_write_perm),
            (
                request_code::GET_BROKER_MEMBER_GROUP,
                Self::get_broker_member_group,
            ),
            (request_code::GET_NAMESRV_CONFIG, Self::get_config),
            (request_code::UPDATE_NAMESRV_CONFIG, Self::update_config),
        ];
        let mut router = Router::new();
        for &(code, processor) in routes {
            let state = self.clone();
            router = router.route_sync(code, move |channel, request| {
                Some(processor(&state, channel, request).unwrap_or_else(|error| error))
            });
        }
        let state = self.clone();
        router.on_close(move |channel| state.on_channel_closed(channel))
    }

    fn on_channel_closed(&self, channel: &Channel) {
        if self.broker_channels.lock().remove(&channel.id()).is_none() {
            return;
        }
        for broker in self.routes.write().on_channel_closed(channel.id()) {
            info!(addr = %broker.broker_addr, name = %broker.broker_name, "broker channel closed, unregistered");
        }
    }

    fn put_kv_config(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: PutKvConfigRequestHeader = header(request)?;
        self.kv.lock().put(&h.namespace, &h.key, &h.value);
        Ok(RemotingCommand::success(request))
    }

    fn get_kv_config(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: KvConfigKeyRequestHeader = header(request)?;
        match self.kv.lock().get(&h.namespace, &h.key) {
            Some(value) => Ok(RemotingCommand::success(request).with_header(
                &GetKvConfigResponseHeader {
                    value: Some(value.to_owned()),
                },
            )),
            None => Err(RemotingCommand::error(
                request,
                response_code::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
            )),
        }
    }

    fn delete_kv_config(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: KvConfigKeyRequestHeader = header(request)?;
        self.kv.lock().delete(&h.namespace, &h.key);
        Ok(RemotingCommand::success(request))
    }

    fn get_kv_list(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: GetKvListByNamespaceRequestHeader = header(request)?;
        match self.kv.lock().namespace(&h.namespace) {
            Some(table) => Ok(json_response(
                request,
                &KvTable {
                    table: table.clone(),
                },
            )),
            None => Err(RemotingCommand::error(
                request,
                response_code::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {}", h.namespace),
            )),
        }
    }

    fn register_broker(&self, channel: &Channel, request: &RemotingCommand) -> Reply {
        let h: RegisterBrokerRequestHeader = header(request)?;
        let body = decode_register_broker_body(
            &request.body,
            h.compressed.unwrap_or(false),
            h.body_crc32.unwrap_or(0),
        )
        .map_err(|e| {
            let code = response_code::SYSTEM_ERROR;
            RemotingCommand::error(request, code, format!("bad REGISTER_BROKER body: {e}"))
        })?;
        let registration = BrokerRegistration {
            cluster_name: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
            ha_server_addr: h.ha_server_addr,
            zone_name: request.ext("__ZONE_NAME").map(str::to_owned),
            timeout_millis: h.heartbeat_timeout_millis,
            enable_acting_master: h.enable_acting_master.unwrap_or(false),
            topic_config: body.topic_config_serialize_wrapper,
            filter_server_list: body.filter_server_list,
            channel_id: Some(channel.id()),
        };
        self.broker_channels
            .lock()
            .insert(channel.id(), channel.clone());
        let now = self.clock.now_millis();
        let outcome = self.routes.write().register_broker(registration, now);
        let mut response =
            RemotingCommand::success(request).with_header(&RegisterBrokerResponseHeader {
                ha_server_addr: outcome.ha_server_addr,
                master_addr: outcome.master_addr,
            });
        if let Some(table) = self.kv.lock().namespace(NAMESPACE_ORDER_TOPIC_CONFIG) {
            response.body = encode_json(&KvTable {
                table: table.clone(),
            })
            .into();
        }
        Ok(response)
    }

    fn unregister_broker(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: UnRegisterBrokerRequestHeader = header(request)?;
        self.routes.write().unregister_broker(&BrokerIdentity {
            cluster_name: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
        });
        Ok(RemotingCommand::success(request))
    }

    fn broker_heartbeat(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: BrokerHeartbeatRequestHeader = header(request)?;
        let now = self.clock.now_millis();
        self.routes
            .write()
            .touch(&h.cluster_name, &h.broker_addr, now);
        Ok(RemotingCommand::success(request))
    }

    fn query_data_version(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: QueryDataVersionRequestHeader = header(request)?;
        let version: DataVersion = decode_json(&request.body).map_err(|e| {
            RemotingCommand::error(request, response_code::SYSTEM_ERROR, e.to_string())
        })?;
        let now = self.clock.now_millis();
        let (changed, held) =
            self.routes
                .write()
                .query_data_version(&h.cluster_name, &h.broker_addr, &version, now);
        let mut response = RemotingCommand::success(request)
            .with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(held) = held {
            response.body = encode_json(&held).into();
        }
        Ok(response)
    }

    fn get_route_info(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: GetRouteInfoRequestHeader = header(request)?;
        let route = self.routes.read().topic_route(&h.topic);
        let Some(mut route) = route else {
            return Err(RemotingCommand::error(
                request,
                response_code::TOPIC_NOT_EXIST,
                format!(
                    "No topic route info in name server for the topic: {}",
                    h.topic
                ),
            ));
        };
        if self.config.read().order_message_enable {
            route.order_topic_conf = self
                .kv
                .lock()
                .get(NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic)
                .map(str::to_owned);
        }
        // Standard JSON for every peer: fastjson reads quoted numeric keys too.
        Ok(json_response(request, &route))
    }

    fn get_cluster_info(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        Ok(json_response(request, &self.routes.read().cluster_info()))
    }

    fn topic_list(&self, request: &RemotingCommand, enabled: bool, topics: Vec<String>) -> Reply {
        if !enabled {
            return Err(RemotingCommand::error(
                request,
                response_code::SYSTEM_ERROR,
                "disable",
            ));
        }
        Ok(json_response(
            request,
            &TopicList {
                topic_list: topics,
                broker_addr: None,
            },
        ))
    }

    fn get_all_topics(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let enabled = self.config.read().enable_all_topic_list;
        let topics = if enabled {
            self.routes.read().all_topics()
        } else {
            Vec::new()
        };
        self.topic_list(request, enabled, topics)
    }

    fn get_topics_by_cluster(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: GetTopicsByClusterRequestHeader = header(request)?;
        let enabled = self.config.read().enable_topic_list;
        let topics = self.routes.read().topics_by_cluster(&h.cluster);
        self.topic_list(request, enabled, topics)
    }

    fn get_system_topics(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let (topics, broker_addr) = self.routes.read().system_topics();
        Ok(json_response(
            request,
            &TopicList {
                topic_list: topics,
                broker_addr,
            },
        ))
    }

    fn unit_topic_list(&self, request: &RemotingCommand, kind: UnitTopicKind) -> Reply {
        let enabled = self.config.read().enable_topic_list;
        let topics = self.routes.read().unit_topics(kind);
        self.topic_list(request, enabled, topics)
    }

    fn get_unit_topics(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        self.unit_topic_list(request, UnitTopicKind::Unit)
    }

    fn get_has_unit_sub_topics(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        self.unit_topic_list(request, UnitTopicKind::HasUnitSub)
    }

    fn get_has_unit_sub_ununit_topics(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        self.unit_topic_list(request, UnitTopicKind::HasUnitSubNotUnit)
    }

    fn delete_topic(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: DeleteTopicFromNamesrvRequestHeader = header(request)?;
        self.routes
            .write()
            .delete_topic(&h.topic, h.cluster_name.as_deref());
        Ok(RemotingCommand::success(request))
    }

    fn register_topic(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: RegisterTopicRequestHeader = header(request)?;
        if !request.body.is_empty() {
            let route: TopicRouteData = decode_json(&request.body).map_err(|e| {
                RemotingCommand::error(request, response_code::SYSTEM_ERROR, e.to_string())
            })?;
            // Like Java, a route naming an unregistered broker is ignored, not an error.
            self.routes
                .write()
                .register_topic(&h.topic, &route.queue_datas);
        }
        Ok(RemotingCommand::success(request))
    }

    fn wipe_write_perm(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: BrokerNameRequestHeader = header(request)?;
        let wipe_topic_count = self.routes.write().wipe_write_perm(&h.broker_name);
        info!(broker = %h.broker_name, wipe_topic_count, "write permission wiped");
        Ok(RemotingCommand::success(request)
            .with_header(&WipeWritePermOfBrokerResponseHeader { wipe_topic_count }))
    }

    fn add_write_perm(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: BrokerNameRequestHeader = header(request)?;
        let add_topic_count = self.routes.write().add_write_perm(&h.broker_name);
        info!(broker = %h.broker_name, add_topic_count, "write permission added");
        Ok(RemotingCommand::success(request)
            .with_header(&AddWritePermOfBrokerResponseHeader { add_topic_count }))
    }

    fn get_broker_member_group(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let h: GetBrokerMemberGroupRequestHeader = header(request)?;
        let broker_addrs = self
            .routes
            .read()
            .broker_member_group(&h.cluster_name, &h.broker_name);
        let body = serde_json::json!({
            "cluster": h.cluster_name,
            "brokerName": h.broker_name,
            "brokerAddrs": broker_addrs,
        });
        Ok(json_response(request, &body))
    }

    fn get_config(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let text: String = self
            .config
            .read()
            .to_properties()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        Ok(RemotingCommand::success(request).with_body(text))
    }

    fn update_config(&self, _: &Channel, request: &RemotingCommand) -> Reply {
        let entries = java_properties::read(&request.body[..]).map_err(|e| {
            RemotingCommand::error(
                request,
                response_code::SYSTEM_ERROR,
                format!("string2Properties error: {e}"),
            )
        })?;
        if let Some(refused) = entries
            .keys()
            .find(|k| !HOT_UPDATABLE_KEYS.contains(&k.as_str()))
        {
            return Err(RemotingCommand::error(
                request,
                response_code::NO_PERMISSION,
                format!(
                    "Can not update config [{refused}] at run time; updatable keys: {}",
                    HOT_UPDATABLE_KEYS.join(", ")
                ),
            ));
        }
        let mut config = self.config.write();
        for (key, value) in &entries {
            config.set_property(key, value);
        }
        self.routes.write().delete_topic_with_broker_registration =
            config.delete_topic_with_broker_registration;
        info!(?entries, "NameServer config updated");
        Ok(RemotingCommand::success(request))
    }
}
